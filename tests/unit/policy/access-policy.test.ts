import { describe, expect, it } from 'vitest';
import type { HostEntry, HostGroup, InventorySnapshot, PolicyFeature } from '../../../electron/contract';
import { accessPolicyText, endpointCommand, type PolicyTarget } from '../../../electron/main/policy/access-policy';
import { endpointPlan, policyTargets } from '../../../electron/main/policy/policy-targets';
import { evaluate, type PolicyDocument } from '../../sim/iam';

const ACCOUNT = '123456789012';
const arn = (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`;
const push = (policy: PolicyDocument, region: string, id: string, user: string) =>
  evaluate([policy], { action: 'ec2-instance-connect:SendSSHPublicKey', resource: arn(region, id), context: { 'ec2:osuser': user } });
const tunnel = (policy: PolicyDocument, endpoint: string, port: number, duration: number) =>
  evaluate([policy], {
    action: 'ec2-instance-connect:OpenTunnel',
    resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance-connect-endpoint/${endpoint}`,
    context: { 'ec2-instance-connect:remotePort': port, 'ec2-instance-connect:maxTunnelDuration': duration },
  });

const targets: PolicyTarget[] = [
  { instanceId: 'i-0a1b2c3d4e5f00001', region: 'us-east-1', account: ACCOUNT, osUser: 'ec2-user', port: 22 },
  { instanceId: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', account: ACCOUNT, osUser: 'ec2-user', endpointId: 'eice-0a1b2c3d4e5f00001', port: 22, maxTunnelDuration: 1800 },
  { instanceId: 'i-0a1b2c3d4e5f00003', region: 'us-east-1', account: ACCOUNT, osUser: 'ubuntu', endpointId: 'eice-0a1b2c3d4e5f00001', port: 22 },
];

describe('the least-privilege access policy, judged by the simulator’s IAM evaluator', () => {
  const text = accessPolicyText(targets);
  const policy = JSON.parse(text.json) as PolicyDocument;

  it('allows exactly the listed instance and OS user pairs', () => {
    for (const t of targets) expect(push(policy, t.region, t.instanceId, t.osUser), `${t.instanceId} as ${t.osUser}`).toBe('allow');
  });

  it('denies root, a user another host uses, another instance, another region and another account', () => {
    expect(push(policy, 'us-east-1', 'i-0a1b2c3d4e5f00001', 'root')).toBe('implicitDeny');
    // ubuntu is allowed on db-1 only, not on the hosts that use ec2-user.
    expect(push(policy, 'us-east-1', 'i-0a1b2c3d4e5f00001', 'ubuntu')).toBe('implicitDeny');
    expect(push(policy, 'us-east-1', 'i-0a1b2c3d4e5f00003', 'ec2-user')).toBe('implicitDeny');
    expect(push(policy, 'us-east-1', 'i-0a1b2c3d4e5f00099', 'ec2-user')).toBe('implicitDeny');
    expect(push(policy, 'us-west-2', 'i-0a1b2c3d4e5f00001', 'ec2-user')).toBe('implicitDeny');
    expect(evaluate([policy], { action: 'ec2-instance-connect:SendSSHPublicKey', resource: `arn:aws:ec2:us-east-1:999999999999:instance/i-0a1b2c3d4e5f00001`, context: { 'ec2:osuser': 'ec2-user' } })).toBe('implicitDeny');
    // The serial console is another action, and not granted.
    expect(evaluate([policy], { action: 'ec2-instance-connect:SendSerialConsoleSSHPublicKey', resource: arn('us-east-1', 'i-0a1b2c3d4e5f00001'), context: {} })).toBe('implicitDeny');
  });

  it('opens tunnels only through the endpoint in use, to port 22, for at most the longest duration asked', () => {
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00001', 22, 3600)).toBe('allow');
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00001', 3389, 60)).toBe('implicitDeny');
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00001', 22, 3601)).toBe('implicitDeny');
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00999', 22, 60)).toBe('implicitDeny');
  });

  it('lets connecting describe instances, endpoints and AMIs, and nothing else', () => {
    for (const action of ['ec2:DescribeInstances', 'ec2:DescribeInstanceConnectEndpoints', 'ec2:DescribeImages']) expect(evaluate([policy], { action, resource: '*' })).toBe('allow');
    expect(evaluate([policy], { action: 'ec2:TerminateInstances', resource: arn('us-east-1', 'i-0a1b2c3d4e5f00001') })).toBe('implicitDeny');
    expect(evaluate([policy], { action: 'ec2:DescribeRegions', resource: '*' })).toBe('implicitDeny');
  });

  it('reads the console output of exactly these instances, for their host keys', () => {
    for (const t of targets) expect(evaluate([policy], { action: 'ec2:GetConsoleOutput', resource: arn(t.region, t.instanceId) })).toBe('allow');
    expect(evaluate([policy], { action: 'ec2:GetConsoleOutput', resource: arn('us-east-1', 'i-0a1b2c3d4e5f00099') })).toBe('implicitDeny');
  });

  it('leaves OpenTunnel out when no host goes through an endpoint, and caps the duration at the shortest need', () => {
    const direct = JSON.parse(accessPolicyText([targets[0]!]).json) as { Statement: { Action: string[] }[] };
    expect(direct.Statement.flatMap((s) => s.Action)).not.toContain('ec2-instance-connect:OpenTunnel');
    const short = JSON.parse(accessPolicyText([targets[1]!]).json) as PolicyDocument;
    expect(tunnel(short, 'eice-0a1b2c3d4e5f00001', 22, 1800)).toBe('allow');
    expect(tunnel(short, 'eice-0a1b2c3d4e5f00001', 22, 1801)).toBe('implicitDeny');
  });

  it('uses * for an account it does not know, and says so', () => {
    const unknown = accessPolicyText([{ ...targets[0]!, account: undefined }]);
    expect(unknown.json).toContain('arn:aws:ec2:us-east-1:*:instance/i-0a1b2c3d4e5f00001');
    expect(unknown.notes).toEqual([{ kind: 'accountUnknown', value: 'us-east-1' }]);
    const p = JSON.parse(unknown.json) as PolicyDocument;
    expect(push(p, 'us-east-1', 'i-0a1b2c3d4e5f00001', 'ec2-user')).toBe('allow');
    expect(push(p, 'us-east-1', 'i-0a1b2c3d4e5f00001', 'root')).toBe('implicitDeny');
  });

  it('writes partition-correct ARNs for China and GovCloud', () => {
    const cn = accessPolicyText([{ ...targets[0]!, region: 'cn-north-1' }]).json;
    expect(cn).toContain(`arn:aws-cn:ec2:cn-north-1:${ACCOUNT}:instance/`);
  });
});

/** Strips HCL comments and string literals, then checks braces, brackets and parentheses pair up. */
function balanced(hcl: string): boolean {
  const code = hcl.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/gm, '');
  const stack: string[] = [];
  const pairs: Record<string, string> = { '}': '{', ']': '[', ')': '(' };
  for (const c of code) {
    if ('{[('.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

describe('the Terraform and the CLI command', () => {
  const endpoint = { region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', securityGroupIds: ['sg-0123456789abcdef0'], profile: 'prod' };
  const text = accessPolicyText(targets, { endpoint });

  it('is structurally sound HCL with the three resources and the role variable', () => {
    expect(balanced(text.terraform)).toBe(true);
    expect(text.terraform).toMatch(/^resource "aws_iam_policy" "keyless-instance-connect" \{$/m);
    expect(text.terraform).toMatch(/^resource "aws_iam_role_policy_attachment" "keyless-instance-connect" \{$/m);
    expect(text.terraform).toMatch(/^resource "aws_ec2_instance_connect_endpoint" "keyless-instance-connect_subnet-0a1b2c3d4e5f60012" \{$/m);
    expect(text.terraform).toMatch(/^variable "role_name" \{$/m);
    expect(text.terraform).toMatch(/^resource "aws_iam_role" "keyless-instance-connect" \{$/m);
    expect(text.terraform).toContain('role       = aws_iam_role.keyless-instance-connect.name');
    expect(text.terraform).toContain('policy_arn = aws_iam_policy.keyless-instance-connect.arn');
    expect(text.terraform).toContain('subnet_id          = data.aws_subnet.subnet-0a1b2c3d4e5f60012.id');
    // The endpoint's own group first, then the one the person named.
    expect(text.terraform).toContain('security_group_ids = [aws_security_group.keyless-instance-connect_endpoint.id, "sg-0123456789abcdef0"]');
    // Every top-level block starts at column 0 and every attribute line is `key = value`.
    for (const line of text.terraform.split('\n')) expect(line).not.toMatch(/\t/);
  });

  it('holds the very JSON of the policy inside jsonencode()', () => {
    const m = /\n {2}policy = jsonencode\(([\s\S]*?)\)\n\}/.exec(text.terraform);
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1]!)).toEqual(JSON.parse(text.json));
  });

  it('escapes HCL template sequences so Terraform does not interpolate them', () => {
    const odd = accessPolicyText([{ ...targets[0]!, osUser: 'a${b}' }]);
    expect(odd.terraform).toContain('a$${b}');
    expect(balanced(odd.terraform)).toBe(true);
  });

  it('gives the article’s create-instance-connect-endpoint command', () => {
    expect(text.endpointCommand).toBe(
      'aws ec2 create-instance-connect-endpoint \\\n  --region us-east-1 \\\n  --profile prod \\\n  --subnet-id subnet-0a1b2c3d4e5f60012 \\\n  --security-group-ids sg-0123456789abcdef0',
    );
    const noSg = accessPolicyText(targets, { endpoint: { ...endpoint, securityGroupIds: [] } });
    expect(noSg.endpointCommand).toContain('--security-group-ids sg-REPLACE-ME');
    expect(noSg.notes).toContainEqual({ kind: 'securityGroupUnknown', value: 'subnet-0a1b2c3d4e5f60012' });
    expect(endpointCommand({ region: 'us-east-1', subnetId: 'subnet-1', securityGroupIds: [], profile: "it's" })).toContain(`--profile 'it'\\''s'`);
  });
});

describe('saved hosts as policy targets', () => {
  const groups: HostGroup[] = [{ id: 'g1', name: 'prod', parentId: null, settings: { profile: 'prod', region: 'us-east-1', osUser: 'ubuntu' }, notes: '' }];
  const base = { tags: [], notes: '', favourite: false, port: 22, portForwards: [] };
  const hosts: HostEntry[] = [
    { ...base, kind: 'ec2', id: 'h1', name: 'web-1', groupId: 'g1', instanceId: 'i-0a1b2c3d4e5f00001' },
    { ...base, kind: 'ec2', id: 'h2', name: 'app-1', groupId: null, instanceId: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', connectionType: 'eice' },
    { ...base, kind: 'ec2', id: 'h3', name: 'lost', groupId: null, instanceId: 'i-0a1b2c3d4e5f00077' },
    { kind: 'ssh', id: 'h4', name: 'box', groupId: null, host: 'box.example.com', port: 22, user: 'me', auth: { type: 'agent' }, tags: [], notes: '', favourite: false },
  ] as HostEntry[];
  const inventory = {
    fetchedAt: 1,
    scopes: [{ profile: 'prod', region: 'us-east-1', account: ACCOUNT, status: 'ok', instances: 2, calls: 1, ms: 1, checkedAt: 1, dataAt: 1 }],
    instances: [
      { profile: 'default', account: '210987654321', region: 'us-east-1', id: 'i-0a1b2c3d4e5f00002', name: 'app-1', state: 'running', type: 't3.small', az: 'us-east-1a', vpcId: 'vpc-1', subnetId: 'subnet-0a1b2c3d4e5f60012', privateIp: '10.0.2.20', publicIp: '', imageId: 'ami-1', imageName: '', platform: 'Linux/UNIX', defaultUser: 'ec2-user', reach: 'none', endpointId: null, launchedAt: null, tags: {} },
    ],
    endpoints: [],
    vpcs: [],
    subnets: [],
  } as InventorySnapshot;

  it('inherits profile, region and user from groups, takes accounts from the inventory, and says what it left out', () => {
    const r = policyTargets(hosts, groups, inventory);
    expect(r.targets).toEqual([
      { instanceId: 'i-0a1b2c3d4e5f00001', region: 'us-east-1', account: ACCOUNT, osUser: 'ubuntu', endpointId: undefined, port: 22, maxTunnelDuration: undefined },
      // No profile anywhere: `default`, whose account the inventory's instance record knows; EICE with no endpoint known yet.
      { instanceId: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', account: '210987654321', osUser: 'ec2-user', endpointId: '*', port: 22, maxTunnelDuration: undefined },
    ]);
    expect(r.skipped).toEqual([
      { name: 'lost', reason: 'noRegion' },
      { name: 'box', reason: 'notEc2' },
    ]);
    expect(accessPolicyText(r.targets).notes).toContainEqual({ kind: 'endpointUnknown', value: 'us-east-1' });
  });

  it('allows the port of a saved EICE forward (RDP) through the endpoint, and nothing for an SSH forward', () => {
    const rdp: HostEntry[] = [
      {
        ...base,
        kind: 'ec2',
        id: 'h5',
        name: 'win-1',
        groupId: 'g1',
        instanceId: 'i-0a1b2c3d4e5f00005',
        endpointId: 'eice-0a1b2c3d4e5f00009',
        connectionType: 'direct',
        portForwards: [
          { kind: 'eice', localPort: 0, remoteHost: 'localhost', remotePort: 3389 },
          { kind: 'ssh', localPort: 15432, remoteHost: 'db.internal', remotePort: 5432 },
        ],
      } as HostEntry,
    ];
    const policy = JSON.parse(accessPolicyText(policyTargets(rdp, groups, inventory).targets).json) as PolicyDocument;
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00009', 3389, 3600)).toBe('allow');
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00009', 5432, 3600)).toBe('implicitDeny');
    expect(tunnel(policy, 'eice-0a1b2c3d4e5f00009', 22, 3600)).toBe('implicitDeny');
    expect(push(policy, 'us-east-1', 'i-0a1b2c3d4e5f00005', 'ubuntu')).toBe('allow');
  });

  it('plans an endpoint in the subnet of a private instance nothing reaches yet', () => {
    const { targets: t } = policyTargets(hosts, groups, inventory);
    expect(endpointPlan(t, inventory, {})).toEqual({ region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', securityGroupIds: [], profile: 'default', instanceIds: ['i-0a1b2c3d4e5f00002'] });
    expect(endpointPlan(t, null, {})).toBeUndefined();
    expect(endpointPlan(t, null, { subnetId: 'subnet-0123456789abcdef0', securityGroupIds: ['sg-0123456789abcdef0'], profile: 'prod' })).toEqual({
      region: 'us-east-1',
      subnetId: 'subnet-0123456789abcdef0',
      securityGroupIds: ['sg-0123456789abcdef0'],
      profile: 'prod',
      // No inventory: the person named the subnet for the chosen hosts in its region.
      instanceIds: ['i-0a1b2c3d4e5f00001', 'i-0a1b2c3d4e5f00002'],
    });
  });
});

describe('the policy per feature', () => {
  const judge = (features: PolicyFeature[]) => {
    const text = accessPolicyText(targets, { features });
    return { text, allows: (action: string, resource = '*', context = {}) => evaluate([JSON.parse(text.json) as PolicyDocument], { action, resource, context }) === 'allow' };
  };

  it('names every statement by what it is for, each Sid once, connecting always in', () => {
    const { text } = judge(['inventory', 'audit', 'endpointCreate']);
    const sids = text.policy.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    expect(text.statements.map((s) => s.sid)).toEqual(sids);
    expect(text.statements.map((s) => [s.kind, s.feature])).toEqual([
      ['SendSSHPublicKey', 'connect'],
      ['SendSSHPublicKey', 'connect'],
      ['OpenTunnel', 'connect'],
      ['GetConsoleOutput', 'connect'],
      ['DescribeForDiscovery', 'connect'],
      ['Inventory', 'inventory'],
      ['AuditTrail', 'audit'],
      ['CreateEndpoint', 'endpointCreate'],
      ['TagNewEndpoint', 'endpointCreate'],
      ['CreateEndpointServiceRole', 'endpointCreate'],
    ]);
    expect(accessPolicyText(targets).statements.every((s) => s.feature === 'connect')).toBe(true);
  });

  it('the inventory: every region’s instances, VPCs, subnets, endpoints and AMIs, read only', () => {
    const { allows } = judge(['inventory']);
    for (const a of ['DescribeRegions', 'DescribeInstances', 'DescribeVpcs', 'DescribeSubnets', 'DescribeInstanceConnectEndpoints', 'DescribeImages']) expect(allows(`ec2:${a}`), a).toBe(true);
    expect(allows('cloudtrail:LookupEvents')).toBe(false);
    expect(judge([]).allows('ec2:DescribeVpcs')).toBe(false);
  });

  it('the audit: CloudTrail look-ups only', () => {
    const { allows } = judge(['audit']);
    expect(allows('cloudtrail:LookupEvents')).toBe(true);
    expect(allows('cloudtrail:StopLogging')).toBe(false);
  });

  it('creating endpoints: the endpoint, its network interface, its tags only while creating it, the service-linked role only for EC2 Instance Connect', () => {
    const { allows } = judge(['endpointCreate']);
    expect(allows('ec2:CreateInstanceConnectEndpoint')).toBe(true);
    expect(allows('ec2:CreateNetworkInterface', `arn:aws:ec2:us-east-1:${ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60012`)).toBe(true);
    const endpoint = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance-connect-endpoint/*`;
    expect(allows('ec2:CreateTags', endpoint, { 'ec2:CreateAction': 'CreateInstanceConnectEndpoint' })).toBe(true);
    expect(allows('ec2:CreateTags', endpoint)).toBe(false);
    expect(allows('ec2:CreateTags', arn('us-east-1', 'i-0a1b2c3d4e5f00001'), { 'ec2:CreateAction': 'CreateInstanceConnectEndpoint' })).toBe(false);
    const role = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ec2-instance-connect.amazonaws.com/AWSServiceRoleForEC2InstanceConnect`;
    expect(allows('iam:CreateServiceLinkedRole', role, { 'iam:AWSServiceName': 'ec2-instance-connect.amazonaws.com' })).toBe(true);
    expect(allows('iam:CreateServiceLinkedRole', `arn:aws:iam::${ACCOUNT}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`, { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' })).toBe(false);
    expect(allows('ec2:DeleteInstanceConnectEndpoint', endpoint)).toBe(false);
  });
});
