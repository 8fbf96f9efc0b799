// One simulated host per reason a connection fails (the doctor's integration test and `npm run demo`).
import { ACCOUNT_ID, type FleetSpec, type PrincipalSpec } from './fleet';
import type { PolicyDocument } from './iam';

export const DOCTOR_REGION = 'us-east-1';
const AL2023 = 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64';
const UBUNTU = 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241119';

/** Each broken host: its instance id, how Keyless reaches it, and the check the doctor must name. */
export const DOCTOR_HOSTS = {
  healthy: { id: 'i-0d0c0000000000001', route: 'eice', cause: null, name: 'doctor-healthy' },
  iamDenied: { id: 'i-0d0c0000000000002', route: 'eice', cause: 'iamPush', name: 'doctor-iam', profile: 'doctor-limited' },
  stopped: { id: 'i-0d0c0000000000003', route: 'eice', cause: 'instanceState', name: 'doctor-stopped' },
  impaired: { id: 'i-0d0c0000000000004', route: 'eice', cause: 'statusChecks', name: 'doctor-impaired' },
  metadataOff: { id: 'i-0d0c0000000000005', route: 'eice', cause: 'metadata', name: 'doctor-metadata' },
  wrongUser: { id: 'i-0d0c0000000000006', route: 'eice', cause: 'osUser', name: 'doctor-wrong-user', osUser: 'ec2-user' },
  noRoute: { id: 'i-0d0c0000000000007', route: 'direct', cause: 'route', name: 'doctor-no-route' },
  directClosed: { id: 'i-0d0c0000000000008', route: 'direct', cause: 'securityGroups', name: 'doctor-direct-closed', oneClick: true },
  instanceGroup: { id: 'i-0d0c0000000000009', route: 'eice', cause: 'securityGroups', name: 'doctor-instance-group', oneClick: true },
  endpointEgress: { id: 'i-0d0c000000000000a', route: 'eice', cause: 'securityGroups', name: 'doctor-endpoint-egress', oneClick: true },
  preserveClientIp: { id: 'i-0d0c000000000000b', route: 'eice', cause: 'securityGroups', name: 'doctor-preserve-ip', oneClick: true },
  nacl: { id: 'i-0d0c000000000000c', route: 'eice', cause: 'networkAcls', name: 'doctor-nacl' },
  noPackage: { id: 'i-0d0c000000000000d', route: 'eice', cause: 'sshd', name: 'doctor-no-package' },
  loaded: { id: 'i-0d0c000000000000e', route: 'eice', cause: 'load', name: 'doctor-loaded' },
} as const;
export type DoctorHostName = keyof typeof DOCTOR_HOSTS;

const A = { vpc: 'vpc-0d0c0000000000a01', pub: 'subnet-0d0c0000000000a11', priv: 'subnet-0d0c0000000000a12', acl: 'subnet-0d0c0000000000a13', local: 'subnet-0d0c0000000000a14' };
const B = { vpc: 'vpc-0d0c0000000000b01', priv: 'subnet-0d0c0000000000b11' };
const C = { vpc: 'vpc-0d0c0000000000c01', priv: 'subnet-0d0c0000000000c11' };
export const DOCTOR_GROUPS = { closed: 'sg-0d0c0000000000a01', app: 'sg-0d0c0000000000a02', bEndpoint: 'sg-0d0c0000000000b01', cEndpoint: 'sg-0d0c0000000000c01', cApp: 'sg-0d0c0000000000c02' };

/** Reads everything the doctor reads and opens tunnels, but may push keys only for ubuntu. */
export const DOCTOR_LIMITED: PrincipalSpec = {
  accessKeyId: 'AKIASIMDOCTORLIMITED',
  secretAccessKey: 'doctor/limited/secret/key/0000000000000',
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/doctor-limited`,
  profile: 'doctor-limited',
  policies: [
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['ec2:Describe*', 'ec2:GetConsoleOutput', 'ec2-instance-connect:OpenTunnel', 'cloudwatch:GetMetricData', 'iam:SimulatePrincipalPolicy', 'iam:GetRole', 'sts:GetCallerIdentity'], Resource: '*' },
        { Effect: 'Allow', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: '*', Condition: { StringEquals: { 'ec2:osuser': 'ubuntu' } } },
      ],
    } satisfies PolicyDocument,
  ],
};

/**
 * Three VPCs: A (a public subnet, a private one with the endpoint, one whose ACL drops the return
 * traffic, one with no route to the internet gateway), B (an endpoint whose group may not send),
 * C (an endpoint that preserves the client's address, in front of a group that admits only the
 * VPC's addresses). `publicIp` 127.0.0.1 for the direct hosts: their public door is a loopback port.
 */
export function doctorFleet(region = DOCTOR_REGION): FleetSpec {
  const h = DOCTOR_HOSTS;
  const inst = (host: { id: string; name: string }, subnetId: string, extra: Record<string, unknown> = {}) => ({ id: host.id, region, subnetId, amiName: AL2023, tags: { Name: host.name, purpose: 'doctor' }, ...extra });
  return {
    vpcs: [
      {
        id: A.vpc,
        region,
        cidr: '10.20.0.0/16',
        name: 'doctor-a',
        subnets: [
          { id: A.pub, availabilityZone: `${region}a`, cidr: '10.20.1.0/24', name: 'doctor-public' },
          { id: A.priv, availabilityZone: `${region}a`, cidr: '10.20.2.0/24', name: 'doctor-private' },
          {
            id: A.acl,
            availabilityZone: `${region}a`,
            cidr: '10.20.3.0/24',
            name: 'doctor-acl',
            // 22 comes in; the answers may leave only to ports below 1024, so they never reach the endpoint.
            networkAcl: [
              { ruleNumber: 100, egress: false, protocol: '-1', ruleAction: 'allow', cidr: '0.0.0.0/0' },
              { ruleNumber: 100, egress: true, protocol: '6', ruleAction: 'allow', cidr: '0.0.0.0/0', fromPort: 0, toPort: 1023 },
            ],
          },
          { id: A.local, availabilityZone: `${region}a`, cidr: '10.20.4.0/24', name: 'doctor-local', routes: 'local' },
        ],
      },
      { id: B.vpc, region, cidr: '10.21.0.0/16', name: 'doctor-b', subnets: [{ id: B.priv, availabilityZone: `${region}a`, cidr: '10.21.1.0/24' }] },
      { id: C.vpc, region, cidr: '10.22.0.0/16', name: 'doctor-c', subnets: [{ id: C.priv, availabilityZone: `${region}a`, cidr: '10.22.1.0/24' }] },
    ],
    securityGroups: [
      { id: DOCTOR_GROUPS.closed, vpcId: A.vpc, name: 'doctor-closed', description: 'no inbound rules' },
      { id: DOCTOR_GROUPS.app, vpcId: A.vpc, name: 'doctor-app', description: 'HTTPS only', ingress: [{ fromPort: 443, cidr: '10.20.0.0/16' }] },
      { id: DOCTOR_GROUPS.bEndpoint, vpcId: B.vpc, name: 'doctor-b-eice', description: 'endpoint without egress', egress: [] },
      { id: DOCTOR_GROUPS.cEndpoint, vpcId: C.vpc, name: 'doctor-c-eice', description: 'endpoint (preserves client IP)' },
      { id: DOCTOR_GROUPS.cApp, vpcId: C.vpc, name: 'doctor-c-app', description: 'SSH from the VPC only', ingress: [{ fromPort: 22, cidr: '10.22.0.0/16' }] },
    ],
    instances: [
      inst(h.healthy, A.priv),
      inst(h.iamDenied, A.priv),
      inst(h.stopped, A.priv, { state: 'stopped' }),
      inst(h.impaired, A.priv, { status: 'impaired' }),
      inst(h.metadataOff, A.priv, { metadata: 'disabled' }),
      inst(h.wrongUser, A.priv, { amiName: UBUNTU, osUsers: ['ubuntu'] }),
      inst(h.noRoute, A.local, { publicIp: '127.0.0.1' }),
      inst(h.directClosed, A.pub, { publicIp: '127.0.0.1', securityGroupIds: [DOCTOR_GROUPS.closed] }),
      inst(h.instanceGroup, A.priv, { securityGroupIds: [DOCTOR_GROUPS.app] }),
      inst(h.endpointEgress, B.priv),
      inst(h.preserveClientIp, C.priv, { securityGroupIds: [DOCTOR_GROUPS.cApp] }),
      inst(h.nacl, A.acl),
      inst(h.noPackage, A.priv, { instanceConnectPackage: false }),
      inst(h.loaded, A.priv, { instanceType: 't3.micro', cpuPercent: 100, cpuCredits: 0 }),
    ],
    endpoints: [
      { id: 'eice-0d0c0000000000a01', region, subnetId: A.priv, tags: { Name: 'doctor-a-eice' } },
      { id: 'eice-0d0c0000000000b01', region, subnetId: B.priv, securityGroupIds: [DOCTOR_GROUPS.bEndpoint], tags: { Name: 'doctor-b-eice' } },
      { id: 'eice-0d0c0000000000c01', region, subnetId: C.priv, securityGroupIds: [DOCTOR_GROUPS.cEndpoint], preserveClientIp: true, tags: { Name: 'doctor-c-eice' } },
    ],
    principals: [DOCTOR_LIMITED],
  };
}
