/**
 * A fleet run with `sudo -n` against real sshds and the machine's real sudo: the host whose login
 * user sudoers lets run without a password runs the command as root; the host whose user it does
 * not gets "sudo would not run it without a password" at once — never a hang at a prompt, never the
 * per-host timeout.
 *
 * The simulated instances' login users are real accounts on this machine (the simulator creates
 * them when it runs as root), so one sudoers rule for one of them is written for the test's
 * duration and removed afterwards, checked with visudo first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FleetHost, HostExport } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { Backend } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { connectInMemory } from '../../support/memory-transport';
import { useSimulatorAws } from '../support/simulator-aws';

const SUDOERS_DROP_IN = '/etc/sudoers.d/keyless-fleet-sudo-test';
const ALLOWED = 'ec2-user';
const NOT_ALLOWED = 'ubuntu';

function whyNot(): string | undefined {
  if (sshdMissing) return sshdMissing;
  if (process.getuid?.() !== 0) return 'the test writes a sudoers rule and the simulator creates login users: it must run as root';
  if (!existsSync('/usr/bin/sudo') || !existsSync('/etc/sudoers.d')) return 'sudo is not installed (apt-get install sudo)';
  return undefined;
}
const skip = whyNot();
if (skip) console.warn(`Skipping the fleet sudo test: ${skip}`);

const REGION = 'us-east-1';
const ids = { allowed: 'i-0f1ee5000000000a1', refused: 'i-0f1ee5000000000a2' };

let sim: Simulator;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const savedEnv = { ...process.env };

beforeAll(async () => {
  if (skip) return;
  const rule = join(await mkdtemp(join(tmpdir(), 'keyless-sudoers-')), 'rule');
  await writeFile(rule, `${ALLOWED} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
  execFileSync('visudo', ['-cqf', rule]);
  await writeFile(SUDOERS_DROP_IN, `${ALLOWED} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0f1ee5000000000001', region: REGION, cidr: '10.31.0.0/16', subnets: [{ id: 'subnet-0f1ee5000000000001', availabilityZone: `${REGION}a`, cidr: '10.31.1.0/24' }] }],
      instances: Object.values(ids).map((id, n) => ({
        id,
        region: REGION,
        subnetId: 'subnet-0f1ee5000000000001',
        privateIp: `10.31.1.${10 + n}`,
        publicIp: '127.0.0.1',
        amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
        tags: { Name: `sudo-${n}` },
      })),
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  const ports = new Map(sim.instances().map((i) => [i.id, i.sshPort]));
  const exported: HostExport = {
    format: 'keyless-hosts',
    version: 2,
    groups: [{ id: 'gsudo', name: 'sudo', parentId: null, settings: { profile: 'default', region: REGION }, notes: '' }],
    hosts: [
      { id: 'hallowed', name: 'allowed', instanceId: ids.allowed, osUser: ALLOWED },
      { id: 'hrefused', name: 'refused', instanceId: ids.refused, osUser: NOT_ALLOWED },
    ].map((h) => ({ kind: 'ec2', groupId: 'gsudo', tags: [], notes: '', favourite: false, port: ports.get(h.instanceId)!, portForwards: [], ...h })),
    smartGroups: [],
  };
  await backend.invoke('hosts.import', { json: JSON.stringify(exported) });
}, 300_000);

afterAll(async () => {
  await rm(SUDOERS_DROP_IN, { force: true });
  if (skip) return;
  disconnect?.();
  await main?.close();
  await sim?.stop();
  for (const d of [home, awsDir]) if (d) await rm(d, { recursive: true, force: true });
  process.env = savedEnv;
});

describe.skipIf(!!skip)('a fleet run with sudo -n', () => {
  it('runs as root where sudoers allows it without a password, and says so at once where it would ask for one', async () => {
    const timeoutS = 60;
    const { run } = await backend.invoke('fleet.run', { targets: { groupId: 'gsudo' }, command: 'id -un\nstat -c %a "$0"\nwhoami >&2', sudo: true, timeoutS, concurrency: 10 });
    let hosts: FleetHost[];
    for (const started = Date.now(); ; ) {
      const got = await backend.invoke('fleet.get', { runId: run.runId });
      hosts = got.hosts;
      if (got.run.state !== 'running') break;
      if (Date.now() - started > 150_000) throw new Error('the sudo run did not end');
      await new Promise((r) => setTimeout(r, 200));
    }
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const allowed = byName.get('allowed')!;
    expect([allowed.state, allowed.exitCode], JSON.stringify(allowed)).toEqual(['ok', 0]);
    const out = await backend.invoke('fleet.output', { runId: run.runId, key: allowed.key });
    // Run as root from the login user's file, which stays owner-only (the command may hold a password).
    expect(out.stdout).toBe('root\n600\n');

    const refused = byName.get('refused')!;
    expect(refused.state, JSON.stringify(refused)).toBe('error');
    expect(refused.error?.code).toBe('SudoRefused');
    // Refused by sudo itself, long before the per-host timeout would have ended a prompt.
    expect(refused.durationMs ?? Infinity).toBeLessThan(timeoutS * 1000);
  });

  it('a cancelled run stops its command on the host, root processes and their children too', async () => {
    // Durations nothing else uses, to find these sleeps by.
    const own = `${7000 + (process.pid % 1000)}.${Date.now() % 100000}`;
    const running = (what: string) => spawnSync('pgrep', ['-f', `sleep ${what}`]).status === 0;
    const { run } = await backend.invoke('fleet.run', { targets: { hostIds: ['hallowed'] }, command: `sh -c 'sleep 1${own}' &\nsleep ${own}`, sudo: true, timeoutS: 600, concurrency: 1 });
    await vi.waitFor(() => expect(running(own) && running(`1${own}`)).toBe(true), { timeout: 30_000, interval: 100 });
    await backend.invoke('fleet.cancel', { runId: run.runId });
    // Without a terminal sshd signals nobody when a channel closes: the wrapper ends the command's group.
    await vi.waitFor(() => expect([running(own), running(`1${own}`)]).toEqual([false, false]), { timeout: 5000, interval: 100 });
    await vi.waitFor(async () => expect((await backend.invoke('fleet.get', { runId: run.runId })).run.state).toBe('cancelled'), { timeout: 10_000, interval: 100 });
  }, 60_000);
});
