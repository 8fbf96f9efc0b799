import type { PolicyDocument } from './iam';

/** The account every simulated resource belongs to. */
export const ACCOUNT_ID = '123456789012';

export interface SubnetSpec {
  id: string;
  availabilityZone: string;
  cidr: string;
  name?: string;
  /** `local`: its own route table with only the VPC's local route (no way to the internet gateway). Default: the main table. */
  routes?: 'main' | 'local';
  /** Its own network ACL with these entries (the implicit deny follows them); default: the VPC's default ACL (allows all). */
  networkAcl?: NaclEntrySpec[];
}
export interface NaclEntrySpec {
  ruleNumber: number;
  egress: boolean;
  /** '-1' every protocol, '6' TCP. */
  protocol: string;
  ruleAction: 'allow' | 'deny';
  cidr: string;
  fromPort?: number;
  toPort?: number;
}
/** A rule as the spec writes it: TCP by default; `cidr` or `group` (a referenced security group id). */
export interface SgRuleSpec {
  protocol?: string;
  fromPort?: number;
  toPort?: number;
  cidr?: string;
  group?: string;
  description?: string;
}
export interface SecurityGroupSpec {
  id: string;
  vpcId: string;
  name: string;
  description?: string;
  ingress?: SgRuleSpec[];
  /** Default: all traffic to 0.0.0.0/0, as AWS makes a new group. */
  egress?: SgRuleSpec[];
}
export interface VpcSpec {
  id: string;
  region: string;
  cidr: string;
  name?: string;
  isDefault?: boolean;
  subnets: SubnetSpec[];
}
export interface InstanceSpec {
  /** `i-` and hex; generated when absent. */
  id?: string;
  region: string;
  subnetId: string;
  /** Taken from the subnet when absent. */
  privateIp?: string;
  publicIp?: string;
  state?: 'running' | 'stopped';
  instanceType?: string;
  imageId?: string;
  /** The AMI name DescribeImages reports, e.g. `al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64`. */
  amiName?: string;
  platform?: 'linux' | 'windows';
  tags?: Record<string, string>;
  keyName?: string;
  /** Default: the VPC's default group. */
  securityGroupIds?: string[];
  /** Status checks: impaired takes connections and never answers. Default ok. */
  status?: 'ok' | 'impaired';
  /** The instance metadata service (HttpEndpoint). Default enabled. */
  metadata?: 'enabled' | 'disabled';
  /** The ec2-instance-connect package (pushed keys consulted). Default true. */
  instanceConnectPackage?: boolean;
  /** The OS users sshd lets in (AllowUsers); default every simulator OS user. */
  osUsers?: string[];
  /** Average CPUUtilization in percent (default 3) and CPUCreditBalance (default 144) CloudWatch reports. */
  cpuPercent?: number;
  cpuCredits?: number;
}
export type EndpointState = 'create-in-progress' | 'create-complete' | 'create-failed' | 'delete-in-progress' | 'delete-complete' | 'delete-failed' | 'update-in-progress' | 'update-complete' | 'update-failed';
export interface EndpointSpec {
  id?: string;
  region: string;
  subnetId: string;
  state?: EndpointState;
  preserveClientIp?: boolean;
  securityGroupIds?: string[];
  tags?: Record<string, string>;
}
/** An IAM user (or any identity) with long-term keys and identity policies. */
export interface PrincipalSpec {
  accessKeyId: string;
  secretAccessKey: string;
  /** e.g. arn:aws:iam::123456789012:user/alice */
  arn: string;
  policies: PolicyDocument[];
  /** The profile name writeAwsConfig gives it (default: the ARN's last path part). */
  profile?: string;
  /**
   * A virtual MFA device: AssumeRole with SerialNumber checks TokenCode against `code`
   * (`serial` defaults to arn:aws:iam::<account>:mfa/<user name>). Change it with admin.setMfaCode.
   */
  mfa?: { serial?: string; code: string };
}
/** A role that AssumeRole and SSO hand out temporary credentials for. */
export interface RoleSpec {
  arn: string;
  policies: PolicyDocument[];
  /** ARNs (wildcards allowed) that may assume it; default everyone in the account. */
  trusted?: string[];
  /** The trust policy's `sts:ExternalId` condition: AssumeRole must send exactly this. */
  externalId?: string;
  /** The trust policy's `aws:MultiFactorAuthPresent`: AssumeRole must send SerialNumber and a 6-digit TokenCode. */
  mfaRequired?: boolean;
  /**
   * Trusts the simulator's OIDC provider (web-identity.ts) for AssumeRoleWithWebIdentity;
   * `subject` is the `sub` condition (StringLike). Absent: web identities are refused.
   */
  webIdentity?: { subject?: string };
}
/** One IAM Identity Center assignment: an account and a permission set the SSO user can use. */
export interface SsoAssignmentSpec {
  accountId: string;
  accountName: string;
  roleName: string;
  policies: PolicyDocument[];
}
export interface FleetSpec {
  vpcs?: VpcSpec[];
  /** Security groups besides each VPC's default one. */
  securityGroups?: SecurityGroupSpec[];
  instances?: InstanceSpec[];
  endpoints?: EndpointSpec[];
  principals?: PrincipalSpec[];
  roles?: RoleSpec[];
  sso?: { startUrl?: string; userName?: string; assignments: SsoAssignmentSpec[] };
}

/** The policy the seed article writes: push keys to one instance as ec2-user or ubuntu, and list instances. */
export function seedPolicy(region: string, instanceId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ec2-instance-connect:SendSSHPublicKey'],
        Resource: [`arn:aws:ec2:${region}:${ACCOUNT_ID}:instance/${instanceId}`],
        Condition: { StringEquals: { 'ec2:osuser': ['ec2-user', 'ubuntu'] } },
      },
      { Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
    ],
  };
}

/**
 * The demo world (`npm run sim`, `npm run demo`): two regions; in us-east-1 a public web
 * server, two private instances behind an Instance Connect Endpoint and a stopped one; in
 * us-west-2 one private instance behind its own endpoint. Principals: `admin` (everything),
 * `operator` (Instance Connect for ec2-user only: an explicit Deny on `ubuntu`), and an SSO
 * user with the same two permission sets.
 */
export function demoFleet(): FleetSpec {
  const operatorPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ec2:Describe*', 'ec2:GetConsoleOutput', 'ec2-instance-connect:*', 'cloudtrail:LookupEvents', 'sts:GetCallerIdentity'], Resource: '*' },
      { Effect: 'Deny', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: '*', Condition: { StringEquals: { 'ec2:osuser': 'ubuntu' } } },
    ],
  };
  const admin: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  return {
    vpcs: [
      {
        id: 'vpc-0a1b2c3d4e5f60001',
        region: 'us-east-1',
        cidr: '10.0.0.0/16',
        name: 'prod',
        subnets: [
          { id: 'subnet-0a1b2c3d4e5f60011', availabilityZone: 'us-east-1a', cidr: '10.0.1.0/24', name: 'prod-public-a' },
          { id: 'subnet-0a1b2c3d4e5f60012', availabilityZone: 'us-east-1a', cidr: '10.0.2.0/24', name: 'prod-private-a' },
          { id: 'subnet-0a1b2c3d4e5f60013', availabilityZone: 'us-east-1b', cidr: '10.0.3.0/24', name: 'prod-private-b' },
        ],
      },
      {
        id: 'vpc-0a1b2c3d4e5f60002',
        region: 'us-west-2',
        cidr: '10.1.0.0/16',
        name: 'staging',
        subnets: [{ id: 'subnet-0a1b2c3d4e5f60021', availabilityZone: 'us-west-2a', cidr: '10.1.1.0/24', name: 'staging-private-a' }],
      },
    ],
    instances: [
      { id: 'i-0a1b2c3d4e5f00001', region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60011', privateIp: '10.0.1.10', publicIp: '54.210.1.10', instanceType: 't3.micro', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64', tags: { Name: 'web-1', env: 'prod', role: 'web' } },
      { id: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', privateIp: '10.0.2.20', instanceType: 't3.small', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64', tags: { Name: 'app-1', env: 'prod', role: 'app' } },
      { id: 'i-0a1b2c3d4e5f00003', region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60013', privateIp: '10.0.3.30', instanceType: 'm6i.large', amiName: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241119', tags: { Name: 'db-1', env: 'prod', role: 'db' } },
      { id: 'i-0a1b2c3d4e5f00004', region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', privateIp: '10.0.2.40', instanceType: 't3.micro', state: 'stopped', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64', tags: { Name: 'batch-1', env: 'prod', role: 'batch' } },
      { id: 'i-0a1b2c3d4e5f00005', region: 'us-west-2', subnetId: 'subnet-0a1b2c3d4e5f60021', privateIp: '10.1.1.50', instanceType: 't3.micro', amiName: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241119', tags: { Name: 'staging-1', env: 'staging', role: 'app' } },
    ],
    endpoints: [
      { id: 'eice-0a1b2c3d4e5f00001', region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', tags: { Name: 'prod-eice' } },
      { id: 'eice-0a1b2c3d4e5f00002', region: 'us-west-2', subnetId: 'subnet-0a1b2c3d4e5f60021', tags: { Name: 'staging-eice' } },
    ],
    principals: [
      { accessKeyId: 'AKIASIMDEMOADMIN0001', secretAccessKey: 'demo/admin/secret/key/0000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/admin`, policies: [admin], profile: 'default' },
      { accessKeyId: 'AKIASIMDEMOOPERATOR1', secretAccessKey: 'demo/operator/secret/key/00000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/operator`, policies: [operatorPolicy], profile: 'operator' },
    ],
    roles: [{ arn: `arn:aws:iam::${ACCOUNT_ID}:role/KeylessOperator`, policies: [operatorPolicy] }],
    sso: {
      userName: 'demo.user',
      assignments: [
        { accountId: ACCOUNT_ID, accountName: 'keyless-demo', roleName: 'AdministratorAccess', policies: [admin] },
        { accountId: ACCOUNT_ID, accountName: 'keyless-demo', roleName: 'KeylessOperator', policies: [operatorPolicy] },
      ],
    },
  };
}
