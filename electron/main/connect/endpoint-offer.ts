import type { Ec2InstanceConnectEndpoint } from '@aws-sdk/client-ec2';
import { randomUUID } from 'node:crypto';
import type { EndpointProposal } from '../../contract';
import type { AwsClients } from '../aws/clients';
import { describeAwsError, partitionOf } from '../aws/errors';
import { sdk } from '../aws/sdk';
import type { Ec2Inventory } from './ec2-inventory';
import { KeylessFailure, fail } from '../base/errors';
import type { Logger } from '../base/log';
import { CREATE_ENDPOINT_ACTIONS } from '../policy/access-policy';
import type { Ec2Target } from './instance-connector';
import { USABLE_ENDPOINT_STATES, type InstanceFacts } from './plan';
import { sleep as sleepOrCancel } from '../base/sleep';

export type GroupReason = EndpointProposal['securityGroupReason'];

/**
 * Where a new endpoint for `instance` goes and which security group it uses. The subnet is the
 * instance's own (the CLI prefers an endpoint there). The group: the VPC's default group when the
 * instance is in it (its members reach each other, so nothing needs changing); else the instance's
 * first group (which must then allow port 22 from itself); else the VPC's default group.
 */
export function proposeEndpointPlacement(
  instance: Pick<InstanceFacts, 'instanceId' | 'vpcId' | 'subnetId' | 'privateIpAddress' | 'securityGroupIds'>,
  vpcDefaultGroupId: string | undefined,
): { vpcId: string; subnetId: string; securityGroupId: string; securityGroupReason: GroupReason } {
  const { instanceId, vpcId, subnetId } = instance;
  if (!vpcId || !subnetId) fail('NoEndpoint', `${instanceId} is not in a VPC, so no Instance Connect Endpoint can reach it.`, { instanceId, cause: 'notInVpc' });
  if (!instance.privateIpAddress) fail('NoEndpoint', `${instanceId} has no private IPv4 address, so an Instance Connect Endpoint cannot reach it.`, { instanceId, cause: 'noPrivateIp' });
  const groups = instance.securityGroupIds ?? [];
  if (vpcDefaultGroupId && groups.includes(vpcDefaultGroupId)) return { vpcId, subnetId, securityGroupId: vpcDefaultGroupId, securityGroupReason: 'instanceInDefault' };
  if (groups[0]) return { vpcId, subnetId, securityGroupId: groups[0], securityGroupReason: 'instanceGroup' };
  if (vpcDefaultGroupId) return { vpcId, subnetId, securityGroupId: vpcDefaultGroupId, securityGroupReason: 'vpcDefault' };
  return fail('NoEndpoint', `No security group is known for ${instanceId} or its VPC ${vpcId}; create the endpoint with a group that can reach port 22 on the instance.`, {
    instanceId,
    vpcId,
    cause: 'noGroup',
  });
}

export interface EndpointProvisionerDeps {
  clients: AwsClients;
  inventory: Ec2Inventory;
  log: Logger;
  /** How often the new endpoint's state is read (default 2 s; creation takes minutes on AWS). */
  pollMs?: number;
  /** How long to wait for create-complete (default 15 minutes). */
  timeoutMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) => sleepOrCancel(ms, signal, 'Waiting for the endpoint was stopped; it goes on being created in AWS.');

/**
 * The "no endpoint in this VPC" offer: proposes a subnet and security group for a new EC2
 * Instance Connect Endpoint, creates it when the person confirms, waits for create-complete and
 * drops the cached endpoint list so the next connection finds it.
 */
export class EndpointProvisioner {
  constructor(private readonly deps: EndpointProvisionerDeps) {}

  async propose(target: Ec2Target): Promise<EndpointProposal> {
    const { clients, inventory } = this.deps;
    const { profile, region, instanceId } = target;
    // Fresh facts: the offer is made after a failure that stale data could explain.
    inventory.forget(profile, region, instanceId);
    const instance = await inventory.instance(profile, region, instanceId);
    if (!instance.vpcId) fail('NoEndpoint', `${instanceId} is not in a VPC, so no Instance Connect Endpoint can reach it.`, { instanceId, cause: 'notInVpc' });
    const [ec2, { DescribeSecurityGroupsCommand }] = await Promise.all([clients.ec2Client(profile, region), sdk.ec2()]);
    const [defaultGroup, existing] = await Promise.all([
      // A denied or failed look-up only means the default group is not known: the instance's own is proposed.
      ec2
        .send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [instance.vpcId] }, { Name: 'group-name', Values: ['default'] }] }))
        .then((o) => o.SecurityGroups?.[0]?.GroupId, (err: unknown) => (this.deps.log.info('default security group not known', { vpc: instance.vpcId, error: String((err as Error).name) }), undefined)),
      this.vpcEndpoints(target, instance.vpcId),
    ]);
    const placement = proposeEndpointPlacement(instance, defaultGroup);
    const pending = existing.find((e) => e.State && !e.State.startsWith('delete') && e.State !== 'create-failed');
    return {
      instanceId,
      region,
      profile: profile ?? null,
      ...placement,
      instanceSecurityGroupIds: instance.securityGroupIds ?? [],
      existing: pending?.InstanceConnectEndpointId ? { endpointId: pending.InstanceConnectEndpointId, state: pending.State ?? 'unknown' } : null,
    };
  }

  private async vpcEndpoints(target: Ec2Target, vpcId: string): Promise<Ec2InstanceConnectEndpoint[]> {
    const { profile, region } = target;
    const [ec2, { DescribeInstanceConnectEndpointsCommand }] = await Promise.all([this.deps.clients.ec2Client(profile, region), sdk.ec2()]);
    try {
      const out = await ec2.send(new DescribeInstanceConnectEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
      return out.InstanceConnectEndpoints ?? [];
    } catch (err) {
      throw describeAwsError(err, { action: 'ec2:DescribeInstanceConnectEndpoints', region, profile, resource: `arn:${partitionOf(region)}:ec2:${region}:*:instance-connect-endpoint/*` });
    }
  }

  /**
   * Creates the endpoint and waits for it. The ClientToken makes the SDK's own retries safe
   * (AWS answers a repeated token with the endpoint it already made).
   */
  async create(
    target: Ec2Target,
    spec: { subnetId: string; securityGroupIds: string[] },
    onProgress: (p: { endpointId: string; state: string; elapsedMs: number }) => void,
    signal: AbortSignal,
  ): Promise<{ endpointId: string; state: string; vpcId: string; subnetId: string; securityGroupIds: string[]; waitedMs: number }> {
    const { clients, log } = this.deps;
    const { profile, region } = target;
    const [ec2, { CreateInstanceConnectEndpointCommand }] = await Promise.all([clients.ec2Client(profile, region), sdk.ec2()]);
    const t0 = Date.now();
    let created: Ec2InstanceConnectEndpoint | undefined;
    try {
      const out = await ec2.send(
        new CreateInstanceConnectEndpointCommand({
          SubnetId: spec.subnetId,
          SecurityGroupIds: spec.securityGroupIds,
          PreserveClientIp: false,
          ClientToken: randomUUID(),
          TagSpecifications: [{ ResourceType: 'instance-connect-endpoint', Tags: [{ Key: 'Name', Value: `keyless-${spec.subnetId}` }, { Key: 'CreatedBy', Value: 'Keyless' }] }],
        }),
        { abortSignal: signal },
      );
      created = out.InstanceConnectEndpoint;
    } catch (err) {
      throw createFailure(err, target, spec.subnetId);
    }
    const endpointId = created?.InstanceConnectEndpointId ?? fail('AwsServiceError', 'CreateInstanceConnectEndpoint answered without an endpoint id.', { action: 'ec2:CreateInstanceConnectEndpoint' });
    log.info('instance connect endpoint created', { endpoint: endpointId, subnet: spec.subnetId, region });
    return this.waitFor(target, endpointId, onProgress, signal, { t0, first: created, securityGroupIds: spec.securityGroupIds });
  }

  /**
   * Waits for an endpoint (one just created, or one the VPC already has) to be usable, reporting
   * each state read; then drops the VPC's cached endpoint list so the next plan finds it.
   */
  async waitFor(
    target: Ec2Target,
    endpointId: string,
    onProgress: (p: { endpointId: string; state: string; elapsedMs: number }) => void,
    signal: AbortSignal,
    known: { t0?: number; first?: Ec2InstanceConnectEndpoint | undefined; securityGroupIds?: string[] } = {},
  ): Promise<{ endpointId: string; state: string; vpcId: string; subnetId: string; securityGroupIds: string[]; waitedMs: number }> {
    const { clients, inventory, log } = this.deps;
    const { profile, region } = target;
    const [ec2, { DescribeInstanceConnectEndpointsCommand }] = await Promise.all([clients.ec2Client(profile, region), sdk.ec2()]);
    const t0 = known.t0 ?? Date.now();
    const read = async (): Promise<Ec2InstanceConnectEndpoint | undefined> => {
      const out = await ec2.send(new DescribeInstanceConnectEndpointsCommand({ InstanceConnectEndpointIds: [endpointId] }), { abortSignal: signal });
      return out.InstanceConnectEndpoints?.[0];
    };
    let current = known.first;
    if (!current) {
      current = await read().catch((err: unknown) => {
        throw describeAwsError(err, { action: 'ec2:DescribeInstanceConnectEndpoints', region, profile });
      });
      if (!current) fail('NoEndpoint', `The Instance Connect Endpoint ${endpointId} was not found in ${region}.`, { endpointId, cause: 'notFound' });
    }
    let state = current.State ?? 'create-in-progress';
    onProgress({ endpointId, state, elapsedMs: Date.now() - t0 });
    const deadline = t0 + (this.deps.timeoutMs ?? 15 * 60_000);
    while (!(USABLE_ENDPOINT_STATES as readonly string[]).includes(state)) {
      if (state === 'create-failed' || state.startsWith('delete')) {
        fail('NoEndpoint', `The Instance Connect Endpoint ${endpointId} is ${state}${current?.StateMessage ? `: ${current.StateMessage}` : ''}.`, { endpointId, state, cause: 'notReady' });
      }
      if (Date.now() > deadline) fail('Timeout', `The Instance Connect Endpoint ${endpointId} is still ${state} after ${Math.round((Date.now() - t0) / 60_000)} minutes; it may still finish in AWS.`, { step: 'endpoint', endpointId });
      await sleep(this.deps.pollMs ?? 2000, signal);
      try {
        current = (await read()) ?? current;
      } catch (err) {
        const e = describeAwsError(err, { action: 'ec2:DescribeInstanceConnectEndpoints', region, profile });
        if (!e.retryable) throw e;
        log.info('endpoint state not read, trying again', { endpoint: endpointId, code: e.code });
        continue;
      }
      state = current?.State ?? state;
      onProgress({ endpointId, state, elapsedMs: Date.now() - t0 });
    }
    // The next plan reads the VPC's endpoints again and finds this one.
    const vpcId = current?.VpcId ?? '';
    if (vpcId) inventory.forgetEndpoints(profile, region, vpcId);
    return {
      endpointId,
      state,
      vpcId,
      subnetId: current?.SubnetId ?? '',
      securityGroupIds: current?.SecurityGroupIds ?? known.securityGroupIds ?? [],
      waitedMs: Date.now() - t0,
    };
  }
}

/** A refused CreateInstanceConnectEndpoint, in words: a denial names the action and the statement that allows it. */
function createFailure(err: unknown, target: Ec2Target, subnetId: string): KeylessFailure {
  const { profile, region } = target;
  const resource = `arn:${partitionOf(region)}:ec2:${region}:*:instance-connect-endpoint/*`;
  const e = describeAwsError(err, { action: 'ec2:CreateInstanceConnectEndpoint', region, profile, resource });
  if (e.code === 'AwsAccessDenied') {
    const policy = JSON.stringify({ Effect: 'Allow', Action: CREATE_ENDPOINT_ACTIONS, Resource: '*' }, null, 2);
    const said = (err as { message?: string }).message ?? '';
    return new KeylessFailure(
      'AwsAccessDenied',
      `Your IAM policy does not allow ec2:CreateInstanceConnectEndpoint (profile ${profile ?? 'default'}, ${region}). AWS said: ${said.slice(0, 600)} A statement that would allow creating the endpoint:\n${policy}`,
      false,
      { action: 'ec2:CreateInstanceConnectEndpoint', resource, profile: profile ?? 'default', region, policy, cause: 'createEndpoint' },
    );
  }
  const name = (err as { name?: string }).name ?? '';
  if (/InvalidSubnetID|InvalidGroup|InvalidParameter|Quota|LimitExceeded/i.test(name)) {
    const said = (err as { message?: string }).message ?? name;
    return new KeylessFailure('AwsServiceError', `AWS refused to create the endpoint in ${subnetId}: ${name}: ${said}`, false, { action: 'ec2:CreateInstanceConnectEndpoint', reason: name });
  }
  return e;
}
