// The audit's search against the AWS simulator: two profiles × two regions read at once, each
// event once, the filters exact (host — its pushes and the tunnels to its address —, person, OS
// user), a profile that may not read CloudTrail reported beside the others, and the review.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HostTree, InventorySnapshot } from '../../../electron/contract';
import { createAuditServices } from '../../../electron/main/audit/audit-handlers';
import { silentLogger } from '../../../electron/main/base/log';
import { ProfileCredentials } from '../../../electron/main/profiles/profile-credentials';
import { ACCOUNT_ID, demoFleet, startSimulator, type Simulator } from '../../sim/index';
import { presignOpenTunnel } from '../../sim/support';
import { fakePeer } from '../profiles/fake-peer';

const AWS_ENV = ['AWS_PROFILE', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_CLOUDTRAIL', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];
const saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM audit@test';
const APP = 'i-0a1b2c3d4e5f00002'; // us-east-1, 10.0.2.20, behind eice-…01
const DB = 'i-0a1b2c3d4e5f00003'; // us-east-1
const STAGING = 'i-0a1b2c3d4e5f00005'; // us-west-2
/** The default profile's user (the simulator's first principal). */
let ADMIN = '';
const OPERATOR = `arn:aws:iam::${ACCOUNT_ID}:user/operator`;

let sim: Simulator;
let dir: string;
const credentials = new ProfileCredentials({ log: silentLogger });
const tree: HostTree = {
  groups: [{ id: 'g1', name: 'prod', parentId: null, settings: { profile: 'operator', region: 'us-east-1' }, notes: '' }],
  hosts: [
    { kind: 'ec2', id: 'h-app', name: 'app-1', groupId: 'g1', instanceId: APP, port: 22, portForwards: [], tags: [], notes: '', favourite: false, connectionType: 'eice' },
    { kind: 'ssh', id: 'h-box', name: 'box', groupId: null, host: 'box.example.com', port: 22, user: 'me', auth: { type: 'agent' }, tags: [], notes: '', favourite: false },
  ],
  recents: [],
  smartGroups: [],
};
/** What the last inventory knew of app-1: its private address, which OpenTunnel's record names. */
const inventory = {
  fetchedAt: 1,
  scopes: [],
  instances: [{ profile: 'operator', account: ACCOUNT_ID, region: 'us-east-1', id: APP, name: 'app-1', state: 'running', type: 't3.small', az: 'us-east-1a', vpcId: 'vpc-0a1b2c3d4e5f60001', subnetId: 'subnet-0a1b2c3d4e5f60012', privateIp: '10.0.2.20', publicIp: '', imageId: 'ami-1', imageName: '', platform: 'Linux/UNIX', defaultUser: 'ec2-user', reach: 'endpoint', endpointId: 'eice-0a1b2c3d4e5f00001', launchedAt: null, tags: {} }],
  endpoints: [],
  vpcs: [],
  subnets: [],
} as InventorySnapshot;

const audit = () =>
  createAuditServices({ home: join(dir, 'keyless'), log: silentLogger, hosts: { tree: async () => tree }, inventory: async () => inventory, credentials: (p) => credentials.credentials(p) });

async function push(profile: string, region: string, instanceId: string, osUser: string): Promise<string> {
  const client = new EC2InstanceConnectClient({ region, credentials: () => credentials.credentials(profile) });
  try {
    await client.send(new SendSSHPublicKeyCommand({ InstanceId: instanceId, InstanceOSUser: osUser, SSHPublicKey: KEY }));
    return 'ok';
  } catch (err) {
    return (err as Error).name;
  } finally {
    client.destroy();
  }
}

/** Opens an EICE tunnel as `who` to a private address and closes it: CloudTrail records OpenTunnel. */
async function tunnel(who: { accessKeyId: string; secretAccessKey: string }, privateIp: string): Promise<void> {
  const ep = sim.endpoints().find((e) => e.id === 'eice-0a1b2c3d4e5f00001')!;
  const signed = new URL(await presignOpenTunnel(who, 'us-east-1', ep.dnsName, { endpointId: ep.id, privateIp, port: 22 }));
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`${sim.tunnelEndpointFor(signed.hostname)}${signed.pathname}${signed.search}`, { headers: { host: signed.host } });
    ws.on('open', () => ws.close());
    ws.on('unexpected-response', () => resolve());
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
  });
}

const ids = (events: { eventId: string }[]) => events.map((e) => e.eventId);

beforeAll(async () => {
  const fleet = demoFleet();
  fleet.principals!.push({
    accessKeyId: 'AKIASIMNOTRAIL000001',
    secretAccessKey: 'sim/notrail/secret/key/0000000000000000000',
    arn: `arn:aws:iam::${ACCOUNT_ID}:user/notrail`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: '*' }] }],
    profile: 'notrail',
  });
  sim = await startSimulator({ fleet, noSshd: true });
  ADMIN = sim.principals[0]!.arn;
  dir = await mkdtemp(join(tmpdir(), 'keyless-audit-search-'));
  const files = await sim.writeAwsConfig(join(dir, 'aws'));
  for (const k of AWS_ENV) delete process.env[k];
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;

  // The period's activity, in two regions.
  expect(await push('operator', 'us-east-1', APP, 'ec2-user')).toBe('ok');
  expect(await push('operator', 'us-east-1', APP, 'ubuntu')).toBe('AccessDeniedException');
  expect(await push('default', 'us-east-1', APP, 'root')).toBe('ok');
  expect(await push('default', 'us-east-1', DB, 'ubuntu')).toBe('ok');
  expect(await push('operator', 'us-west-2', STAGING, 'ec2-user')).toBe('ok');
  expect(await push('default', 'us-west-2', STAGING, 'root')).toBe('ok');
  await tunnel(sim.principals.find((p) => p.arn === OPERATOR)!, '10.0.2.20');
  await tunnel(sim.principals[0]!, '10.0.3.30');
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  await sim?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const search = (args: Record<string, unknown>) =>
  audit().handlers['audit.search']({ requestId: 's', profiles: ['default', 'operator'], regions: ['us-east-1', 'us-west-2'], ...args } as never, fakePeer().call());

describe('the audit’s search over several profiles and regions', () => {
  it('reads every profile × region, keeps each event once (one account, one trail) newest first, and reviews the period', async () => {
    const r = await search({});
    expect(r.scopes.map((s) => [s.profile, s.region, s.status, s.read])).toEqual([
      ['default', 'us-east-1', 'ok', 6],
      ['default', 'us-west-2', 'ok', 2],
      ['operator', 'us-east-1', 'ok', 6],
      ['operator', 'us-west-2', 'ok', 2],
    ]);
    expect(r.events).toHaveLength(8);
    expect(new Set(ids(r.events)).size).toBe(8);
    for (let i = 1; i < r.events.length; i++) expect(r.events[i - 1]!.time).toBeGreaterThanOrEqual(r.events[i]!.time);
    expect(r.review).toMatchObject({ total: 8, allowed: 7, refused: 1, root: 2 });
    expect(r.review.people.map((p) => [p.user, p.total, p.refused, p.root])).toEqual([
      // As many each: by name.
      [OPERATOR, 4, 1, 0],
      [ADMIN, 4, 0, 2],
    ]);
    expect(r.review.people.find((p) => p.user === OPERATOR)!.hosts).toEqual(['eice-0a1b2c3d4e5f00001 → 10.0.2.20', APP, STAGING]);
    expect(r.review.hosts.find((h) => h.host === APP)).toEqual({ host: APP, total: 3, refused: 1, root: 1, people: [OPERATOR, ADMIN] });
  });

  it('who pushed keys for root: exactly the two root pushes, in both regions', async () => {
    const r = await search({ osUser: 'root' });
    expect(r.events.map((e) => [e.user, e.instanceId, e.region, e.osUser])).toEqual([
      [ADMIN, STAGING, 'us-west-2', 'root'],
      [ADMIN, APP, 'us-east-1', 'root'],
    ]);
  });

  it('who reached this host, from the saved host: its pushes (allowed and refused) and the tunnel to its address, nothing else', async () => {
    const r = await search({ hostId: 'h-app' });
    expect(r.host).toEqual({ name: 'app-1', instanceId: APP, privateIp: '10.0.2.20' });
    expect(r.events.map((e) => [e.eventName, e.user, e.osUser, e.errorCode, e.targetIp ?? null])).toEqual([
      ['OpenTunnel', OPERATOR, null, null, '10.0.2.20'],
      ['SendSSHPublicKey', ADMIN, 'root', null, null],
      ['SendSSHPublicKey', OPERATOR, 'ubuntu', 'AccessDeniedException', null],
      ['SendSSHPublicKey', OPERATOR, 'ec2-user', null, null],
    ]);
    // By instance id: the same, its address from the inventory.
    expect(ids((await search({ instanceId: APP })).events)).toEqual(ids(r.events));
    // An instance the inventory has not seen: its pushes only (the tunnel to 10.0.3.30 names no instance).
    expect((await search({ instanceId: DB })).events.map((e) => [e.eventName, e.user, e.osUser])).toEqual([['SendSSHPublicKey', ADMIN, 'ubuntu']]);
  });

  it('by person (the whole ARN) and OS user together; refused only', async () => {
    const r = await search({ user: OPERATOR, osUser: 'ec2-user' });
    expect(r.events.map((e) => [e.instanceId, e.region])).toEqual([
      [STAGING, 'us-west-2'],
      [APP, 'us-east-1'],
    ]);
    expect((await search({ user: `arn:aws:iam::${ACCOUNT_ID}:user/op` })).events).toEqual([]);
    expect((await search({ refusedOnly: true })).events.map((e) => [e.user, e.osUser, e.errorCode])).toEqual([[OPERATOR, 'ubuntu', 'AccessDeniedException']]);
  });

  it('a profile that may not read CloudTrail is reported with its error; the others still answer', async () => {
    const r = await search({ profiles: ['notrail', 'operator'], regions: ['us-east-1'] });
    expect(r.scopes.map((s) => [s.profile, s.status, s.error?.code ?? null])).toEqual([
      ['notrail', 'failed', 'AwsAccessDenied'],
      ['operator', 'ok', null],
    ]);
    expect(r.events).toHaveLength(6);
  });

  it('asks every profile × region at once: four scopes at 400 ms each take far less than four times that', async () => {
    sim.admin.setLatency('LookupEvents', 400);
    try {
      const t0 = Date.now();
      const r = await search({});
      const took = Date.now() - t0;
      expect(r.scopes.every((s) => s.status === 'ok' && s.ms >= 400)).toBe(true);
      expect(took).toBeLessThan(1200);
    } finally {
      sim.admin.setLatency('LookupEvents', 0);
    }
  });

  it('a saved host that is not EC2, or gone, is a clear error', async () => {
    await expect(search({ hostId: 'h-box' })).rejects.toMatchObject({ code: 'InvalidArguments' });
    await expect(search({ hostId: 'h-gone' })).rejects.toMatchObject({ code: 'NotFound' });
  });
});
