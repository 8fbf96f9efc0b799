import type { PolicyFeature, PolicyStatementInfo } from '../../contract';
import { partitionOf } from '../aws/errors';

/**
 * The least-privilege IAM policy (and its Terraform and CLI) for connecting to a set of EC2 hosts
 * with Instance Connect, as the seed article's sections 2, 3 and 5 write it by hand. Pure: the
 * caller resolves hosts, accounts and endpoints; this only writes text.
 */

/** One saved host, resolved: where it is and how Keyless reaches it. */
export interface PolicyTarget {
  instanceId: string;
  region: string;
  /** The AWS account, from the profile's STS identity; undefined when not known yet. */
  account: string | undefined;
  osUser: string;
  /** The Instance Connect Endpoint it goes through; `*` when it goes through one not known yet. */
  endpointId?: string | undefined;
  port: number;
  maxTunnelDuration?: number | undefined;
}

/** Where a new Instance Connect Endpoint would go (article section 3). */
export interface EndpointPlan {
  region: string;
  subnetId: string;
  /** Empty: the person still has to name one. */
  securityGroupIds: string[];
  profile?: string | undefined;
  /** The chosen instances it serves (same region, same VPC where known): their groups get the ingress rule. */
  instanceIds?: string[] | undefined;
}

export interface PolicyNote {
  kind: 'accountUnknown' | 'endpointUnknown' | 'securityGroupUnknown';
  /** The profile, region or subnet the note is about. */
  value: string;
}

export interface IamStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[] | '*';
  Condition?: Record<string, Record<string, string[] | number>>;
}
export interface IamPolicy {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export interface AccessPolicyText {
  policy: IamPolicy;
  /** Each statement's Sid, kind and feature, in the policy's order. */
  statements: PolicyStatementInfo[];
  /** The policy as JSON, two-space indented: what goes into the console or `aws iam create-policy`. */
  json: string;
  terraform: string;
  /** `aws ec2 create-instance-connect-endpoint …`, when an endpoint was planned. */
  endpointCommand: string | null;
  notes: PolicyNote[];
  /** What the Terraform makes besides the role and the policy. */
  terraformParts: { endpointSubnet: string | null; ruleInstances: string[]; rulePorts: number[] };
}

/** The longest tunnel an endpoint allows (seconds); also the IAM default we grant. */
export const MAX_TUNNEL_SECONDS = 3600;

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

export function instanceArn(t: Pick<PolicyTarget, 'region' | 'account' | 'instanceId'>): string {
  return `arn:${partitionOf(t.region)}:ec2:${t.region}:${t.account ?? '*'}:instance/${t.instanceId}`;
}

export function endpointArn(region: string, account: string | undefined, endpointId: string): string {
  return `arn:${partitionOf(region)}:ec2:${region}:${account ?? '*'}:instance-connect-endpoint/${endpointId}`;
}

/** What creating an endpoint needs beyond the action itself (AWS user guide, "Permissions to create an EC2 Instance Connect Endpoint"). */
export const CREATE_ENDPOINT_ACTIONS = ['ec2:CreateInstanceConnectEndpoint', 'ec2:CreateNetworkInterface', 'ec2:CreateTags', 'iam:CreateServiceLinkedRole'];
const EICE_SERVICE = 'ec2-instance-connect.amazonaws.com';

/**
 * The read-only actions each feature calls, on `*` (EC2's Describe actions take no resource).
 * Connecting: the instance's addresses, its VPC's endpoints and its AMI (the default OS user).
 * The inventory: every region's instances, VPCs, subnets, endpoints and AMIs.
 */
const CONNECT_DESCRIBE = ['ec2:DescribeImages', 'ec2:DescribeInstanceConnectEndpoints', 'ec2:DescribeInstances'];
const INVENTORY_DESCRIBE = ['ec2:DescribeImages', 'ec2:DescribeInstanceConnectEndpoints', 'ec2:DescribeInstances', 'ec2:DescribeRegions', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'];

/**
 * The policy for connecting to `targets`, and for each feature the person also uses. Every
 * statement has a Sid naming what it is for (`statements` says which feature wants it).
 * SendSSHPublicKey statements are grouped by the exact set of OS users, so that the policy allows
 * each instance only the users its own hosts use (host A as ubuntu does not let anyone onto host
 * B as ubuntu).
 */
export function accessPolicy(
  targets: readonly PolicyTarget[],
  features: readonly PolicyFeature[] = [],
): { policy: IamPolicy; statements: PolicyStatementInfo[]; notes: PolicyNote[] } {
  const notes: PolicyNote[] = [];
  const statements: IamStatement[] = [];
  const info: PolicyStatementInfo[] = [];
  const add = (kind: PolicyStatementInfo['kind'], feature: PolicyStatementInfo['feature'], st: Omit<IamStatement, 'Effect'>) => {
    statements.push({ Sid: st.Sid, Effect: 'Allow', Action: st.Action, Resource: st.Resource, ...(st.Condition ? { Condition: st.Condition } : {}) });
    info.push({ sid: st.Sid, kind, feature });
  };

  const usersByArn = new Map<string, Set<string>>();
  for (const t of targets) {
    const arn = instanceArn(t);
    let users = usersByArn.get(arn);
    if (!users) usersByArn.set(arn, (users = new Set()));
    users.add(t.osUser);
  }
  const arnsByUsers = new Map<string, string[]>();
  for (const [arn, users] of usersByArn) {
    const key = JSON.stringify(sorted(users));
    arnsByUsers.set(key, [...(arnsByUsers.get(key) ?? []), arn]);
  }
  const pushKeys = [...arnsByUsers.entries()].sort(([a], [b]) => a.localeCompare(b));
  pushKeys.forEach(([users, arns], n) => {
    add('SendSSHPublicKey', 'connect', {
      Sid: `SendSSHPublicKey${pushKeys.length > 1 ? n + 1 : ''}`,
      Action: ['ec2-instance-connect:SendSSHPublicKey'],
      Resource: sorted(arns),
      Condition: { StringEquals: { 'ec2:osuser': JSON.parse(users) as string[] } },
    });
  });

  const tunnels = targets.filter((t) => t.endpointId !== undefined);
  if (tunnels.length) {
    const ports = sorted(tunnels.map((t) => String(t.port))).map(Number);
    const longest = Math.min(MAX_TUNNEL_SECONDS, Math.max(...tunnels.map((t) => t.maxTunnelDuration ?? MAX_TUNNEL_SECONDS)));
    add('OpenTunnel', 'connect', {
      Sid: 'OpenTunnel',
      Action: ['ec2-instance-connect:OpenTunnel'],
      Resource: sorted(tunnels.map((t) => endpointArn(t.region, t.account, t.endpointId!))),
      Condition: {
        // One port: a number; several: IAM takes a list of values for one key.
        NumericEquals: { 'ec2-instance-connect:remotePort': ports.length === 1 ? ports[0]! : ports.map(String) },
        NumericLessThanEquals: { 'ec2-instance-connect:maxTunnelDuration': longest },
      },
    });
    for (const r of sorted(tunnels.filter((t) => t.endpointId === '*').map((t) => t.region))) notes.push({ kind: 'endpointUnknown', value: r });
  }
  if (usersByArn.size) {
    // The fingerprints an instance printed at boot confirm its host key without asking the person.
    add('GetConsoleOutput', 'connect', { Sid: 'GetConsoleOutput', Action: ['ec2:GetConsoleOutput'], Resource: sorted(usersByArn.keys()) });
  }
  add('DescribeForDiscovery', 'connect', { Sid: 'DescribeForDiscovery', Action: CONNECT_DESCRIBE, Resource: '*' });

  if (features.includes('inventory')) add('Inventory', 'inventory', { Sid: 'Inventory', Action: INVENTORY_DESCRIBE, Resource: '*' });
  if (features.includes('audit')) add('AuditTrail', 'audit', { Sid: 'AuditTrail', Action: ['cloudtrail:LookupEvents'], Resource: '*' });
  if (features.includes('endpointCreate')) {
    const accounts = sorted(targets.map((t) => t.account ?? '*'));
    const partitions = sorted(targets.map((t) => partitionOf(t.region)));
    const anyAccount = accounts.length === 0 || accounts.includes('*') ? ['*'] : accounts;
    const anyPartition = partitions.length ? partitions : ['aws'];
    // The endpoint's network interface, and the default security group the offer proposes.
    add('CreateEndpoint', 'endpointCreate', { Sid: 'CreateEndpoint', Action: ['ec2:CreateInstanceConnectEndpoint', 'ec2:CreateNetworkInterface', 'ec2:DescribeSecurityGroups'], Resource: '*' });
    add('TagNewEndpoint', 'endpointCreate', {
      Sid: 'TagNewEndpoint',
      Action: ['ec2:CreateTags'],
      Resource: anyPartition.flatMap((p) => anyAccount.map((a) => `arn:${p}:ec2:*:${a}:instance-connect-endpoint/*`)),
      Condition: { StringEquals: { 'ec2:CreateAction': ['CreateInstanceConnectEndpoint'] } },
    });
    add('CreateEndpointServiceRole', 'endpointCreate', {
      Sid: 'CreateEndpointServiceRole',
      Action: ['iam:CreateServiceLinkedRole'],
      Resource: anyPartition.flatMap((p) => anyAccount.map((a) => `arn:${p}:iam::${a}:role/aws-service-role/${EICE_SERVICE}/AWSServiceRoleForEC2InstanceConnect`)),
      Condition: { StringEquals: { 'iam:AWSServiceName': [EICE_SERVICE] } },
    });
  }
  for (const r of sorted(targets.filter((t) => t.account === undefined).map((t) => t.region))) notes.push({ kind: 'accountUnknown', value: r });
  return { policy: { Version: '2012-10-17', Statement: statements }, statements: info, notes };
}

/** HCL string literal: JSON escaping, plus `${` and `%{` which HCL would read as templates. */
function hclString(s: string): string {
  return JSON.stringify(s).replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** A name Terraform accepts as a resource label. */
function label(s: string): string {
  const l = s.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(l) ? l : `_${l}`;
}

/** Two-space indents the lines after the first (a block pasted as an attribute's value). */
const indentTail = (text: string, by = '  ') => text.split('\n').map((line, i) => (i === 0 ? line : `${by}${line}`)).join('\n');

/** JSON as an HCL expression, with `${` and `%{` escaped so Terraform takes them literally. */
const hclJson = (value: unknown) => JSON.stringify(value, null, 2).replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');

/**
 * Terraform for the whole set-up of the article's section 5, for the chosen hosts:
 *
 * - an IAM role (`var.role_name`) people of this account assume, with the least-privilege policy
 *   (`jsonencode` of the very JSON above — JSON is valid HCL object syntax) and its attachment;
 * - when an endpoint is planned: its own security group in the subnet's VPC, the endpoint, and on
 *   each group of the instances it serves (read with `data "aws_instance"`) an ingress rule from the
 *   endpoint's group on the hosts' SSH ports, with the matching egress rule on the endpoint's group
 *   (a group Terraform makes has no egress until given one). Nothing is opened to an address range.
 */
export function terraformFor(policy: IamPolicy, opts: { name: string; endpoint?: EndpointPlan | undefined; ports?: readonly number[] }): string {
  const name = label(opts.name);
  const out = [
    '# Least-privilege EC2 Instance Connect access, written by Keyless.',
    'data "aws_partition" "current" {}',
    'data "aws_caller_identity" "current" {}',
    '',
    'variable "role_name" {',
    '  description = "The IAM role people assume to connect with EC2 Instance Connect"',
    '  type        = string',
    `  default     = ${hclString(opts.name)}`,
    '}',
    '',
    '# Anyone in this account whose own policy lets them assume it; narrow the principal to your SSO or IdP roles.',
    `resource "aws_iam_role" ${hclString(name)} {`,
    '  name                 = var.role_name',
    `  description          = ${hclString('Connect to the chosen EC2 instances with EC2 Instance Connect')}`,
    `  max_session_duration = ${MAX_TUNNEL_SECONDS}`,
    '  assume_role_policy = jsonencode({',
    '    Version = "2012-10-17"',
    '    Statement = [{',
    '      Sid       = "PeopleOfThisAccount"',
    '      Effect    = "Allow"',
    '      Action    = "sts:AssumeRole"',
    '      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }',
    '    }]',
    '  })',
    '}',
    '',
    `resource "aws_iam_policy" ${hclString(name)} {`,
    `  name        = ${hclString(opts.name)}`,
    `  description = ${hclString('EC2 Instance Connect to the chosen instances only')}`,
    `  policy = jsonencode(${indentTail(hclJson(policy))})`,
    '}',
    '',
    `resource "aws_iam_role_policy_attachment" ${hclString(name)} {`,
    `  role       = aws_iam_role.${name}.name`,
    `  policy_arn = aws_iam_policy.${name}.arn`,
    '}',
  ];
  const e = opts.endpoint;
  if (e) {
    const sg = label(`${opts.name}_endpoint`);
    const subnet = label(e.subnetId);
    const groups = [`aws_security_group.${sg}.id`, ...e.securityGroupIds.map(hclString)].join(', ');
    const instances = [...new Set(e.instanceIds ?? [])].sort();
    const ports = [...new Set(opts.ports?.length ? opts.ports : [22])].sort((a, b) => a - b);
    out.push(
      '',
      `# An Instance Connect Endpoint in ${e.subnetId} (${e.region}) for instances with no public address.`,
      `data "aws_subnet" ${hclString(subnet)} {`,
      `  id = ${hclString(e.subnetId)}`,
      '}',
      '',
      `resource "aws_security_group" ${hclString(sg)} {`,
      `  name        = ${hclString(`${opts.name}-endpoint`)}`,
      `  description = ${hclString('EC2 Instance Connect Endpoint: SSH to the chosen instances only')}`,
      `  vpc_id      = data.aws_subnet.${subnet}.vpc_id`,
      '}',
      '',
      `resource "aws_ec2_instance_connect_endpoint" ${hclString(label(`${opts.name}_${e.subnetId}`))} {`,
      `  subnet_id          = data.aws_subnet.${subnet}.id`,
      `  security_group_ids = [${groups}]`,
      '  preserve_client_ip = false',
      '  tags = {',
      `    Name = ${hclString(`keyless-${e.subnetId}`)}`,
      '  }',
      '}',
    );
    if (instances.length) {
      out.push('', '# The security groups of the instances the endpoint serves, as AWS reports them.');
      for (const id of instances) out.push(`data "aws_instance" ${hclString(label(id))} {`, `  instance_id = ${hclString(id)}`, '}');
      out.push(
        '',
        'locals {',
        '  instance_security_groups = toset(flatten([',
        ...instances.map((id) => `    data.aws_instance.${label(id)}.vpc_security_group_ids,`),
        '  ]))',
        '}',
      );
      for (const port of ports) {
        out.push(
          '',
          `resource "aws_vpc_security_group_ingress_rule" ${hclString(`${name}_from_endpoint_${port}`)} {`,
          '  for_each                     = local.instance_security_groups',
          '  security_group_id            = each.value',
          `  referenced_security_group_id = aws_security_group.${sg}.id`,
          '  ip_protocol                  = "tcp"',
          `  from_port                    = ${port}`,
          `  to_port                      = ${port}`,
          `  description                  = ${hclString(`SSH (port ${port}) from the EC2 Instance Connect Endpoint`)}`,
          '}',
          '',
          `resource "aws_vpc_security_group_egress_rule" ${hclString(`${name}_to_instances_${port}`)} {`,
          '  for_each                     = local.instance_security_groups',
          `  security_group_id            = aws_security_group.${sg}.id`,
          '  referenced_security_group_id = each.value',
          '  ip_protocol                  = "tcp"',
          `  from_port                    = ${port}`,
          `  to_port                      = ${port}`,
          `  description                  = ${hclString(`SSH (port ${port}) to the chosen instances`)}`,
          '}',
        );
      }
    }
  }
  return out.join('\n') + '\n';
}

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The AWS CLI command of the article's section 3. */
export function endpointCommand(e: EndpointPlan): string {
  const sgs = e.securityGroupIds.length ? e.securityGroupIds.map(shellWord).join(' ') : 'sg-REPLACE-ME';
  return [
    'aws ec2 create-instance-connect-endpoint',
    `--region ${shellWord(e.region)}`,
    ...(e.profile ? [`--profile ${shellWord(e.profile)}`] : []),
    `--subnet-id ${shellWord(e.subnetId)}`,
    `--security-group-ids ${sgs}`,
  ].join(' \\\n  ');
}

/** Everything the dialog shows, from resolved hosts. */
export function accessPolicyText(
  targets: readonly PolicyTarget[],
  opts: { name?: string; endpoint?: EndpointPlan | undefined; features?: readonly PolicyFeature[] } = {},
): AccessPolicyText {
  const { policy, statements, notes } = accessPolicy(targets, opts.features);
  const endpoint = opts.endpoint;
  const served = [...new Set(endpoint?.instanceIds ?? [])].sort();
  const ports = [...new Set(targets.filter((t) => served.includes(t.instanceId) && t.region === endpoint?.region).map((t) => t.port))].sort((a, b) => a - b);
  if (endpoint && endpoint.securityGroupIds.length === 0) notes.push({ kind: 'securityGroupUnknown', value: endpoint.subnetId });
  return {
    policy,
    statements,
    json: JSON.stringify(policy, null, 2),
    terraform: terraformFor(policy, { name: opts.name ?? 'keyless-instance-connect', endpoint, ports }),
    endpointCommand: endpoint ? endpointCommand(endpoint) : null,
    notes,
    terraformParts: { endpointSubnet: endpoint?.subnetId ?? null, ruleInstances: served, rulePorts: served.length ? (ports.length ? ports : [22]) : [] },
  };
}
