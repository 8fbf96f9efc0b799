// What a fleet refresh read serves the connect planner: the plan comes from it with no AWS call,
// older reads never replace newer facts, and facts older than the cache's life are read again.
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../../electron/main/aws/clients';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { silentLogger } from '../../../electron/main/base/log';
import { InstanceConnector, type Ec2Target } from '../../../electron/main/connect/instance-connector';
import type { EndpointFacts, InstanceFacts } from '../../../electron/main/connect/plan';
import type { KnownHosts } from '../../../electron/main/ssh/known-hosts';

const REGION = 'eu-west-1';

/** An inventory whose every AWS call is recorded and fails (a seeded plan must make none). */
function setup() {
  const calls: string[] = [];
  const clients = {
    ec2Client: async () => ({
      send: async (command: object) => {
        calls.push(command.constructor.name);
        throw Object.assign(new Error('no AWS here'), { name: 'InternalError' });
      },
    }),
  } as unknown as AwsClients;
  const inventory = new Ec2Inventory(clients);
  const connector = new InstanceConnector({ clients, inventory, knownHosts: {} as KnownHosts, log: silentLogger });
  return { calls, inventory, connector };
}

const instance = (over: Partial<InstanceFacts> = {}): InstanceFacts => ({
  instanceId: 'i-0private000000001',
  state: 'running',
  vpcId: 'vpc-01',
  subnetId: 'subnet-0b',
  privateIpAddress: '10.0.2.15',
  imageName: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240927',
  ...over,
});
const endpoint = (id: string, subnetId: string, state = 'create-complete'): EndpointFacts => ({
  endpointId: id,
  state,
  vpcId: 'vpc-01',
  subnetId,
  dnsName: `${id}.ec2-instance-connect-endpoint.${REGION}.amazonaws.com`,
  securityGroupIds: ['sg-0eice'],
});
const target = (over: Partial<Ec2Target> = {}): Ec2Target => ({ profile: 'prod', region: REGION, instanceId: 'i-0private000000001', connectionType: 'auto', port: 22, ...over });

describe('the connect planner served by a fleet refresh', () => {
  it('plans a tunnel through a usable endpoint of the VPC (an endpoint still being created is passed over), with no AWS call', async () => {
    const { calls, inventory, connector } = setup();
    inventory.seed('prod', REGION, { at: Date.now(), instances: [instance()], endpoints: [endpoint('eice-0new', 'subnet-0b', 'create-in-progress'), endpoint('eice-0ok', 'subnet-0a')] });
    const { plan, osUser } = await connector.plan(target());
    expect(plan).toMatchObject({ kind: 'eice', address: '10.0.2.15', endpoint: { endpointId: 'eice-0ok', securityGroupIds: ['sg-0eice'] } });
    expect(osUser).toBe('ubuntu');
    expect(calls).toEqual([]);
  });

  it('knows a VPC has no endpoint: the plan says so at once, with no AWS call', async () => {
    const { calls, inventory, connector } = setup();
    inventory.seed('prod', REGION, { at: Date.now(), instances: [instance()], endpoints: [] });
    await expect(connector.plan(target())).rejects.toMatchObject({ code: 'NoEndpoint' });
    expect(calls).toEqual([]);
  });

  it('asks EC2 for the endpoints when the refresh could not list them', async () => {
    const { calls, inventory, connector } = setup();
    inventory.seed('prod', REGION, { at: Date.now(), instances: [instance()] });
    // (The SDK's paginator refuses the fake client before any send; the failure names the call.)
    await expect(connector.plan(target())).rejects.toThrow('ec2:DescribeInstanceConnectEndpoints');
    expect(calls).toEqual([]);
  });

  it('serves only the profile that read it: another profile asks EC2', async () => {
    const { calls, inventory, connector } = setup();
    inventory.seed('prod', REGION, { at: Date.now(), instances: [instance()], endpoints: [endpoint('eice-0ok', 'subnet-0a')] });
    await expect(connector.plan(target({ profile: 'staging' }))).rejects.toBeInstanceOf(KeylessFailure);
    expect(calls).toEqual(['DescribeInstancesCommand']);
  });

  it('an older read never replaces newer facts', async () => {
    const { inventory } = setup();
    const now = Date.now();
    inventory.seed('prod', REGION, { at: now, instances: [instance({ state: 'stopped' })] });
    inventory.seed('prod', REGION, { at: now - 5_000, instances: [instance({ state: 'running' })] });
    expect((await inventory.instance('prod', REGION, 'i-0private000000001')).state).toBe('stopped');
  });

  it('facts read more than ten minutes ago are read again', async () => {
    const { calls, inventory } = setup();
    inventory.seed('prod', REGION, { at: Date.now() - 11 * 60_000, instances: [instance()] });
    await expect(inventory.instance('prod', REGION, 'i-0private000000001')).rejects.toBeInstanceOf(KeylessFailure);
    expect(calls).toEqual(['DescribeInstancesCommand']);
  });
});
