/**
 * The "no endpoint in this VPC" offer through the whole backend (handlers over the in-memory
 * transport, the renderer's Backend client) against the AWS simulator with a real sshd: the
 * connection fails with NoEndpoint, the proposal names the instance's subnet and group, a
 * principal without the permission is refused in words, the admin creates the endpoint (progress
 * to create-complete), and the same connection then reaches a shell with no other step.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPayload, KeylessError } from '../../../electron/contract';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { ACCOUNT_ID, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { receiveOutput } from '../support/terminal-output';
import { useSimulatorAws } from '../support/simulator-aws';

if (sshdMissing) console.warn(`skipping the endpoint-offer integration test: ${sshdMissing}`);

const REGION = 'us-west-2';
const VPC = 'vpc-0e1ce00000000a001';
const SUBNET = 'subnet-0e1ce0000000a0012';
const INSTANCE = 'i-0e1ce00000000a002';
const VPC2 = 'vpc-0e1ce00000000a002';
const SUBNET2 = 'subnet-0e1ce0000000a0021';
const INSTANCE2 = 'i-0e1ce00000000a003';
const READER = {
  accessKeyId: 'AKIASIMEICEOPERATOR1',
  secretAccessKey: 'eice/operator/secret/key/000000000000000',
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/operator`,
  profile: 'operator',
  policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: ['ec2:Describe*', 'ec2-instance-connect:*'], Resource: '*' }] }],
};

let sim: Simulator;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const output = new Map<string, string>();
const progress: Array<EventPayload<'endpoint.progress'>> = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    endpointCreateDelayMs: 1200,
    fleet: {
      vpcs: [
        { id: VPC, region: REGION, cidr: '10.11.0.0/16', subnets: [{ id: 'subnet-0e1ce0000000a0011', availabilityZone: `${REGION}a`, cidr: '10.11.1.0/24' }, { id: SUBNET, availabilityZone: `${REGION}b`, cidr: '10.11.2.0/24' }] },
        { id: VPC2, region: REGION, cidr: '10.12.0.0/16', subnets: [{ id: SUBNET2, availabilityZone: `${REGION}a`, cidr: '10.12.1.0/24' }] },
      ],
      instances: [
        { id: INSTANCE, region: REGION, subnetId: SUBNET, amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        { id: INSTANCE2, region: REGION, subnetId: SUBNET2, amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [],
      principals: [READER],
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), endpointPollMs: 200 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  receiveOutput(backend, output);
  backend.on('endpoint.progress', (p) => progress.push(p));
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  disconnect?.();
  await main?.close();
  await sim?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

async function errorOf(p: Promise<unknown>): Promise<KeylessError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BackendError) return err.error;
    throw err;
  }
  throw new Error('expected a failure');
}

describe.skipIf(sshdMissing)('creating a missing Instance Connect Endpoint', () => {
  const target = { region: REGION, instanceId: INSTANCE, connectionType: 'eice' as const };

  it('no endpoint: NoEndpoint with the offer; the proposal is the instance subnet and the default group it is in', async () => {
    const e = await errorOf(backend.invoke('session.open', { requestId: 'o1', cols: 80, rows: 24, target }));
    expect(e.code).toBe('NoEndpoint');
    expect(e.detail).toMatchObject({ vpcId: VPC, subnetId: SUBNET, canCreate: true });

    const p = await backend.invoke('endpoint.propose', { target });
    expect(p).toMatchObject({ instanceId: INSTANCE, region: REGION, vpcId: VPC, subnetId: SUBNET, securityGroupReason: 'instanceInDefault', existing: null });
    expect(p.instanceSecurityGroupIds).toEqual([p.securityGroupId]);
    expect(p.securityGroupId).toMatch(/^sg-0[0-9a-f]+$/);
  });

  it('a profile without ec2:CreateInstanceConnectEndpoint is refused with the action and the statement that would allow it', async () => {
    const p = await backend.invoke('endpoint.propose', { target: { ...target, profile: 'operator' } });
    const e = await errorOf(backend.invoke('endpoint.create', { requestId: 'deny1', subnetId: p.subnetId, securityGroupIds: [p.securityGroupId], target: { ...target, profile: 'operator' } }));
    expect(e.code).toBe('AwsAccessDenied');
    expect(e.detail?.action).toBe('ec2:CreateInstanceConnectEndpoint');
    expect(e.message).toMatch(/user\/operator is not authorized to perform: ec2:CreateInstanceConnectEndpoint/);
    expect(JSON.parse(String(e.detail?.policy))).toMatchObject({ Effect: 'Allow', Action: expect.arrayContaining(['ec2:CreateInstanceConnectEndpoint']) });
    expect(sim.endpoints()).toHaveLength(0);
  });

  it('creates the endpoint, reports its states to create-complete, and the same connection then reaches a shell', async () => {
    const p = await backend.invoke('endpoint.propose', { target });
    const made = await backend.invoke('endpoint.create', { requestId: 'make1', subnetId: p.subnetId, securityGroupIds: [p.securityGroupId], target });
    expect(made).toMatchObject({ state: 'create-complete', vpcId: VPC, subnetId: SUBNET, securityGroupIds: [p.securityGroupId] });
    const mine = progress.filter((x) => x.requestId === 'make1').map((x) => x.state);
    expect(mine[0]).toBe('create-in-progress');
    expect(mine.at(-1)).toBe('create-complete');
    expect(sim.endpoints()).toEqual([expect.objectContaining({ id: made.endpointId, subnetId: SUBNET, state: 'create-complete' })]);

    // The failed attempt above cached "no endpoints" for the VPC; the creation dropped that.
    const { sessionId, route: { kind: via } } = await backend.invoke('session.open', { requestId: 'o2', cols: 80, rows: 24, target });
    expect(via).toBe('eice');
    await backend.invoke('session.write', { sessionId, data: 'echo through-$((40+2))\n' });
    const deadline = Date.now() + 20_000;
    while (!(output.get(sessionId) ?? '').includes('through-42')) {
      if (Date.now() > deadline) throw new Error(`no answer: ${output.get(sessionId)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const events = sim.admin.trail().map((x) => `${x.eventName}:${x.errorCode ?? 'ok'}`);
    expect(events).toContain('OpenTunnel:ok');
    await backend.invoke('session.close', { sessionId });
  });

  it('stopping the wait leaves the endpoint being created; the next offer names it and waits for it instead of making another', async () => {
    const target2 = { region: REGION, instanceId: INSTANCE2, connectionType: 'eice' as const };
    const p = await backend.invoke('endpoint.propose', { target: target2 });
    const first = new Promise<void>((resolve) => {
      const off = backend.on('endpoint.progress', (x) => x.requestId === 'make2' && (off(), resolve()));
    });
    const creating = errorOf(backend.invoke('endpoint.create', { requestId: 'make2', subnetId: p.subnetId, securityGroupIds: [p.securityGroupId], target: target2 }));
    await first;
    await backend.invoke('op.cancel', { requestId: 'make2' });
    expect((await creating).code).toBe('Cancelled');
    const pending = sim.endpoints().find((e) => e.vpcId === VPC2);
    expect(pending?.state).toBe('create-in-progress');

    // Not usable yet: the connection still fails, and the offer points at the endpoint being made.
    expect((await errorOf(backend.invoke('session.open', { requestId: 'o3', cols: 80, rows: 24, target: target2 }))).code).toBe('NoEndpoint');
    const again = await backend.invoke('endpoint.propose', { target: target2 });
    expect(again.existing).toEqual({ endpointId: pending!.id, state: 'create-in-progress' });
    const ready = await backend.invoke('endpoint.wait', { requestId: 'wait2', endpointId: pending!.id, target: target2 });
    expect(ready).toMatchObject({ endpointId: pending!.id, state: 'create-complete', vpcId: VPC2, subnetId: SUBNET2 });
    expect(sim.endpoints().filter((e) => e.vpcId === VPC2)).toHaveLength(1);
    const { sessionId, route: { kind: via } } = await backend.invoke('session.open', { requestId: 'o4', cols: 80, rows: 24, target: target2 });
    expect(via).toBe('eice');
    await backend.invoke('session.close', { sessionId });
  });
});
