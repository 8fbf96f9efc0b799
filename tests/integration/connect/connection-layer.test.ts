/**
 * The connection layer through the whole backend: ProxyJump chains of real OpenSSH servers, an
 * EC2 instance behind a plain bastion, a plain host behind an EC2 jump host reached through its
 * endpoint, and the pool's sharing, linger and reconnects, against real sshd and the simulator.
 * Each jump test proves the jump host carried the traffic: its sshd (at LogLevel DEBUG1) logs the
 * direct-tcpip channel to the next hop. OpenSSH's own `ssh -J` to the same hosts must agree.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KeylessError, Prompt } from '../../../electron/contract';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { startSshd, type SshdFixture } from '../support/sshd';
import { receiveOutput } from '../support/terminal-output';

const run = promisify(execFile);
const REGION = 'us-west-2';
/** Reached through its endpoint; the EC2 jump host. */
const PRIVATE = 'i-0c1d2e3f4a5b0c001';
/** Only reachable from "inside": its private address is where a bastion reaches its sshd. */
const BEHIND = 'i-0c1d2e3f4a5b0c002';
const LINGER_MS = 1500;

let sim: Simulator;
let a: SshdFixture;
let b: SshdFixture;
let t: SshdFixture;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const prompts: Prompt[] = [];
const output = new Map<string, string>();
const states: Array<{ sessionId: string; state: string; error?: KeylessError }> = [];
const savedEnv = { ...process.env };
let nextRequest = 1;
const rid = () => `j${nextRequest++}`;

beforeAll(async () => {
  if (sshdMissing) return;
  [a, b, t] = await Promise.all([startSshd({ logLevel: 'DEBUG1' }), startSshd({ logLevel: 'DEBUG1' }), startSshd({ logLevel: 'DEBUG1' })]);
  sim = await startSimulator({
    regions: [REGION],
    sshdLogLevel: 'DEBUG1',
    fleet: {
      vpcs: [{ id: 'vpc-0c1d2e3f4a5b0c0a1', region: REGION, cidr: '10.7.0.0/16', subnets: [{ id: 'subnet-0c1d2e3f4a5b0c011', availabilityZone: `${REGION}a`, cidr: '10.7.1.0/24' }] }],
      instances: [
        { id: PRIVATE, region: REGION, subnetId: 'subnet-0c1d2e3f4a5b0c011', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        // Loopback as its private address: what a bastion on this machine reaches it at.
        { id: BEHIND, region: REGION, subnetId: 'subnet-0c1d2e3f4a5b0c011', privateIp: '127.0.0.1', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [{ id: 'eice-0c1d2e3f4a5b0c0e1', region: REGION, subnetId: 'subnet-0c1d2e3f4a5b0c011' }],
    },
  });
  awsDir = await mkdtemp(join(tmpdir(), 'keyless-aws-'));
  const files = await sim.writeAwsConfig(awsDir, { region: REGION, sso: false });
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
  delete process.env.AWS_PROFILE;
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: LINGER_MS });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  backend.on('prompt', (p) => {
    prompts.push(p);
    if (p.kind === 'hostKeyUnknown') void backend.invoke('prompt.answer', { promptId: p.promptId, value: true });
  });
  receiveOutput(backend, output);
  backend.on('session.state', (s) => states.push(s));
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  disconnect?.();
  await main?.close();
  await Promise.all([sim?.stop(), a?.stop(), b?.stop(), t?.stop()]);
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

const sshPort = (id: string) => sim.instances().find((i) => i.id === id)!.sshPort!;
const pushes = () => sim.admin.trail().filter((e) => e.eventName === 'SendSSHPublicKey' && !e.errorCode).length;
const tunnels = () => sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel' && !e.errorCode).length;
/** The forwarded channels an sshd logged, as `host:port` of their targets. */
const forwardedBy = (log: string) => [...log.matchAll(/server_request_direct_tcpip: originator \S+ port \d+, target (\S+) port (\d+)/g)].map((m) => `${m[1]}:${m[2]}`);

async function saveSsh(name: string, fx: SshdFixture, jumpHost?: string): Promise<string> {
  const h = await backend.invoke('hosts.save', {
    host: { kind: 'ssh', name, host: '127.0.0.1', port: fx.port, user: fx.user, auth: { type: 'keyFile', path: fx.keyPath }, ...(jumpHost ? { jumpHost } : {}) },
  });
  return h.id;
}

async function shellSays(sessionId: string, command: string, expected: string, timeoutMs = 20_000): Promise<void> {
  await backend.invoke('session.write', { sessionId, data: command + '\n' });
  await vi.waitFor(() => expect(output.get(sessionId) ?? '').toContain(expected), { timeout: timeoutMs, interval: 50 });
}

async function errorOf(p: Promise<unknown>): Promise<KeylessError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BackendError) return err.error;
    throw err;
  }
  throw new Error('expected a failure');
}

/** An OpenSSH client config naming each plain server as ssh -J would reach it, with its own key and a known_hosts of its own. */
async function opensshConfig(dir: string): Promise<{ config: string; knownHosts: string }> {
  const knownHosts = join(dir, 'openssh_known_hosts');
  const block = (alias: string, fx: SshdFixture) =>
    [`Host ${alias}`, '  HostName 127.0.0.1', `  Port ${fx.port}`, `  User ${fx.user}`, `  IdentityFile ${fx.keyPath}`, '  IdentitiesOnly yes'].join('\n');
  const config = join(dir, 'openssh_config');
  await writeFile(
    config,
    [block('ja', a), block('jb', b), block('target', t), 'Host *', `  UserKnownHostsFile ${knownHosts}`, '  StrictHostKeyChecking accept-new', '  BatchMode yes', '  LogLevel ERROR', ''].join('\n'),
  );
  return { config, knownHosts };
}

describe.skipIf(sshdMissing)('the connection layer', () => {
  it('ProxyJump through one plain jump host: the jump host carries the channel, and OpenSSH -J sees the same host and user', async () => {
    await saveSsh('ja', a);
    const target = await saveSsh('one-jump', t, 'ja');
    const before = forwardedBy(a.log()).length;
    const { sessionId, route } = await backend.invoke('session.open', { requestId: rid(), hostId: target, cols: 80, rows: 24 });
    expect(route).toMatchObject({ kind: 'ssh', jumps: ['ja'], port: t.port });
    await shellSays(sessionId, 'echo "who=$(whoami)"', `who=${t.user}`);
    expect(forwardedBy(a.log()).slice(before)).toEqual([`127.0.0.1:${t.port}`]);
    // The host key Keyless was shown through the jump is the target's, as OpenSSH sees it too.
    const asked = prompts.filter((p) => p.kind === 'hostKeyUnknown' && p.key.port === t.port);
    expect(asked.map((p) => p.kind === 'hostKeyUnknown' && p.key.fingerprint)).toEqual([t.hostFingerprint()]);
    const { config, knownHosts } = await opensshConfig(home);
    const viaOpenssh = await run('ssh', ['-F', config, '-J', 'ja', 'target', 'whoami']);
    expect(viaOpenssh.stdout.trim()).toBe(t.user);
    const openSshKey = await run('ssh-keygen', ['-l', '-F', `[127.0.0.1]:${t.port}`, '-f', knownHosts]);
    expect(openSshKey.stdout).toContain(t.hostFingerprint());
    await backend.invoke('session.close', { sessionId });
  });

  it('ProxyJump through two jump hosts (a,b): a forwards to b, b forwards to the host', async () => {
    await saveSsh('jb', b);
    const target = await saveSsh('two-jumps', t, 'ja,jb');
    const [beforeA, beforeB] = [forwardedBy(a.log()).length, forwardedBy(b.log()).length];
    const { sessionId, route } = await backend.invoke('session.open', { requestId: rid(), hostId: target, cols: 80, rows: 24 });
    expect(route.jumps).toEqual(['ja', 'jb']);
    await shellSays(sessionId, 'echo "two=$(whoami)"', `two=${t.user}`);
    expect(forwardedBy(a.log()).slice(beforeA)).toEqual([`127.0.0.1:${b.port}`]);
    expect(forwardedBy(b.log()).slice(beforeB)).toEqual([`127.0.0.1:${t.port}`]);
    const { config } = await opensshConfig(home);
    expect((await run('ssh', ['-F', config, '-J', 'ja,jb', 'target', 'whoami'])).stdout.trim()).toBe(t.user);
    await backend.invoke('session.close', { sessionId });
  });

  it('an EC2 instance in a private subnet through a plain SSH bastion: a pushed key, the bastion carries the channel', async () => {
    const host = await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'behind', instanceId: BEHIND, region: REGION, port: sshPort(BEHIND), jumpHost: 'ja' } });
    const [pushesBefore, tunnelsBefore, before] = [pushes(), tunnels(), forwardedBy(a.log()).length];
    const { sessionId, route, osUser } = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
    expect(route).toMatchObject({ kind: 'direct', jumps: ['ja'], address: '127.0.0.1', port: sshPort(BEHIND) });
    expect(osUser).toBe('ec2-user');
    await shellSays(sessionId, 'echo "inside=$(whoami)"', 'inside=ec2-user');
    expect(forwardedBy(a.log()).slice(before)).toEqual([`127.0.0.1:${sshPort(BEHIND)}`]);
    expect([pushes() - pushesBefore, tunnels() - tunnelsBefore]).toEqual([1, 0]);
    // OpenSSH through the same bastion, with a key of its own pushed by the AWS CLI, reaches the same user.
    const keyFile = join(home, 'cli_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    await run('aws', ['ec2-instance-connect', 'send-ssh-public-key', '--region', REGION, '--instance-id', BEHIND, '--instance-os-user', 'ec2-user', '--ssh-public-key', `file://${keyFile}.pub`]);
    const { config } = await opensshConfig(home);
    const viaOpenssh = await run('ssh', ['-F', config, '-J', 'ja', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-p', String(sshPort(BEHIND)), 'ec2-user@127.0.0.1', 'whoami']);
    expect(viaOpenssh.stdout.trim()).toBe('ec2-user');
    await rm(keyFile);
    await backend.invoke('session.close', { sessionId });
  });

  it('a plain host through an EC2 jump host reached over its endpoint: the instance carries the channel', async () => {
    await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'ec2-jump', instanceId: PRIVATE, region: REGION, connectionType: 'eice', port: 22 } });
    const target = await saveSsh('behind-ec2', t, 'ec2-jump');
    const [tunnelsBefore, before] = [tunnels(), forwardedBy(sim.sshdLog(PRIVATE)).length];
    const { sessionId, route } = await backend.invoke('session.open', { requestId: rid(), hostId: target, cols: 80, rows: 24 });
    expect(route).toMatchObject({ kind: 'ssh', jumps: ['ec2-jump'] });
    await shellSays(sessionId, 'echo "through-ec2=$(whoami)"', `through-ec2=${t.user}`);
    expect(forwardedBy(sim.sshdLog(PRIVATE)).slice(before)).toEqual([`127.0.0.1:${t.port}`]);
    expect(tunnels() - tunnelsBefore).toBe(1);
    await backend.invoke('session.close', { sessionId });
  });

  it('bad routes are refused before anything is dialled', async () => {
    const cyc1 = await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'cyc1', host: '127.0.0.1', port: a.port, user: a.user, auth: { type: 'agent' }, jumpHost: 'cyc2' } });
    await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'cyc2', host: '127.0.0.1', port: b.port, user: b.user, auth: { type: 'agent' }, jumpHost: 'cyc1' } });
    const unknown = await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'lost', host: '127.0.0.1', port: t.port, user: t.user, auth: { type: 'agent' }, jumpHost: 'nosuchbastion' } });
    /** TCP connections each server was asked for (sshd logs each one). */
    const dialled = () => [a, b, t].map((fx) => (fx.log().match(/Connection from /g) ?? []).length);
    const before = dialled();
    expect(await errorOf(backend.invoke('session.open', { requestId: rid(), hostId: cyc1.id, cols: 80, rows: 24 }))).toMatchObject({ code: 'RouteInvalid', detail: { reason: 'jumpCycle' } });
    expect(await errorOf(backend.invoke('session.open', { requestId: rid(), hostId: unknown.id, cols: 80, rows: 24 }))).toMatchObject({ code: 'RouteInvalid', detail: { reason: 'jumpUnknown', jump: 'nosuchbastion' } });
    expect(dialled()).toEqual(before);
  });

  it('two tabs and a forward to one instance share one connection: one key push, one tunnel; all closed, it ends after the linger', async () => {
    const host = await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'shared', instanceId: PRIVATE, region: REGION, connectionType: 'eice', port: 22 } });
    // The earlier tests' connections (the EC2 jump host's among them) have lingered out first.
    await vi.waitFor(() => expect(main.pool.connections()).toEqual([]), { timeout: LINGER_MS + 5000 });
    const [pushesBefore, tunnelsBefore] = [pushes(), tunnels()];
    const s1 = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
    const s2 = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
    const fwd = await backend.invoke('forward.open', { requestId: rid(), kind: 'ssh', localPort: 0, remotePort: t.port, remoteHost: '127.0.0.1', hostId: host.id });
    expect([pushes() - pushesBefore, tunnels() - tunnelsBefore]).toEqual([1, 1]);
    const shared = main.pool.connections().filter((c) => c.route.kind === 'eice' && c.route.jumps.length === 0);
    expect(shared).toEqual([expect.objectContaining({ refs: 3 })]);
    await shellSays(s1.sessionId, 'echo one-$((1+1))', 'one-2');
    await shellSays(s2.sessionId, 'echo two-$((2+2))', 'two-4');
    await backend.invoke('session.close', { sessionId: s1.sessionId });
    await backend.invoke('session.close', { sessionId: s2.sessionId });
    await backend.invoke('forward.close', { forwardId: fwd.forwardId });
    expect(main.pool.connections().filter((c) => c.key === shared[0]!.key)).toEqual([expect.objectContaining({ refs: 0 })]);
    // Reopened within the linger: the same connection, no new push.
    const again = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
    expect(pushes() - pushesBefore).toBe(1);
    await backend.invoke('session.close', { sessionId: again.sessionId });
    await vi.waitFor(() => expect(main.pool.connections().filter((c) => c.key === shared[0]!.key)).toEqual([]), { timeout: LINGER_MS + 5000 });
  });

  it('a dropped tunnel reconnects every consumer of the connection with one fresh key', async () => {
    const host = await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'dropping', instanceId: PRIVATE, region: REGION, connectionType: 'eice', port: 22, osUser: 'ubuntu' } });
    // The tunnel opened now is cut (no close frame, as a network loss) after 200 kB; later ones are not.
    sim.admin.dropTunnelsAfter({ bytes: 200_000 });
    let s1: string;
    let s2: string;
    try {
      s1 = (await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 })).sessionId;
      s2 = (await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 })).sessionId;
    } finally {
      sim.admin.resetFaults();
    }
    const pushesBefore = pushes();
    await backend.invoke('session.write', { sessionId: s1, data: 'seq 1 100000\n' });
    const seen = (id: string) => states.filter((s) => s.sessionId === id).map((s) => s.state);
    await vi.waitFor(() => expect([seen(s1), seen(s2)].every((x) => x.includes('reconnecting') && x.at(-1) === 'connected')).toBe(true), { timeout: 30_000, interval: 100 });
    // Both tabs came back on one new connection: one new key between them.
    expect(pushes() - pushesBefore).toBe(1);
    await shellSays(s1, 'echo back-one', 'back-one');
    await shellSays(s2, 'echo back-two', 'back-two');
    await backend.invoke('session.close', { sessionId: s1 });
    await backend.invoke('session.close', { sessionId: s2 });
    const log = await backend.invoke('audit.local', {});
    expect(log.entries.filter((e) => e.kind === 'reconnect' && (e.sessionId === s1 || e.sessionId === s2))).toHaveLength(2);
  });
});
