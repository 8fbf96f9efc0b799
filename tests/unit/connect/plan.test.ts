import { describe, expect, it } from 'vitest';
import { KeylessFailure } from '../../../electron/main/base/errors';
import {
  chooseEndpoint,
  chooseRoute,
  defaultOsUser,
  planConnection,
  type EndpointFacts,
  type InstanceFacts,
} from '../../../electron/main/connect/plan';

const base: InstanceFacts = { instanceId: 'i-0abc', state: 'running', vpcId: 'vpc-1', subnetId: 'subnet-b' };
const both = { ...base, publicIpAddress: '54.1.2.3', privateIpAddress: '10.0.0.5', ipv6Address: '2600::1' };
const privateOnly = { ...base, privateIpAddress: '10.0.0.5' };
const v6Only = { ...base, ipv6Address: '2600::1' };

const ep = (id: string, over: Partial<EndpointFacts> = {}): EndpointFacts => ({
  endpointId: id,
  state: 'create-complete',
  vpcId: 'vpc-1',
  subnetId: 'subnet-a',
  dnsName: `${id}.ec2-instance-connect-endpoint.us-west-2.amazonaws.com`,
  ...over,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KeylessFailure ? err.code : 'other';
  }
  return undefined;
}

describe('chooseRoute (the AWS CLI --connection-type rules)', () => {
  it('auto: public IPv4 direct, else private through EICE, else IPv6 direct', () => {
    expect(chooseRoute('auto', both)).toEqual({ kind: 'direct', address: '54.1.2.3' });
    expect(chooseRoute('auto', { ...privateOnly, ipv6Address: '2600::1' })).toEqual({ kind: 'eice', address: '10.0.0.5' });
    expect(chooseRoute('auto', v6Only)).toEqual({ kind: 'direct', address: '2600::1' });
  });
  it('direct: public, then IPv6, then private', () => {
    expect(chooseRoute('direct', both)).toEqual({ kind: 'direct', address: '54.1.2.3' });
    expect(chooseRoute('direct', { ...base, ipv6Address: '2600::1', privateIpAddress: '10.0.0.5' })).toEqual({ kind: 'direct', address: '2600::1' });
    expect(chooseRoute('direct', privateOnly)).toEqual({ kind: 'direct', address: '10.0.0.5' });
  });
  it('eice: the private IPv4 even when there is a public one; none → NoEndpoint', () => {
    expect(chooseRoute('eice', both)).toEqual({ kind: 'eice', address: '10.0.0.5' });
    expect(codeOf(() => chooseRoute('eice', v6Only))).toBe('NoEndpoint');
  });
  it('no address at all is refused', () => {
    expect(codeOf(() => chooseRoute('auto', base))).toBe('InstanceNotRunning');
  });
});

describe('chooseEndpoint', () => {
  it("prefers the instance's subnet, else the first usable endpoint of its VPC", () => {
    const list = [ep('eice-other-vpc', { vpcId: 'vpc-2', subnetId: 'subnet-b' }), ep('eice-a'), ep('eice-b', { subnetId: 'subnet-b' })];
    expect(chooseEndpoint(privateOnly, list).endpointId).toBe('eice-b');
    expect(chooseEndpoint({ ...privateOnly, subnetId: 'subnet-z' }, list).endpointId).toBe('eice-a');
  });
  it('skips endpoints still being created or deleted', () => {
    const list = [ep('eice-new', { state: 'create-in-progress', subnetId: 'subnet-b' }), ep('eice-upd', { state: 'update-failed' })];
    expect(chooseEndpoint(privateOnly, list).endpointId).toBe('eice-upd');
    expect(codeOf(() => chooseEndpoint(privateOnly, [ep('x', { state: 'delete-in-progress' })]))).toBe('NoEndpoint');
  });
  it('a pinned endpoint wins, but must exist, be ready and be in the same VPC', () => {
    const list = [ep('eice-a'), ep('eice-b', { subnetId: 'subnet-b' }), ep('eice-far', { vpcId: 'vpc-9' })];
    expect(chooseEndpoint(privateOnly, list, 'eice-a').endpointId).toBe('eice-a');
    expect(codeOf(() => chooseEndpoint(privateOnly, list, 'eice-nope'))).toBe('NoEndpoint');
    expect(codeOf(() => chooseEndpoint(privateOnly, list, 'eice-far'))).toBe('NoEndpoint');
  });
  it('says which subnet to create an endpoint in when the VPC has none', () => {
    try {
      chooseEndpoint(privateOnly, []);
      expect.unreachable();
    } catch (err) {
      expect((err as KeylessFailure).code).toBe('NoEndpoint');
      expect((err as KeylessFailure).message).toContain('subnet-b');
    }
  });
});

describe('planConnection', () => {
  it('refuses ports other than 22 and 3389 through EICE before anything else', () => {
    expect(codeOf(() => planConnection(privateOnly, [ep('eice-a')], { connectionType: 'eice', port: 2222 }))).toBe('PortNotAllowed');
    expect(codeOf(() => planConnection(privateOnly, [], { connectionType: 'eice', port: 8080 }))).toBe('PortNotAllowed');
    expect(codeOf(() => planConnection(privateOnly, [ep('eice-a')], { connectionType: 'auto', port: 2222 }))).toBe('PortNotAllowed');
    expect(planConnection(privateOnly, [ep('eice-a')], { connectionType: 'eice', port: 3389 })).toMatchObject({ kind: 'eice', port: 3389 });
  });
  it('direct connections may use any port', () => {
    expect(planConnection(both, [], { connectionType: 'auto', port: 2222 })).toEqual({ kind: 'direct', address: '54.1.2.3', port: 2222 });
  });
  it('refuses a stopped instance', () => {
    expect(codeOf(() => planConnection({ ...both, state: 'stopped' }, [], { connectionType: 'auto', port: 22 }))).toBe('InstanceNotRunning');
  });
  it('a pinned endpoint turns auto into a tunnel', () => {
    expect(planConnection(both, [ep('eice-a')], { connectionType: 'auto', port: 22, endpointId: 'eice-a' })).toMatchObject({ kind: 'eice', address: '10.0.0.5' });
  });
});

describe('defaultOsUser', () => {
  it.each([
    ['al2023-ami-2023.5.20240722.0-kernel-6.1-x86_64', undefined, 'ec2-user'],
    ['amzn2-ami-kernel-5.10-hvm-2.0.20240709.1-x86_64-gp2', undefined, 'ec2-user'],
    ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240701', undefined, 'ubuntu'],
    ['debian-12-amd64-20240717-1811', undefined, 'admin'],
    ['RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3', undefined, 'ec2-user'],
    ['suse-sles-15-sp6-v20240615-hvm-ssd-x86_64', undefined, 'ec2-user'],
    ['Fedora-Cloud-Base-40-1.14.x86_64-hvm-us-east-1-gp3-0', undefined, 'fedora'],
    ['CentOS Stream 9 x86_64 20240703', undefined, 'centos'],
    ['bitnami-wordpress-6.5.5-0-r02-linux-debian-12-x86_64-hvm-ebs-nami', undefined, 'bitnami'],
    [undefined, 'Red Hat Enterprise Linux', 'ec2-user'],
    [undefined, 'Ubuntu Pro', 'ubuntu'],
    ['my-golden-image-42', 'Linux/UNIX', 'ec2-user'],
    [undefined, undefined, 'ec2-user'],
  ])('%s / %s → %s', (image, platform, user) => {
    expect(defaultOsUser(image, platform)).toBe(user);
  });
});
