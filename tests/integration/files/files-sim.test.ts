/**
 * Files on EC2 instances through the simulator: real SigV4 and IAM, a key pushed per connection,
 * the openTunnel WebSocket, and each instance a real sshd with its internal-sftp. Direct and
 * through the endpoint; a 1 GiB file up and down; a tunnel cut under a transfer.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TransferInfo } from '../../../electron/contract';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { b64, finished, followTransfers, listAll, sha256File, writeSeeded } from './support';

const REGION = 'us-west-2';
const PUBLIC = 'i-0f1e2d3c4b5a6f001';
const PRIVATE = 'i-0f1e2d3c4b5a6f002';
const GiB = 1024 * 1024 * 1024;

let sim: Simulator;
let home: string;
let awsDir: string;
let work: string;
let downloads: string;
let main: MainBackend;
let backend: Backend;
let seen: Map<string, TransferInfo[]>;
let nextPick: string[] = [];
const savedEnv = { ...process.env };
let nextRequest = 1;
const rid = () => `s${nextRequest++}`;

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0f1e2d3c4b5a6f0a1', region: REGION, cidr: '10.8.0.0/16', subnets: [{ id: 'subnet-0f1e2d3c4b5a6f011', availabilityZone: `${REGION}a`, cidr: '10.8.1.0/24' }] }],
      instances: [
        { id: PUBLIC, region: REGION, subnetId: 'subnet-0f1e2d3c4b5a6f011', publicIp: '127.0.0.1', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        { id: PRIVATE, region: REGION, subnetId: 'subnet-0f1e2d3c4b5a6f011', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [{ id: 'eice-0f1e2d3c4b5a6f0e1', region: REGION, subnetId: 'subnet-0f1e2d3c4b5a6f011' }],
    },
  });
  awsDir = await mkdtemp(join(tmpdir(), 'keyless-aws-'));
  const files = await sim.writeAwsConfig(awsDir, { region: REGION, sso: false });
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
  delete process.env.AWS_PROFILE;
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  work = await mkdtemp(join(tmpdir(), 'keyless-files-sim-'));
  downloads = join(work, 'downloads');
  await mkdir(downloads);
  main = await createBackend({
    home,
    transport: 'web',
    version: 't',
    systemLocale: 'en',
    log: silentLogger,
    userKnownHosts: [],
    awsCredentials: new SdkCredentialSource(),
    connectionLingerMs: 2000,
    downloadsFolder: downloads,
    chooseFiles: async () => nextPick,
  });
  const { bridge } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  seen = followTransfers(backend);
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  await main?.close();
  await sim?.stop();
  await Promise.all([home, awsDir, work].map((d) => d && rm(d, { recursive: true, force: true })));
  process.env = savedEnv;
});

const sshPort = (id: string) => sim.instances().find((i) => i.id === id)!.sshPort!;
const direct = () => ({ region: REGION, instanceId: PUBLIC, connectionType: 'direct' as const, port: sshPort(PUBLIC) });
const eice = () => ({ region: REGION, instanceId: PRIVATE, connectionType: 'eice' as const });

/** The instance's login folder as the Files view opens it. */
async function homeOf(target: ReturnType<typeof direct> | ReturnType<typeof eice>): Promise<{ browserId: string; home: Buffer }> {
  const opened = await backend.invoke('files.open', { requestId: rid(), target });
  return { browserId: opened.browserId, home: Buffer.from(opened.home, 'base64') };
}

async function upload(target: ReturnType<typeof direct> | ReturnType<typeof eice>, paths: string[], dir: Buffer): Promise<string> {
  nextPick = paths;
  const { picks } = await backend.invoke('files.pick', { folders: false });
  return (await backend.invoke('files.upload', { target, dir: dir.toString('base64'), picks: picks!.map((p) => p.pick) })).transferId;
}

describe.skipIf(sshdMissing)('Files on EC2 instances through the simulator', () => {
  it('direct: a Files view shares the terminal tab’s connection; a file goes up and comes down equal', async () => {
    const { sessionId } = await backend.invoke('session.open', { requestId: rid(), cols: 80, rows: 24, target: direct() });
    const { browserId, home: remoteHome } = await homeOf(direct());
    // One connection to the instance, lent twice: the terminal's and the Files view's.
    const conns = main.pool.connections().filter((c) => c.route.kind === 'direct');
    expect(conns).toHaveLength(1);
    expect(conns[0]!.refs).toBe(2);
    const pushes = sim.admin.trail().filter((e) => e.eventName === 'SendSSHPublicKey' && !e.errorCode).length;
    const src = join(work, 'direct.bin');
    const hash = await writeSeeded(src, 64 * 1024 * 1024, 'direct');
    const up = await finished(seen, await upload(direct(), [src], remoteHome));
    expect(up.state).toBe('done');
    const { entries } = await listAll(backend, browserId, { path: b64(remoteHome) }, rid());
    expect(entries.find((e) => e.display === 'direct.bin')).toMatchObject({ kind: 'file', size: 64 * 1024 * 1024, owner: 'ec2-user' });
    await rm(src);
    const down = await finished(seen, (await backend.invoke('files.download', { target: direct(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/direct.bin')]))] })).transferId);
    expect(down.state).toBe('done');
    expect(await sha256File(join(downloads, 'direct.bin'))).toBe(hash);
    // The transfers rode the same connection: no key was pushed for them.
    expect(sim.admin.trail().filter((e) => e.eventName === 'SendSSHPublicKey' && !e.errorCode).length).toBe(pushes);
    await backend.invoke('files.delete', { browserId, requestId: rid(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/direct.bin')]))] });
    await backend.invoke('files.close', { browserId });
    await backend.invoke('session.close', { sessionId });
    await rm(join(downloads, 'direct.bin'));
  }, 300_000);

  it('EICE: a tunnel cut under a download is made again and the file goes on from its offset', async () => {
    const { home: remoteHome, browserId } = await homeOf(eice());
    const src = join(work, 'cut.bin');
    const hash = await writeSeeded(src, 96 * 1024 * 1024, 'cut');
    expect((await finished(seen, await upload(eice(), [src], remoteHome), 300_000)).state).toBe('done');
    await backend.invoke('files.close', { browserId });
    // Let the pool close the connection, so the download opens a tunnel that will be cut.
    await vi.waitFor(() => expect(main.pool.connections().filter((c) => c.route.kind === 'eice')).toHaveLength(0), { timeout: 20_000 });
    sim.admin.dropTunnelsAfter({ bytes: 40 * 1024 * 1024 });
    const { transferId } = await backend.invoke('files.download', { target: eice(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/cut.bin')]))] });
    await vi.waitFor(() => expect(seen.get(transferId)?.some((t) => t.state === 'reconnecting')).toBe(true), { timeout: 120_000, interval: 20 });
    sim.admin.resetFaults();
    const done = await finished(seen, transferId, 300_000);
    expect(done).toMatchObject({ state: 'done' });
    expect(done.resumes).toBeGreaterThanOrEqual(1);
    const states = seen.get(transferId)!;
    const cut = states.findIndex((t) => t.state === 'reconnecting');
    expect(states[cut]!.bytes).toBeGreaterThan(0);
    expect(Math.min(...states.slice(cut).map((t) => t.bytes))).toBe(states[cut]!.bytes);
    expect(await sha256File(join(downloads, 'cut.bin'))).toBe(hash);
    await rm(join(downloads, 'cut.bin'));
    const again = await homeOf(eice());
    await backend.invoke('files.delete', { browserId: again.browserId, requestId: rid(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/cut.bin')]))] });
    await backend.invoke('files.close', { browserId: again.browserId });
  }, 300_000);

  it('EICE: 1 GiB up and down, hashes equal', async () => {
    const { home: remoteHome, browserId } = await homeOf(eice());
    await backend.invoke('files.close', { browserId });
    const src = join(work, 'one-gib.bin');
    const hash = await writeSeeded(src, GiB, 'gib');
    const t0 = performance.now();
    const up = await finished(seen, await upload(eice(), [src], remoteHome), 900_000);
    const upS = (performance.now() - t0) / 1000;
    expect(up.state).toBe('done');
    await rm(src);
    const t1 = performance.now();
    const down = await finished(seen, (await backend.invoke('files.download', { target: eice(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/one-gib.bin')]))] })).transferId, 900_000);
    const downS = (performance.now() - t1) / 1000;
    expect(down.state).toBe('done');
    expect((await stat(join(downloads, 'one-gib.bin'))).size).toBe(GiB);
    expect(await sha256File(join(downloads, 'one-gib.bin'))).toBe(hash);
    console.info(`1 GiB through the simulated endpoint: up ${upS.toFixed(1)} s, down ${downS.toFixed(1)} s`);
    await rm(join(downloads, 'one-gib.bin'));
    const again = await homeOf(eice());
    await backend.invoke('files.delete', { browserId: again.browserId, requestId: rid(), paths: [b64(Buffer.concat([remoteHome, Buffer.from('/one-gib.bin')]))] });
  }, 1_800_000);
});
