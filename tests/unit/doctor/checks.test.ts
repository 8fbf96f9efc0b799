import { describe, expect, it } from 'vitest';
import { aclAllows, causeOf, diagnose, groupsAllow, type AclFacts, type DoctorFacts, type GroupFacts } from '../../../electron/main/doctor/checks';

const ENDPOINT_SG = 'sg-0000000000000e001';
const APP_SG = 'sg-0000000000000a001';
const group = (groupId: string, ingress: GroupFacts['ingress'], egress: GroupFacts['egress'] = [{ protocol: '-1', cidrs: ['0.0.0.0/0'], groupIds: [] }]): GroupFacts => ({ groupId, name: groupId, ingress, egress });

/** A healthy instance behind an endpoint in the same subnet; each test breaks one thing. */
function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    region: 'eu-west-1',
    instanceId: 'i-0123456789abcdef0',
    osUser: 'ec2-user',
    expectedUser: 'ec2-user',
    osUserChosen: false,
    route: 'eice',
    caller: { arn: 'arn:aws:iam::111122223333:user/alice', account: '111122223333' },
    instance: { instanceId: 'i-0123456789abcdef0', name: 'app', state: 'running', instanceType: 'm6i.large', vpcId: 'vpc-1', subnetId: 'subnet-a', privateIp: '10.0.1.5', groupIds: [APP_SG], metadataEndpoint: 'enabled', imageName: 'al2023-ami' },
    status: 'ok',
    groups: [group(APP_SG, [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidrs: [], groupIds: [ENDPOINT_SG] }]), group(ENDPOINT_SG, [])],
    vpcCidr: '10.0.0.0/16',
    subnets: [{ subnetId: 'subnet-a', cidr: '10.0.1.0/24' }],
    routeTables: [],
    acls: [],
    endpoints: [],
    endpoint: { endpointId: 'eice-1', state: 'create-complete', subnetId: 'subnet-a', groupIds: [ENDPOINT_SG], preserveClientIp: false },
    clientIp: '198.51.100.7',
    iamPush: 'allowed',
    iamTunnel: 'allowed',
    attempt: { outcome: 'connected', pushed: true, message: '' },
    metrics: { cpu: [4, 6], credits: [] },
    ...over,
  };
}
const line = (f: DoctorFacts, check: string) => diagnose(f).find((l) => l.check === check)!;

describe('the doctor checks', () => {
  it('a healthy instance: no cause', () => {
    expect(causeOf(diagnose(facts()))).toBeNull();
  });

  it('preserve-client-IP: a rule for the VPC no longer admits the traffic, one for the endpoint group still does', () => {
    const vpcOnly = [group(APP_SG, [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidrs: ['10.0.0.0/16'], groupIds: [] }]), group(ENDPOINT_SG, [])];
    const endpoint = { endpointId: 'eice-1', state: 'create-complete', subnetId: 'subnet-a', groupIds: [ENDPOINT_SG], preserveClientIp: false };
    expect(line(facts({ groups: vpcOnly, endpoint }), 'securityGroups').status).toBe('passed');
    const preserved = line(facts({ groups: vpcOnly, endpoint: { ...endpoint, preserveClientIp: true } }), 'securityGroups');
    expect(preserved).toMatchObject({ status: 'failed', finding: 'groupsBlockEndpointIngress', fix: { change: { direction: 'ingress', groupId: APP_SG, port: 22, peer: { groupId: ENDPOINT_SG } } } });
    expect(line(facts({ endpoint: { ...endpoint, preserveClientIp: true } }), 'securityGroups').status).toBe('passed');
  });

  it("the endpoint group's own inbound rules play no part; its outbound rules do", () => {
    const noEgress = [group(APP_SG, [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidrs: [], groupIds: [ENDPOINT_SG] }]), group(ENDPOINT_SG, [{ protocol: '-1', cidrs: ['0.0.0.0/0'], groupIds: [] }], [])];
    expect(line(facts({ groups: noEgress }), 'securityGroups')).toMatchObject({ status: 'failed', finding: 'groupsBlockEndpointEgress', fix: { change: { direction: 'egress', groupId: ENDPOINT_SG, peer: { groupId: APP_SG } } } });
  });

  it('a direct fix opens 22 to this computer alone, never a range', () => {
    const f = facts({ route: 'direct', instance: { ...(facts().instance as object), publicIp: '54.1.2.3', groupIds: [APP_SG] } as DoctorFacts['instance'], groups: [group(APP_SG, [])], routeTables: [{ routeTableId: 'rtb-1', main: true, subnetIds: [], routes: [{ destination: '0.0.0.0/0', gatewayId: 'igw-1' }] }] });
    const l = line(f, 'securityGroups');
    expect(l.fix?.change?.peer).toEqual({ cidr: '198.51.100.7/32' });
    expect(l.fix?.cli).toContain('CidrIp=198.51.100.7/32');
    expect(l.fix?.terraform).toContain('cidr_ipv4                    = "198.51.100.7/32"');
  });

  it('network ACLs: the lowest-numbered matching entry decides, and the return ports must all be open', () => {
    const acl: AclFacts = {
      aclId: 'acl-1',
      subnetIds: ['subnet-b'],
      isDefault: false,
      entries: [
        { ruleNumber: 90, egress: true, protocol: '6', allow: false, cidr: '10.0.1.0/24', from: 40000, to: 65535 },
        { ruleNumber: 100, egress: true, protocol: '-1', allow: true, cidr: '0.0.0.0/0' },
        { ruleNumber: 100, egress: false, protocol: '-1', allow: true, cidr: '0.0.0.0/0' },
      ],
    };
    expect(aclAllows(acl, true, 33000, '10.0.1.9')).toBe(true);
    expect(aclAllows(acl, true, 50000, '10.0.1.9')).toBe(false);
    expect(aclAllows(acl, true, 50000, '10.0.2.9')).toBe(true);
    const f = facts({ instance: { ...(facts().instance as object), subnetId: 'subnet-b' } as DoctorFacts['instance'], acls: [acl] });
    expect(line(f, 'networkAcls')).toMatchObject({ status: 'failed', finding: 'aclsBlockReturn', params: { acl: 'acl-1', address: '10.0.1.4' } });
    expect(line(f, 'networkAcls').fix?.cli).toMatch(/create-network-acl-entry .*--egress --protocol tcp --port-range From=1024,To=65535 --cidr-block 10\.0\.1\.0\/24/);
  });

  it('could not check: the permission it lacked; the key push tried stands in for the simulation', () => {
    const f = facts({ iamPush: { unread: true, lacking: 'iam:SimulatePrincipalPolicy', message: 'denied' }, metrics: { unread: true, lacking: 'cloudwatch:GetMetricData', message: 'denied' } });
    expect(line(f, 'iamPush')).toMatchObject({ status: 'passed', finding: 'iamPushAllowedByTry', lacking: 'iam:SimulatePrincipalPolicy' });
    expect(line(f, 'load')).toMatchObject({ status: 'couldNotCheck', lacking: 'cloudwatch:GetMetricData' });
    const denied = line({ ...f, attempt: { outcome: 'pushDenied', pushed: false, message: '' } }, 'iamPush');
    expect(denied).toMatchObject({ status: 'failed', finding: 'iamPushDeniedByTry' });
    expect(denied.fix?.cli).toMatch(/^aws iam put-user-policy --user-name alice /);
    expect(denied.fix?.cli).toContain('"ec2:osuser":"ec2-user"');
  });

  it('the first failed line is the cause; sshd not answering on a loaded instance is the load', () => {
    const loaded = facts({ instance: { ...(facts().instance as object), instanceType: 't3.micro' } as DoctorFacts['instance'], metrics: { cpu: [100], credits: [0] }, attempt: { outcome: 'unreachable', pushed: true, message: 'Unable to connect to target' } });
    expect(causeOf(diagnose(loaded))).toBe('load');
    const wrongUser = facts({ osUser: 'ec2-user', expectedUser: 'ubuntu', osUserChosen: true, attempt: { outcome: 'keyRefused', pushed: true, message: '' } });
    expect(causeOf(diagnose(wrongUser))).toBe('osUser');
    expect(groupsAllow([group(APP_SG, [{ protocol: 'tcp', fromPort: 20, toPort: 21, cidrs: ['0.0.0.0/0'], groupIds: [] }])], [APP_SG], false, 22, { ip: '1.2.3.4', groupIds: [] })).toBe(false);
  });
});
