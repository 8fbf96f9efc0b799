import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../../../electron/contract';
import { silentLogger } from '../../../electron/main/base/log';
import { createAwsServices, type AwsServices } from '../../../electron/main/inventory/aws-handlers';
import { Prompts } from '../../../electron/main/rpc/prompts';
import type { InstanceSpec } from '../../sim/index';
import { startAwsWorld, type AwsWorld } from '../profiles/aws-world';
import { fakePeer } from '../profiles/fake-peer';

let world: AwsWorld;
let aws: AwsServices;

const BIG = 2500;
const UBUNTU = 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241119';

beforeAll(async () => {
  const instances: InstanceSpec[] = Array.from({ length: BIG }, (_, k) => ({
    region: 'us-east-1',
    subnetId: 'subnet-0000000000000e001',
    ...(k % 2 ? {} : { publicIp: `54.0.${k >> 8}.${k & 255}` }),
    amiName: k % 5 ? undefined : UBUNTU,
    tags: { Name: `node-${k}`, env: k % 3 ? 'prod' : 'dev' },
  }));
  instances.push({ region: 'us-west-2', subnetId: 'subnet-0000000000000e002', tags: { Name: 'west-1' } });
  world = await startAwsWorld({
    regions: ['us-east-1', 'us-west-2'],
    fleet: {
      vpcs: [
        { id: 'vpc-0000000000000e001', region: 'us-east-1', cidr: '10.0.0.0/16', name: 'big', subnets: [{ id: 'subnet-0000000000000e001', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/20', name: 'big-a' }] },
        { id: 'vpc-0000000000000e002', region: 'us-west-2', cidr: '10.1.0.0/16', subnets: [{ id: 'subnet-0000000000000e002', availabilityZone: 'us-west-2a', cidr: '10.1.0.0/24' }] },
      ],
      instances,
      endpoints: [{ region: 'us-east-1', subnetId: 'subnet-0000000000000e001', state: 'create-complete' }],
    },
  });
  await world.addExpiredProfile('stale');
  aws = createAwsServices({ home: join(world.dir, 'keyless'), log: silentLogger, prompts: new Prompts(), backgroundRefreshMs: 0 });
}, 120_000);
afterAll(async () => {
  aws?.dispose();
  await world?.stop();
});

const scope = (s: InventorySnapshot, profile: string, region: string) => s.scopes.find((x) => x.profile === profile && x.region === region)!;

describe('the fleet inventory against the simulator', () => {
  let first: InventorySnapshot;

  it('describes every profile × region in parallel; a disabled region, a denied profile and expired credentials are marked, never failing the rest', async () => {
    const peer = fakePeer();
    first = await aws.handlers['inventory.refresh'](
      { requestId: 'inv-1', profiles: ['default', 'nobody', 'stale'], regions: ['us-east-1', 'us-west-2', 'ap-south-1'] },
      peer.call(),
    );
    const progress = peer.events.filter((e) => e.event === 'inventory.progress').map((e) => e.payload as { done: number; total: number });
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(progress.every((p) => p.total === 9)).toBe(true);

    expect(scope(first, 'default', 'us-east-1')).toMatchObject({ status: 'ok', instances: BIG, account: '123456789012' });
    expect(scope(first, 'default', 'us-east-1').calls).toBeGreaterThanOrEqual(3 + 3); // three pages of DescribeInstances, and the rest
    expect(scope(first, 'default', 'us-west-2')).toMatchObject({ status: 'ok', instances: 1 });
    expect(scope(first, 'default', 'ap-south-1')).toMatchObject({ status: 'failed', error: { code: 'AwsRegionDisabled' } });
    for (const r of ['us-east-1', 'us-west-2']) expect(scope(first, 'nobody', r)).toMatchObject({ status: 'failed', error: { code: 'AwsAccessDenied' } });
    expect(scope(first, 'nobody', 'ap-south-1').error?.code).toBe('AwsRegionDisabled');
    for (const r of ['us-east-1', 'us-west-2', 'ap-south-1']) expect(scope(first, 'stale', r)).toMatchObject({ status: 'failed', error: { code: 'AwsCredentialsExpired' } });
    expect(first.instances).toHaveLength(BIG + 1);
  });

  it('gives each instance its name, addresses, OS user and route', () => {
    const byName = new Map(first.instances.map((i) => [i.name, i]));
    const n0 = byName.get('node-0')!;
    expect(n0).toMatchObject({ region: 'us-east-1', az: 'us-east-1a', state: 'running', reach: 'public', defaultUser: 'ubuntu', imageName: UBUNTU, tags: { Name: 'node-0', env: 'dev' } });
    expect(n0.publicIp).toBe('54.0.0.0');
    const n1 = byName.get('node-1')!;
    expect(n1).toMatchObject({ reach: 'endpoint', defaultUser: 'ec2-user', publicIp: '', platform: 'Linux/UNIX' });
    expect(n1.endpointId).toMatch(/^eice-/);
    expect(byName.get('west-1')).toMatchObject({ reach: 'none', endpointId: null });
    expect(first.endpoints).toHaveLength(1);
    expect(first.vpcs.map((v) => v.name).sort()).toContain('big');
    expect(first.subnets.find((s) => s.id === 'subnet-0000000000000e001')).toMatchObject({ vpcId: 'vpc-0000000000000e001', az: 'us-east-1a' });
  });

  it('caches the inventory on disk without any credential', async () => {
    await aws.inventory.cache.flushed();
    const text = await readFile(join(world.dir, 'keyless', 'inventory.json'), 'utf8');
    const secrets = [world.sim.principals[0]!.secretAccessKey, ...(await readFile(world.credentialsFile, 'utf8')).matchAll(/(?:secret_access_key|session_token) = (\S+)/g)].map((m) =>
      typeof m === 'string' ? m : m[1]!,
    );
    for (const s of secrets) expect(text).not.toContain(s);
    expect(JSON.parse(text)).toMatchObject({ format: 'keyless-inventory', version: 1, last: { profiles: ['default', 'nobody', 'stale'] } });
    // A new process (a fresh service) reads it back without a Describe call.
    const again = createAwsServices({ home: join(world.dir, 'keyless'), log: silentLogger, prompts: new Prompts(), backgroundRefreshMs: 0 });
    try {
      const cached = await again.handlers['inventory.get']({}, fakePeer().call());
      expect(cached?.instances).toHaveLength(BIG + 1);
    } finally {
      again.dispose();
    }
  });

  it('a repeat refresh knows its AMI names already: no DescribeImages call, even when DescribeImages would fail', async () => {
    // A fresh service, so the names can only come from the cached snapshot on disk.
    const again = createAwsServices({ home: join(world.dir, 'keyless'), log: silentLogger, prompts: new Prompts(), backgroundRefreshMs: 0 });
    world.sim.admin.setErrorRatio('DescribeImages', 1);
    try {
      const s = await again.handlers['inventory.refresh']({ requestId: 'inv-images', profiles: ['default'], regions: ['us-east-1'] }, fakePeer().call());
      expect(scope(s, 'default', 'us-east-1')).toMatchObject({ status: 'ok', instances: BIG, calls: scope(first, 'default', 'us-east-1').calls - 1 });
      expect(scope(s, 'default', 'us-east-1').warning).toBeUndefined();
      expect(s.instances.find((i) => i.name === 'node-0')).toMatchObject({ imageName: UBUNTU, defaultUser: 'ubuntu' });
    } finally {
      world.sim.admin.resetFaults();
      again.dispose();
    }
  });

  it('retries through throttling', async () => {
    world.sim.admin.setThrottle('DescribeInstances', 0.3);
    try {
      const s = await aws.handlers['inventory.refresh']({ requestId: 'inv-2', profiles: ['default'], regions: ['us-west-2'] }, fakePeer().call());
      expect(scope(s, 'default', 'us-west-2')).toMatchObject({ status: 'ok', instances: 1 });
    } finally {
      world.sim.admin.resetFaults();
    }
  });

  it('throttled beyond retries: marked, and the last good instances of that scope are kept with their age', async () => {
    world.sim.admin.setThrottle('DescribeInstances', 1);
    try {
      const before = scope(await aws.inventory.cache.load().then((c) => c!.snapshot), 'default', 'us-west-2');
      const s = await aws.handlers['inventory.refresh']({ requestId: 'inv-3', profiles: ['default'], regions: ['us-west-2'] }, fakePeer().call());
      const after = scope(s, 'default', 'us-west-2');
      expect(after).toMatchObject({ status: 'failed', error: { code: 'AwsThrottled', retryable: true }, instances: 1, dataAt: before.dataAt });
      expect(s.instances.filter((i) => i.region === 'us-west-2')).toHaveLength(1);
      // Scopes not asked for are left as they were.
      expect(scope(s, 'default', 'us-east-1')).toEqual(scope(first, 'default', 'us-east-1'));
      expect(s.instances).toHaveLength(BIG + 1);
    } finally {
      world.sim.admin.resetFaults();
    }
  });

  it('every enabled region when none are named (DescribeRegions)', async () => {
    const peer = fakePeer();
    const s = await aws.handlers['inventory.refresh']({ requestId: 'inv-4', profiles: ['default'] }, peer.call());
    const last = peer.events.filter((e) => e.event === 'inventory.progress').pop()!.payload as { done: number; total: number };
    expect(last).toMatchObject({ done: 2, total: 2 });
    expect(scope(s, 'default', 'us-west-2').status).toBe('ok');
  });

  it('can be cancelled, and the requests in flight are really aborted', async () => {
    world.sim.admin.setLatency('DescribeInstances', 20_000);
    const abandonedBefore = world.sim.admin.abandonedRequests();
    try {
      const ac = new AbortController();
      const p = aws.handlers['inventory.refresh']({ requestId: 'inv-5', profiles: ['default'], regions: ['us-west-2'] }, fakePeer().call(ac.signal));
      setTimeout(() => ac.abort(), 200);
      await expect(p).rejects.toMatchObject({ code: 'Cancelled' });
      // The simulator holds DescribeInstances for 20 s: only a client that hangs up ends it sooner.
      await expect.poll(() => world.sim.admin.abandonedRequests() - abandonedBefore, { timeout: 10_000 }).toBeGreaterThan(0);
    } finally {
      world.sim.admin.resetFaults();
    }
  });
});
