/**
 * Files to many hosts through the whole backend (its contract over the in-memory transport, the
 * renderer's Backend client) against the AWS simulator: 6 instances, each a real sshd, 4 behind an
 * Instance Connect Endpoint and 2 reached directly; one whose key push IAM denies, one stopped.
 *
 * The simulated instances' sshds all run on this machine, so they share one file system: the file
 * is checked once on disk, and each host's part is shown by its own sshd's log (an SFTP session
 * a login accepted there) and by its per-host result.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetUploadHost, FleetUploadSummary, HostExport } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { Backend } from '../../../renderer/lib/backend/backend';
import { ACCOUNT_ID, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { connectInMemory } from '../../support/memory-transport';
import { useSimulatorAws } from '../support/simulator-aws';

if (sshdMissing) console.warn(`Skipping the fleet upload integration test: ${sshdMissing}`);

const REGION = 'us-east-1';
const EICE = 'eice-0f1ee7000000000u1';
const USER = { accessKeyId: 'AKIASIMUPLOADUSER001', secretAccessKey: 'upload/user/secret/key/0000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/upload`, profile: 'upload' };
const instanceId = (n: number) => `i-0f1ee8${n.toString(16).padStart(11, '0')}`;
type Fate = 'ok' | 'denied' | 'stopped';
const planned: Array<{ n: number; id: string; direct: boolean; fate: Fate }> = [
  { n: 0, direct: false, fate: 'ok' },
  { n: 1, direct: false, fate: 'ok' },
  { n: 2, direct: false, fate: 'denied' },
  { n: 3, direct: false, fate: 'stopped' },
  { n: 4, direct: true, fate: 'ok' },
  { n: 5, direct: true, fate: 'ok' },
].map((p) => ({ ...p, id: instanceId(p.n), fate: p.fate as Fate }));

let sim: Simulator;
let home: string;
let awsDir: string;
let work: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const savedEnv = { ...process.env };
const hostEvents: Array<{ uploadId: string; host: FleetUploadHost }> = [];

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0f1ee8000000000001', region: REGION, cidr: '10.30.0.0/16', subnets: [{ id: 'subnet-0f1ee8000000000001', availabilityZone: `${REGION}a`, cidr: '10.30.1.0/24' }] }],
      instances: planned.map((p) => ({
        id: p.id,
        region: REGION,
        subnetId: 'subnet-0f1ee8000000000001',
        privateIp: `10.30.1.${10 + p.n}`,
        ...(p.direct ? { publicIp: '127.0.0.1' } : {}),
        ...(p.fate === 'stopped' ? { state: 'stopped' as const } : {}),
        amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
        tags: { Name: `up-${p.n}` },
      })),
      endpoints: [{ id: EICE, region: REGION, subnetId: 'subnet-0f1ee8000000000001' }],
      principals: [
        {
          ...USER,
          policies: [
            {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: '*', Resource: '*' },
                { Effect: 'Deny', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: planned.filter((p) => p.fate === 'denied').map((d) => `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${d.id}`) },
              ],
            },
          ],
        },
      ],
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  work = await mkdtemp(join(tmpdir(), 'keyless-fleet-upload-'));
  // The hosts' login user may not be this process's: the folders are theirs to write.
  await chmod(work, 0o755);
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  backend.on('fleetUpload.host', (e) => hostEvents.push(e));
  const ports = new Map(sim.instances().map((i) => [i.id, i.sshPort]));
  const exported: HostExport = {
    format: 'keyless-hosts',
    version: 2,
    groups: [{ id: 'gup', name: 'upload', parentId: null, settings: { profile: 'upload', region: REGION }, notes: '' }],
    hosts: planned.map((p) => ({
      kind: 'ec2',
      id: `h${p.n}`,
      name: `up-${p.n}`,
      groupId: 'gup',
      tags: [],
      notes: '',
      favourite: false,
      instanceId: p.id,
      port: p.direct ? ports.get(p.id)! : 22,
      portForwards: [],
    })),
    smartGroups: [],
  };
  await backend.invoke('hosts.import', { json: JSON.stringify(exported) });
}, 300_000);

afterAll(async () => {
  if (sshdMissing) return;
  disconnect?.();
  await main?.close();
  await sim?.stop();
  for (const d of [home, awsDir, work]) if (d) await rm(d, { recursive: true, force: true });
  process.env = savedEnv;
});

/** Logins its own sshd accepted. */
const logins = (id: string) => (sim.sshdLog(id).match(/Accepted publickey for /g) ?? []).length;

async function waitFor(uploadId: string): Promise<{ upload: FleetUploadSummary; hosts: FleetUploadHost[] }> {
  const started = Date.now();
  for (;;) {
    const got = await backend.invoke('fleetUpload.get', { uploadId });
    if (got.upload.state !== 'running') return got;
    if (Date.now() - started > 120_000) throw new Error(`upload ${uploadId} still running: ${JSON.stringify(got.upload.counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!!sshdMissing)('files to many hosts against the simulator', () => {
  it('sends a file to every host of a group: byte-identical with its mode on the good hosts, the denied and the stopped one named, nothing half-written', async () => {
    const local = join(work, 'local');
    await mkdir(local);
    const payload = randomBytes(700 * 1024 + 13);
    const source = join(local, 'payload.bin');
    await writeFile(source, payload);
    await chmod(source, 0o750);
    const dest = join(work, 'dest');
    await mkdir(dest);
    await chmod(dest, 0o777);
    const before = new Map(planned.map((p) => [p.id, logins(p.id)]));

    const started = await backend.invoke('fleetUpload.start', { targets: { groupId: 'gup' }, localPath: source, remoteDir: dest });
    expect(started.upload).toMatchObject({ name: 'payload.bin', kind: 'file', totalBytes: payload.length, fileCount: 1 });
    // Reached as a fleet run is: 3 through the endpoint, 2 direct, the stopped one not at all.
    expect(started.upload.reach).toMatchObject({ total: 6, endpoints: [{ endpointId: EICE, hosts: 3 }], direct: 2, unreachable: 1 });
    const { upload, hosts } = await waitFor(started.upload.uploadId);

    expect(upload.state).toBe('done');
    expect(upload.counts).toEqual({ total: 6, queued: 0, running: 0, ok: 4, error: 2, cancelled: 0 });
    const byName = new Map(hosts.map((h) => [h.name, h]));
    for (const p of planned) {
      const h = byName.get(`up-${p.n}`)!;
      if (p.fate === 'ok') {
        expect([h.state, h.bytes, h.files, h.error], h.name).toEqual(['ok', payload.length, 1, undefined]);
        // Its own sshd let Keyless in for it.
        expect(logins(p.id), h.name).toBeGreaterThan(before.get(p.id)!);
      } else {
        // The terminal's words: AWS's AccessDenied for the push, the stopped instance said before dialling.
        expect(h.state, h.name).toBe('error');
        expect(h.error?.code, h.name).toMatch(p.fate === 'denied' ? /^(KeyPushRejected|AwsAccessDenied)$/ : /^InstanceNotRunning$/);
        expect(logins(p.id), h.name).toBe(before.get(p.id)!);
      }
    }
    // The renderer heard each host end.
    const lastOf = new Map(hostEvents.filter((e) => e.uploadId === upload.uploadId).map((e) => [e.host.name, e.host.state]));
    expect([...lastOf.values()].sort()).toEqual(['error', 'error', 'ok', 'ok', 'ok', 'ok']);

    // Byte-identical, its mode kept, and no temporary name left beside it.
    expect((await readFile(join(dest, 'payload.bin'))).equals(payload)).toBe(true);
    expect((await stat(join(dest, 'payload.bin'))).mode & 0o777).toBe(0o750);
    expect(await readdir(dest)).toEqual(['payload.bin']);

    // Audited: who, what, where, and each host's end.
    let audit: Array<{ kind: string; uploadId: string; remoteDir: string; hosts: Array<{ name: string; state: string; errorCode: string | null; bytes: number }> }> = [];
    for (let i = 0; i < 50 && !audit.some((a) => a.uploadId === upload.uploadId); i++) {
      audit = (await readFile(join(home, 'fleet-uploads.jsonl'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as (typeof audit)[number]);
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = audit.find((a) => a.uploadId === upload.uploadId)!;
    expect(line).toMatchObject({ kind: 'fleetUpload', remoteDir: dest });
    expect(line.hosts.filter((h) => h.state === 'ok').map((h) => h.name).sort()).toEqual(['up-0', 'up-1', 'up-4', 'up-5']);
  }, 180_000);

  it('sends a folder to a selection; a host whose folder does not exist says so and the others go on', async () => {
    const tree = join(work, 'local', 'conf.d');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'a.conf'), 'alpha\n');
    await writeFile(join(tree, 'sub', 'b.sh'), '#!/bin/sh\necho b\n');
    await chmod(join(tree, 'sub', 'b.sh'), 0o755);
    const dest = join(work, 'dest2');
    await mkdir(dest);
    await chmod(dest, 0o777);
    const { upload: u } = await backend.invoke('fleetUpload.start', { targets: { hostIds: ['h0', 'h4'] }, localPath: tree, remoteDir: dest });
    const { upload, hosts } = await waitFor(u.uploadId);
    expect(upload).toMatchObject({ kind: 'dir', fileCount: 2, counts: { ok: 2, error: 0 } });
    expect(hosts.map((h) => [h.name, h.state, h.files])).toEqual([
      ['up-0', 'ok', 2],
      ['up-4', 'ok', 2],
    ]);
    expect(await readFile(join(dest, 'conf.d', 'a.conf'), 'utf8')).toBe('alpha\n');
    expect((await stat(join(dest, 'conf.d', 'sub', 'b.sh'))).mode & 0o777).toBe(0o755);

    // A folder that is not there: the host's error names it; nothing is made.
    const { upload: missing } = await backend.invoke('fleetUpload.start', { targets: { hostIds: ['h1'] }, localPath: tree, remoteDir: join(work, 'nowhere') });
    const after = await waitFor(missing.uploadId);
    expect(after.hosts[0]).toMatchObject({ name: 'up-1', state: 'error' });
    expect(after.hosts[0]!.error?.code).toMatch(/NotFound/);
    await expect(stat(join(work, 'nowhere'))).rejects.toThrow();
  }, 120_000);

  it('refuses a local path that is missing or a FIFO before any host is dialled, with a typed error', async () => {
    const dialled = planned.map((p) => logins(p.id));
    await expect(backend.invoke('fleetUpload.start', { targets: { groupId: 'gup' }, localPath: join(work, 'no-such-file'), remoteDir: '/tmp' })).rejects.toMatchObject({ error: { code: 'FileNotFound' } });
    const fifo = join(work, 'a-fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(backend.invoke('fleetUpload.start', { targets: { groupId: 'gup' }, localPath: fifo, remoteDir: '/tmp' })).rejects.toMatchObject({ error: { code: 'FileNotRegular', detail: { reason: 'fifo' } } });
    await expect(backend.invoke('fleetUpload.start', { targets: { groupId: 'gup' }, localPath: 'relative/path', remoteDir: '/tmp' })).rejects.toMatchObject({ error: { code: 'InvalidArguments' } });
    expect(planned.map((p) => logins(p.id))).toEqual(dialled);
  });
});
