import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, sshdMissing, startSimulator, type FleetSpec, type Simulator } from './index';
import { aws, awsEnv, presignOpenTunnel, proxyCommand, sshKey, sshRun } from './support';

const REGION = 'us-east-1';
const VPC = 'vpc-0eee0000000000001';
const PUBLIC = 'subnet-0eee0000000000001';
const ACL = 'subnet-0eee0000000000002';
const LOCAL = 'subnet-0eee0000000000003';
const CLOSED_SG = 'sg-0eee0000000000001';
const APP_SG = 'sg-0eee0000000000002';
const EICE_SG = 'sg-0eee0000000000003';
const I = { open: 'i-0eee0000000000001', closed: 'i-0eee0000000000002', noRoute: 'i-0eee0000000000003', acl: 'i-0eee0000000000004', app: 'i-0eee0000000000005', sick: 'i-0eee0000000000006' };
const EICE = 'eice-0eee0000000000001';
const CLIENT = '203.0.113.25';

function fleet(): FleetSpec {
  return {
    vpcs: [
      {
        id: VPC,
        region: REGION,
        cidr: '10.9.0.0/16',
        subnets: [
          { id: PUBLIC, availabilityZone: 'us-east-1a', cidr: '10.9.1.0/24' },
          // Port 22 in, but the answers to the client's ephemeral ports may not leave.
          { id: ACL, availabilityZone: 'us-east-1a', cidr: '10.9.2.0/24', networkAcl: [{ ruleNumber: 100, egress: false, protocol: '-1', ruleAction: 'allow', cidr: '0.0.0.0/0' }, { ruleNumber: 100, egress: true, protocol: '6', ruleAction: 'allow', cidr: '10.9.0.0/16', fromPort: 0, toPort: 65535 }] },
          { id: LOCAL, availabilityZone: 'us-east-1a', cidr: '10.9.3.0/24', routes: 'local' },
        ],
      },
    ],
    securityGroups: [
      { id: CLOSED_SG, vpcId: VPC, name: 'closed' },
      { id: APP_SG, vpcId: VPC, name: 'app' },
      { id: EICE_SG, vpcId: VPC, name: 'eice', egress: [{ fromPort: 22, cidr: '10.9.0.0/16' }] },
    ],
    instances: [
      { id: I.open, region: REGION, subnetId: PUBLIC, publicIp: '54.9.9.1', instanceType: 't3.micro', cpuPercent: 97, cpuCredits: 2 },
      { id: I.closed, region: REGION, subnetId: PUBLIC, publicIp: '54.9.9.2', securityGroupIds: [CLOSED_SG] },
      { id: I.noRoute, region: REGION, subnetId: LOCAL, publicIp: '54.9.9.3' },
      { id: I.acl, region: REGION, subnetId: ACL, publicIp: '54.9.9.4' },
      { id: I.app, region: REGION, subnetId: PUBLIC, securityGroupIds: [APP_SG] },
      { id: I.sick, region: REGION, subnetId: PUBLIC, status: 'impaired', metadata: 'disabled' },
    ],
    endpoints: [{ id: EICE, region: REGION, subnetId: PUBLIC, securityGroupIds: [EICE_SG] }],
    roles: [{ arn: `arn:aws:iam::${ACCOUNT_ID}:role/ops/KeylessDoctor`, policies: [] }],
  };
}

// Every step runs the AWS CLI or OpenSSH (a few seconds each on a loaded machine).
describe.skipIf(!!sshdMissing)('the simulated network, read and changed with the AWS CLI, and obeyed by real connections', { timeout: 300_000 }, () => {
  let sim: Simulator;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => aws(sim.endpoint, env, args);
  beforeAll(async () => {
    sim = await startSimulator({ fleet: fleet() });
    env = awsEnv(sim.principals[0]!);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  /** Pushes a fresh key with the CLI, then runs OpenSSH through the instance's public door. */
  const sshDirect = async (id: string) => {
    const key = sshKey();
    const push = await cli('ec2-instance-connect', 'send-ssh-public-key', '--instance-id', id, '--instance-os-user', 'ec2-user', '--ssh-public-key', key.pub);
    expect(push.json).toMatchObject({ Success: true });
    return sshRun('ec2-user', key.path, { port: sim.publicPortFor(id)!, command: 'echo in', timeoutMs: 60_000 });
  };

  it('describes security groups and their rules, route tables with the main table, network ACLs and status checks', async () => {
    // One after another: on a loaded machine six CLIs at once crawl; one at a time each finishes sooner.
    const groups = await cli('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${VPC}`);
    const rules = await cli('ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${EICE_SG}`);
    const tables = await cli('ec2', 'describe-route-tables', '--filters', `Name=vpc-id,Values=${VPC}`);
    const acls = await cli('ec2', 'describe-network-acls', '--filters', `Name=association.subnet-id,Values=${ACL}`);
    const status = await cli('ec2', 'describe-instance-status', '--instance-ids', I.open, I.sick);
    const gateways = await cli('ec2', 'describe-internet-gateways', '--filters', `Name=attachment.vpc-id,Values=${VPC}`);
    expect(groups.stderr).toBe('');
    const byName = Object.fromEntries(groups.json.SecurityGroups.map((g: { GroupName: string }) => [g.GroupName, g]));
    expect(Object.keys(byName).sort()).toEqual(['app', 'closed', 'default', 'eice']);
    expect(byName.default.IpPermissions).toEqual(
      expect.arrayContaining([expect.objectContaining({ IpProtocol: '-1', UserIdGroupPairs: [expect.objectContaining({ GroupId: byName.default.GroupId })] }), expect.objectContaining({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })]),
    );
    expect(byName.eice.IpPermissionsEgress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 22, IpRanges: [{ CidrIp: '10.9.0.0/16' }] })]);
    expect(rules.json.SecurityGroupRules).toEqual([expect.objectContaining({ GroupId: EICE_SG, IsEgress: true, FromPort: 22, ToPort: 22, CidrIpv4: '10.9.0.0/16' })]);
    const igw = gateways.json.InternetGateways[0].InternetGatewayId as string;
    const main = tables.json.RouteTables.find((t: { Associations: { Main: boolean }[] }) => t.Associations.some((a) => a.Main));
    expect(main.Routes).toEqual([expect.objectContaining({ DestinationCidrBlock: '10.9.0.0/16', GatewayId: 'local' }), expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })]);
    const local = tables.json.RouteTables.find((t: { Associations: { SubnetId?: string }[] }) => t.Associations.some((a) => a.SubnetId === LOCAL));
    expect(local.Routes.map((r: { GatewayId: string }) => r.GatewayId)).toEqual(['local']);
    expect(acls.json.NetworkAcls[0]).toMatchObject({ IsDefault: false, Associations: [expect.objectContaining({ SubnetId: ACL })] });
    expect(acls.json.NetworkAcls[0].Entries.filter((e: { Egress: boolean }) => e.Egress).map((e: { RuleNumber: number; RuleAction: string }) => `${e.RuleNumber} ${e.RuleAction}`)).toEqual(['100 allow', '32767 deny']);
    const statuses = Object.fromEntries(status.json.InstanceStatuses.map((s: { InstanceId: string; InstanceStatus: { Status: string } }) => [s.InstanceId, s.InstanceStatus.Status]));
    expect(statuses).toEqual({ [I.open]: 'ok', [I.sick]: 'impaired' });
    const described = await cli('ec2', 'describe-instances', '--instance-ids', I.sick);
    expect(described.json.Reservations[0].Instances[0].MetadataOptions).toMatchObject({ HttpEndpoint: 'disabled' });
  });

  it('IAM SimulatePrincipalPolicy and GetRole, CloudWatch GetMetricData (CBOR from the CLI)', async () => {
    const user = `arn:aws:iam::${ACCOUNT_ID}:user/limited`;
    sim.admin.addPrincipal({
      accessKeyId: 'AKIANETWORKLIMITED01',
      secretAccessKey: 'network-limited-secret-00000000000000000',
      arn: user,
      policies: [{ Statement: [{ Effect: 'Allow', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: '*', Condition: { StringEquals: { 'ec2:osuser': 'ec2-user' } } }] }],
    });
    const instance = `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${I.open}`;
    const simulate = (osUser: string) =>
      cli('iam', 'simulate-principal-policy', '--policy-source-arn', user, '--action-names', 'ec2-instance-connect:SendSSHPublicKey', '--resource-arns', instance, '--context-entries', `ContextKeyName=ec2:osuser,ContextKeyValues=${osUser},ContextKeyType=string`);
    const [asEc2User, asRoot, missing] = await Promise.all([simulate('ec2-user'), simulate('root'), cli('iam', 'simulate-principal-policy', '--policy-source-arn', `arn:aws:iam::${ACCOUNT_ID}:user/nobody`, '--action-names', 'ec2:DescribeInstances')]);
    expect(asEc2User.json.EvaluationResults).toEqual([expect.objectContaining({ EvalActionName: 'ec2-instance-connect:SendSSHPublicKey', EvalResourceName: instance, EvalDecision: 'allowed' })]);
    expect(asRoot.json.EvaluationResults[0].EvalDecision).toBe('implicitDeny');
    expect(missing.stderr).toMatch(/NoSuchEntity/);
    // GetRole: a role's path, which an assumed role's ARN leaves out.
    const role = await cli('iam', 'get-role', '--role-name', 'KeylessDoctor');
    expect(role.json.Role).toMatchObject({ RoleName: 'KeylessDoctor', Path: '/ops/', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/ops/KeylessDoctor` });

    const now = Math.floor(Date.now() / 1000);
    const metric = (name: string) => ({ Id: name.toLowerCase(), MetricStat: { Metric: { Namespace: 'AWS/EC2', MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: I.open }] }, Period: 300, Stat: 'Average' } });
    const data = await cli('cloudwatch', 'get-metric-data', '--start-time', String(now - 3600), '--end-time', String(now), '--metric-data-queries', JSON.stringify([metric('CPUUtilization'), metric('CPUCreditBalance')]));
    expect(data.stderr).toBe('');
    const results = Object.fromEntries(data.json.MetricDataResults.map((r: { Id: string; Values: number[] }) => [r.Id, r.Values]));
    expect(results.cpuutilization.length).toBeGreaterThanOrEqual(11);
    expect(new Set(results.cpuutilization)).toEqual(new Set([97]));
    expect(new Set(results.cpucreditbalance)).toEqual(new Set([2]));
  });

  it('a direct connection needs a group allowing 22 from the client, a route to the gateway and ACLs both ways', async () => {
    expect((await fetch(`${sim.endpoint}/__checkip`).then((r) => r.text())).trim()).toBe(CLIENT);
    const open = await sshDirect(I.open);
    const closed = await sshDirect(I.closed);
    const noRoute = await sshDirect(I.noRoute);
    const acl = await sshDirect(I.acl);
    expect(open).toMatchObject({ code: 0, stdout: 'in\n' });
    for (const r of [closed, noRoute, acl]) expect(r.code).not.toBe(0);

    // Opening 22 to the client's address (and only it) lets it in.
    const auth = await cli('ec2', 'authorize-security-group-ingress', '--group-id', CLOSED_SG, '--ip-permissions', `IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=${CLIENT}/32,Description=doctor}]`);
    expect(auth.json).toMatchObject({ Return: true, SecurityGroupRules: [expect.objectContaining({ CidrIpv4: `${CLIENT}/32`, FromPort: 22 })] });
    expect(await sshDirect(I.closed)).toMatchObject({ code: 0, stdout: 'in\n' });
    const again = await cli('ec2', 'authorize-security-group-ingress', '--group-id', CLOSED_SG, '--protocol', 'tcp', '--port', '22', '--cidr', `${CLIENT}/32`);
    expect(again.stderr).toMatch(/InvalidPermission\.Duplicate/);
    const revoke = await cli('ec2', 'revoke-security-group-ingress', '--group-id', CLOSED_SG, '--protocol', 'tcp', '--port', '22', '--cidr', `${CLIENT}/32`);
    expect(revoke.json).toMatchObject({ Return: true });
    expect((await sshDirect(I.closed)).code).not.toBe(0);
  });

  it('an EICE tunnel closes with "Unable to connect to target" until the instance group accepts the endpoint group', async () => {
    const through = async () => {
      const key = sshKey();
      await cli('ec2-instance-connect', 'send-ssh-public-key', '--instance-id', I.app, '--instance-os-user', 'ec2-user', '--ssh-public-key', key.pub);
      const dns = sim.endpoints().find((e) => e.id === EICE)!.dnsName;
      const url = await presignOpenTunnel(sim.principals[0]!, REGION, dns, { endpointId: EICE, privateIp: sim.instances().find((i) => i.id === I.app)!.privateIp });
      return sshRun('ec2-user', key.path, { proxyCommand: proxyCommand(url, sim.endpoint), command: 'echo in', timeoutMs: 60_000 });
    };
    const refused = await through();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Unable to connect to target/);
    const auth = await cli('ec2', 'authorize-security-group-ingress', '--group-id', APP_SG, '--ip-permissions', `IpProtocol=tcp,FromPort=22,ToPort=22,UserIdGroupPairs=[{GroupId=${EICE_SG}}]`);
    expect(auth.json.SecurityGroupRules[0]).toMatchObject({ ReferencedGroupInfo: { GroupId: EICE_SG } });
    expect(await through()).toMatchObject({ code: 0, stdout: 'in\n' });
  });
});
