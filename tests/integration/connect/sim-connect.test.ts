/**
 * Connecting to EC2 instances through the whole app (backend handlers over the in-memory
 * transport, the renderer's Backend client) against the AWS simulator: real SigV4, IAM, the
 * openTunnel WebSocket and real sshd instances whose AuthorizedKeysCommand honours pushed keys.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessPolicy } from '../../../electron/main/policy/access-policy';
import { terminalSettingsSchema, type KeylessError, type Prompt } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { AwsClients } from '../../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { createLogger, silentLogger } from '../../../electron/main/base/log';
import type { ConnectHooks } from '../../../electron/main/connect/connector';
import { EndpointBudget } from '../../../electron/main/connect/endpoint-budget';
import { InstanceConnector, type Ec2Target } from '../../../electron/main/connect/instance-connector';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { KnownHosts } from '../../../electron/main/ssh/known-hosts';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { ACCOUNT_ID, seedPolicy, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { receiveOutput } from '../support/terminal-output';
import { useSimulatorAws } from '../support/simulator-aws';

const REGION = 'us-west-2';
const PUBLIC = 'i-0a1b2c3d4e5f0a001';
const PRIVATE = 'i-0a1b2c3d4e5f0a002';
const SEED = { accessKeyId: 'AKIASIMSEEDUSER00001', secretAccessKey: 'seed/user/secret/key/000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/seed`, profile: 'seed' };

let sim: Simulator;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const prompts: Prompt[] = [];
const output = new Map<string, string>();
const states: Array<{ sessionId: string; state: string; error?: KeylessError }> = [];
/** Everything the backend logged, at debug level, to look for secrets in. */
const logLines: string[] = [];
/** Every private key made during the suite (copied before Keyless zeroes its own), to look for on disk at the end. */
const madeKeys = vi.hoisted(() => [] as Buffer[]);
vi.mock('../../../electron/main/connect/ephemeral-key', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../electron/main/connect/ephemeral-key')>();
  return {
    ...real,
    generateEphemeralKey: (comment?: string) => {
      const key = real.generateEphemeralKey(comment);
      madeKeys.push(Buffer.from(key.privateKey));
      return key;
    },
  };
});
const savedEnv = { ...process.env };
const suiteStarted = Date.now();

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [
        {
          id: 'vpc-0c0ffee000000a001',
          region: REGION,
          cidr: '10.9.0.0/16',
          subnets: [
            { id: 'subnet-0c0ffee0000a0011', availabilityZone: `${REGION}a`, cidr: '10.9.1.0/24' },
            { id: 'subnet-0c0ffee0000a0012', availabilityZone: `${REGION}b`, cidr: '10.9.2.0/24' },
          ],
        },
      ],
      instances: [
        // The simulated public address is loopback so a direct connection reaches the instance's sshd port.
        { id: PUBLIC, region: REGION, subnetId: 'subnet-0c0ffee0000a0011', publicIp: '127.0.0.1', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        { id: PRIVATE, region: REGION, subnetId: 'subnet-0c0ffee0000a0012', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [{ id: 'eice-0c0ffee00000a001', region: REGION, subnetId: 'subnet-0c0ffee0000a0012' }],
      principals: [{ ...SEED, policies: [seedPolicy(REGION, PUBLIC)] }],
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: createLogger('main', (l) => logLines.push(l), 'debug'), userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
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
  await sim?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

/** The endpoint limit tests need an empty endpoint: earlier tests' tunnels have closed (the endpoint has seen it). */
const noTunnelsOpen = () => vi.waitFor(() => expect(sim.openTunnels()).toBe(0), { timeout: 10_000 });

let nextRequest = 1;
const rid = () => `c${nextRequest++}`;
const sshPort = (id: string) => sim.instances().find((i) => i.id === id)!.sshPort!;

async function shellSays(sessionId: string, command: string, expected: string, timeoutMs = 20_000): Promise<void> {
  await backend.invoke('session.write', { sessionId, data: command + '\n' });
  const deadline = Date.now() + timeoutMs;
  while (!(output.get(sessionId) ?? '').includes(expected)) {
    if (Date.now() > deadline) throw new Error(`no "${expected}" in: ${output.get(sessionId)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function errorOf(p: Promise<unknown>): Promise<KeylessError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BackendError) return err.error;
    if (err instanceof KeylessFailure) return err.toData();
    throw err;
  }
  throw new Error('expected a failure');
}

function engine(over: { repushAfterMs?: number; endpointBusyWaitMs?: number; budget?: EndpointBudget } = {}) {
  const clients = new AwsClients(new SdkCredentialSource());
  return new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts: new KnownHosts(join(home, 'known_hosts')), log: silentLogger, ...over });
}
const quietHooks = (): ConnectHooks => ({ report() {}, askHostKey: async () => true, askPassphrase: async () => null, signal: new AbortController().signal });
const hop = (target: Ec2Target) => ({ kind: 'ec2' as const, label: target.instanceId, target });

describe.skipIf(sshdMissing)('EC2 Instance Connect against the simulator', () => {
  it('direct: a shell as ec2-user, host key confirmed by the console output without a question', async () => {
    const { sessionId, route: { kind: via }, osUser } = await backend.invoke('session.open', {
      requestId: rid(),
      cols: 80,
      rows: 24,
      target: { region: REGION, instanceId: PUBLIC, connectionType: 'direct', port: sshPort(PUBLIC) },
    });
    expect(via).toBe('direct');
    expect(osUser).toBe('ec2-user');
    expect(prompts).toHaveLength(0);
    await shellSays(sessionId, 'echo "$(whoami)-$((6*7))"', 'ec2-user-42');
    await backend.invoke('session.close', { sessionId });
    expect(readFileSync(join(home, 'known_hosts'), 'utf8')).toContain(PUBLIC);
  });

  it('EICE: a shell through the endpoint tunnel, every step reported with its time', async () => {
    const steps: string[] = [];
    const requestId = rid();
    const off = backend.on('progress', (p) => p.requestId === requestId && steps.push(`${p.step}:${p.status}`));
    const { sessionId, route: { kind: via } } = await backend.invoke('session.open', { requestId, cols: 80, rows: 24, target: { region: REGION, instanceId: PRIVATE } });
    off();
    expect(via).toBe('eice');
    for (const s of ['resolve', 'keyPush', 'tunnel', 'hostKey', 'authenticate', 'shell']) expect(steps).toContain(`${s}:done`);
    await shellSays(sessionId, 'echo "tunnel-$((1+1))"', 'tunnel-2');
    // stty size follows a resize.
    await backend.invoke('session.resize', { sessionId, cols: 101, rows: 33 });
    await shellSays(sessionId, 'stty size', '33 101');
    await backend.invoke('session.close', { sessionId });
  });

  it('connecting from the inventory right after a refresh asks EC2 nothing more: it works while every Describe call would fail', async () => {
    const snapshot = await backend.invoke('inventory.refresh', { requestId: rid(), profiles: ['default'], regions: [REGION] });
    const row = snapshot.instances.find((i) => i.id === PRIVATE)!;
    expect(row).toMatchObject({ profile: 'default', reach: 'endpoint', defaultUser: 'ec2-user' });
    for (const op of ['DescribeInstances', 'DescribeInstanceConnectEndpoints', 'DescribeImages']) sim.admin.setErrorRatio(op, 1);
    try {
      // What the inventory's connect action sends for a row.
      const { sessionId, route: { kind: via }, osUser } = await backend.invoke('session.open', {
        requestId: rid(),
        cols: 80,
        rows: 24,
        target: { profile: row.profile, region: row.region, instanceId: row.id, osUser: row.defaultUser },
      });
      expect([via, osUser]).toEqual(['eice', 'ec2-user']);
      await shellSays(sessionId, 'echo "from-inventory-$((3*3))"', 'from-inventory-9');
      await backend.invoke('session.close', { sessionId });
    } finally {
      sim.admin.resetFaults();
    }
  });

  it('a saved EC2 host opens with session.open, its settings inherited from its group', async () => {
    const group = await backend.invoke('groups.save', { group: { name: 'sim', parentId: null, settings: { region: REGION, osUser: 'ec2-user' } } });
    const host = await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'private one', groupId: group.id, instanceId: PRIVATE, port: 22 } });
    const { sessionId } = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
    await shellSays(sessionId, 'echo "saved-$(whoami)"', 'saved-ec2-user');
    await backend.invoke('session.close', { sessionId });
  });

  it('a saved EC2 host in a group that records is recorded from its first byte, through the endpoint', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'keyless-rec-'));
    const before = (await backend.invoke('settings.get', {})).terminal;
    await backend.invoke('settings.set', { terminal: { ...terminalSettingsSchema.parse(before ?? {}), recordingFolder: folder } });
    try {
      const group = await backend.invoke('groups.save', { group: { name: 'audited', parentId: null, settings: { region: REGION, osUser: 'ec2-user', recordSessions: true } } });
      const host = await backend.invoke('hosts.save', { host: { kind: 'ec2', name: 'recorded one', groupId: group.id, instanceId: PRIVATE, port: 22 } });
      const opened = await backend.invoke('session.open', { requestId: rid(), hostId: host.id, cols: 80, rows: 24 });
      expect(opened.recording).toMatch(/^recorded-one-.*\.cast$/);
      await shellSays(opened.sessionId, 'echo "rec-$(whoami)"', 'rec-ec2-user');
      await backend.invoke('session.close', { sessionId: opened.sessionId });
      const lines = readFileSync(join(folder, opened.recording!), 'utf8').trim().split('\n');
      const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
      expect(events.some(([, kind]) => kind === 'i')).toBe(false);
      // Everything the tab got, from its first byte, in order (the file may also hold what was still on its way at the close).
      const recorded = events.filter(([, kind]) => kind === 'o').map((e) => e[2]).join('');
      expect(recorded.startsWith(output.get(opened.sessionId)!)).toBe(true);
    } finally {
      await backend.invoke('settings.set', { terminal: terminalSettingsSchema.parse(before ?? {}) });
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("the seed's policy connects as ec2-user and refuses root with the statement that would allow it", async () => {
    const c = engine();
    const ok = await c.connect(hop({ profile: 'seed', region: REGION, instanceId: PUBLIC, osUser: 'ec2-user', connectionType: 'direct', port: sshPort(PUBLIC) }), undefined, quietHooks());
    ok.ssh.end();
    const err = await errorOf(c.connect(hop({ profile: 'seed', region: REGION, instanceId: PUBLIC, osUser: 'root', connectionType: 'direct', port: sshPort(PUBLIC) }), undefined, quietHooks()));
    expect(err.code).toBe('AwsAccessDenied');
    expect(err.message).toContain('ec2-instance-connect:SendSSHPublicKey');
    expect(err.message).toContain('OS user root');
    const policy = JSON.parse(String(err.detail?.policy)) as { Resource: string; Condition: { StringEquals: Record<string, string> } };
    expect(policy.Resource).toBe(`arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${PUBLIC}`);
    expect(policy.Condition.StringEquals['ec2:osuser']).toBe('root');
  });

  it('the least-privilege policy Keyless writes for a host lets it through the endpoint (no duration set on the host)', async () => {
    const { policy } = accessPolicy([
      { instanceId: PRIVATE, region: REGION, account: ACCOUNT_ID, osUser: 'ec2-user', endpointId: 'eice-0c0ffee00000a001', port: 22 },
    ]);
    const generated = { accessKeyId: 'AKIASIMGENERATED0002', secretAccessKey: 'sim/generated/secret/key/11111111111111111', arn: `arn:aws:iam::${ACCOUNT_ID}:user/generated`, profile: 'generated' };
    sim.admin.addPrincipal({ ...generated, policies: [policy as never] });
    const credentials = { credentials: async () => ({ accessKeyId: generated.accessKeyId, secretAccessKey: generated.secretAccessKey }), invalidate() {} };
    const clients = new AwsClients(credentials);
    const c = new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts: new KnownHosts(join(home, 'known_hosts')), log: silentLogger });
    // This principal has no profile in the config file: the environment's endpoint setting reaches the simulator.
    process.env.AWS_ENDPOINT_URL = sim.endpoint;
    try {
      const conn = await c.connect(hop({ profile: 'generated', region: REGION, instanceId: PRIVATE, osUser: 'ec2-user', connectionType: 'eice', port: 22 }), undefined, quietHooks());
      expect(conn.plan.kind).toBe('eice');
      conn.ssh.end();
      const denied = await errorOf(c.connect(hop({ profile: 'generated', region: REGION, instanceId: PRIVATE, osUser: 'root', connectionType: 'eice', port: 22 }), undefined, quietHooks()));
      expect(denied.code).toBe('AwsAccessDenied');
    } finally {
      delete process.env.AWS_ENDPOINT_URL;
      clients.dispose();
    }
  });

  it('a changed host key is blocked', async () => {
    const other = readFileSync(join(home, 'known_hosts'), 'utf8');
    const kh = new KnownHosts(join(home, 'known_hosts-changed'));
    const { generateEphemeralKey } = await import('../../../electron/main/connect/ephemeral-key');
    await kh.add(PRIVATE, 22, generateEphemeralKey().publicBlob);
    const clients = new AwsClients(new SdkCredentialSource());
    const c = new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts: kh, log: silentLogger });
    const err = await errorOf(c.connect(hop({ region: REGION, instanceId: PRIVATE, connectionType: 'auto', port: 22 }), undefined, quietHooks()));
    expect(err.code).toBe('HostKeyMismatch');
    expect(other).not.toBe('');
  });

  it('a key that expires while the tunnel is slow is pushed again before authenticating', async () => {
    sim.admin.setLatency('OpenTunnel', 1500);
    try {
      const c = engine({ repushAfterMs: 1000 });
      const conn = await c.connect(hop({ region: REGION, instanceId: PRIVATE, connectionType: 'eice', port: 22 }), undefined, quietHooks());
      expect(conn.pushes).toBe(2);
      conn.ssh.end();
    } finally {
      sim.admin.resetFaults();
    }
  });

  it('a key that reaches the instance late (slow propagation) is tried once more and gets in', async () => {
    sim.admin.setKeyPropagationDelay(1500);
    try {
      const conn = await engine().connect(hop({ region: REGION, instanceId: PUBLIC, connectionType: 'direct', port: sshPort(PUBLIC) }), undefined, quietHooks());
      expect(conn.pushes).toBe(2);
      conn.ssh.end();
    } finally {
      sim.admin.resetFaults();
    }
  });

  it('the 21st tunnel on one endpoint is refused with the limit in words (when waiting for a slot is not allowed)', async () => {
    await noTunnelsOpen();
    const c = engine({ endpointBusyWaitMs: 0 });
    const target: Ec2Target = { region: REGION, instanceId: PRIVATE, connectionType: 'eice', port: 22 };
    const { plan } = await c.plan(target);
    if (plan.kind !== 'eice') throw new Error('expected a tunnel');
    const open = await Promise.all(Array.from({ length: 20 }, () => c.openTunnel(target, plan, 22)));
    try {
      const err = await errorOf(c.openTunnel(target, plan, 22));
      expect(err.code).toBe('TunnelRefused');
      expect(err.message).toMatch(/20/);
    } finally {
      for (const t of open) t.destroy();
    }
    // The endpoint frees the slots once it has seen the closes.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const t = await c.openTunnel(target, plan, 22).catch(() => undefined);
      if (t) {
        t.destroy();
        break;
      }
      if (Date.now() > deadline) throw new Error('the endpoint never freed its tunnel slots');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("Keyless's own tunnels never meet the endpoint's limit: 25 at once through the budget all open, at most 20 at a time", async () => {
    await noTunnelsOpen();
    const budget = new EndpointBudget();
    // No waiting on a refusal: if the budget let a 21st through, the endpoint's refusal would fail the test.
    const c = engine({ budget, endpointBusyWaitMs: 0 });
    const refusedBefore = sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel' && e.errorCode).length;
    const target: Ec2Target = { region: REGION, instanceId: PRIVATE, connectionType: 'eice', port: 22 };
    const { plan } = await c.plan(target);
    if (plan.kind !== 'eice') throw new Error('expected a tunnel');
    let peak = 0;
    const opened = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const t = await c.openTunnel(target, plan, 22);
        peak = Math.max(peak, budget.inUse(plan.endpoint.endpointId));
        // Held briefly, as a short-lived forward would; the waiting five get the slots as these close.
        await new Promise((r) => setTimeout(r, 300));
        t.destroy();
        return true;
      }),
    );
    expect(opened).toHaveLength(25);
    expect(peak).toBe(20);
    expect(sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel' && e.errorCode).length).toBe(refusedBefore);
    await vi.waitFor(() => expect(budget.inUse(plan.endpoint.endpointId)).toBe(0), { timeout: 5000 });
  });

  it('an endpoint full of other people\'s tunnels makes a connection wait for a slot, not fail', async () => {
    await noTunnelsOpen();
    const colleague = engine({ endpointBusyWaitMs: 0 });
    const target: Ec2Target = { region: REGION, instanceId: PRIVATE, connectionType: 'eice', port: 22 };
    const { plan } = await colleague.plan(target);
    if (plan.kind !== 'eice') throw new Error('expected a tunnel');
    const theirs = await Promise.all(Array.from({ length: 20 }, () => colleague.openTunnel(target, plan, 22)));
    // Their tunnels end a moment later; Keyless's tab, opened meanwhile, gets in then.
    const release = setTimeout(() => theirs.forEach((t) => t.destroy()), 1500);
    try {
      const steps: string[] = [];
      const requestId = rid();
      const off = backend.on('progress', (p) => p.requestId === requestId && steps.push(`${p.step}:${p.status}`));
      const { sessionId, route } = await backend.invoke('session.open', { requestId, cols: 80, rows: 24, target: { region: REGION, instanceId: PRIVATE } });
      off();
      expect(route.kind).toBe('eice');
      expect(steps).not.toContain('tunnel:failed');
      await shellSays(sessionId, 'echo "waited-$((2+2))"', 'waited-4');
      await backend.invoke('session.close', { sessionId });
    } finally {
      clearTimeout(release);
      theirs.forEach((t) => t.destroy());
    }
  });

  it('a dropped tunnel is replaced in the same tab: reconnecting, a new key, and the shell works again', async () => {
    const pushesBefore = sim.admin.trail().filter((e) => e.eventName === 'SendSSHPublicKey').length;
    // This tab's tunnel will be cut (no close frame, as a network loss) after 200 kB; tunnels opened later are not.
    sim.admin.dropTunnelsAfter({ bytes: 200_000 });
    let sessionId: string;
    try {
      ({ sessionId } = await backend.invoke('session.open', { requestId: rid(), cols: 80, rows: 24, target: { region: REGION, instanceId: PRIVATE } }));
    } finally {
      sim.admin.resetFaults();
    }
    await shellSays(sessionId, 'echo before-$((1+1))', 'before-2');
    await backend.invoke('session.write', { sessionId, data: 'seq 1 100000\n' });
    const deadline = Date.now() + 20_000;
    const seen = () => states.filter((s) => s.sessionId === sessionId).map((s) => s.state);
    while (!seen().includes('reconnecting')) {
      if (Date.now() > deadline) throw new Error(`no reconnect: ${seen().join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    while (seen().at(-1) !== 'connected') {
      if (Date.now() > deadline) throw new Error(`not connected again: ${seen().join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(states.find((s) => s.sessionId === sessionId && s.state === 'reconnecting')?.error?.retryable).toBe(true);
    expect(seen()).not.toContain('closed');
    await shellSays(sessionId, 'echo after-$((2+3))', 'after-5');
    await backend.invoke('session.close', { sessionId });
    const pushes = sim.admin.trail().filter((e) => e.eventName === 'SendSSHPublicKey');
    expect(pushes.length - pushesBefore).toBeGreaterThanOrEqual(2);
  });

  it('a tunnel with a maximum duration warns the tab before the cut, and the cut reconnects the tab', async () => {
    const notices: Array<{ sessionId: string; secondsLeft: number }> = [];
    const off = backend.on('session.notice', (n) => notices.push(n));
    try {
      const { sessionId } = await backend.invoke('session.open', { requestId: rid(), cols: 80, rows: 24, target: { region: REGION, instanceId: PRIVATE, maxTunnelDuration: 4 } });
      const deadline = Date.now() + 15_000;
      const cut = () => states.find((s) => s.sessionId === sessionId && s.state === 'reconnecting');
      while (!cut()) {
        if (Date.now() > deadline) throw new Error('the tunnel was not cut at its maximum duration');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(notices.find((n) => n.sessionId === sessionId)?.secondsLeft).toBeGreaterThan(0);
      expect(cut()?.error).toMatchObject({ code: 'TunnelClosed', retryable: true });
      expect(cut()?.error?.detail?.reason).toBe('maxTunnelDuration');
      while (states.filter((s) => s.sessionId === sessionId).at(-1)?.state !== 'connected') {
        if (Date.now() > deadline) throw new Error('not connected again after the cut');
        await new Promise((r) => setTimeout(r, 50));
      }
      await shellSays(sessionId, 'echo again-$((3+4))', 'again-7');
      await backend.invoke('session.close', { sessionId });
    } finally {
      off();
    }
  });

  it('an SSH local forward carries 100 MB to a server the instance reaches, intact', async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const fwd = await backend.invoke('forward.open', {
        requestId: rid(),
        kind: 'ssh',
        localPort: 0,
        remoteHost: '127.0.0.1',
        remotePort: (echo.address() as AddressInfo).port,
        target: { region: REGION, instanceId: PRIVATE },
      });
      expect(fwd.localAddress).toBe('127.0.0.1');
      const size = 100 * 1024 * 1024;
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
      const hashOut = (await import('node:crypto')).createHash('sha256');
      const hashIn = (await import('node:crypto')).createHash('sha256');
      await new Promise<void>((resolve, reject) => {
        const s = tcpConnect(fwd.localPort, '127.0.0.1');
        let received = 0;
        s.on('data', (d: Buffer) => {
          hashIn.update(d);
          received += d.length;
          if (received >= size) {
            s.destroy();
            resolve();
          }
        });
        s.on('error', reject);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            hashOut.update(block);
            sent += block.length;
            if (!s.write(block)) return void s.once('drain', pump);
          }
        };
        s.once('connect', pump);
      });
      expect(hashIn.digest('hex')).toBe(hashOut.digest('hex'));
      expect((await backend.invoke('forward.list', {})).forwards.map((f) => f.forwardId)).toContain(fwd.forwardId);
      await backend.invoke('forward.close', { forwardId: fwd.forwardId });
    } finally {
      echo.close();
    }
  }, 180_000);

  it('an EICE forward to port 22 reaches sshd, and other ports are refused before anything is tried', async () => {
    const fwd = await backend.invoke('forward.open', { requestId: rid(), kind: 'eice', localPort: 0, remotePort: 22, target: { region: REGION, instanceId: PRIVATE } });
    const banner = await new Promise<string>((resolve, reject) => {
      const s = tcpConnect(fwd.localPort, '127.0.0.1');
      s.once('data', (d: Buffer) => (s.destroy(), resolve(d.toString())));
      s.on('error', reject);
      s.on('close', () => reject(new Error('the forward closed without data')));
    });
    expect(banner).toMatch(/^SSH-2\.0-/);
    await backend.invoke('forward.close', { forwardId: fwd.forwardId });
    const err = await errorOf(backend.invoke('forward.open', { requestId: rid(), kind: 'eice', localPort: 0, remotePort: 5432, target: { region: REGION, instanceId: PRIVATE } }));
    expect(err.code).toBe('PortNotAllowed');
  });

  it('50 simultaneous connections (15 through the endpoint, 35 direct) all reach a shell', async () => {
    const c = engine();
    // An endpoint carries at most 20 tunnels: 15 through it, 35 direct. Spread over two OS users,
    // as each authentication makes the instance's key script fingerprint every active key of its user.
    const conns = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const osUser = i % 2 ? 'ubuntu' : 'ec2-user';
        return i < 15
          ? c.connect(hop({ region: REGION, instanceId: PRIVATE, osUser, connectionType: 'eice', port: 22 }), undefined, quietHooks())
          : c.connect(hop({ region: REGION, instanceId: PUBLIC, osUser, connectionType: 'direct', port: sshPort(PUBLIC) }), undefined, quietHooks());
      }),
    );
    const shells = await Promise.all(conns.map((conn) => conn.ssh.shell({ term: 'dumb', cols: 80, rows: 24, width: 0, height: 0 })));
    const answers = await Promise.all(
      shells.map(
        (ch, i) =>
          new Promise<string>((resolve, reject) => {
            let out = '';
            const t = setTimeout(() => reject(new Error(`shell ${i} said: ${out}`)), 60_000);
            ch.on('data', (d: Buffer) => {
              out += d.toString();
              if (out.includes(`ok-${i + 1000}`)) {
                clearTimeout(t);
                resolve(out);
              }
            });
            ch.write(`echo ok-$((${i} + 1000))\n`);
          }),
      ),
    );
    expect(answers).toHaveLength(50);
    for (const conn of conns) conn.ssh.end();
  }, 180_000);

  it('no private key material is left on disk: the data folder and the temp folder hold none of the keys made', () => {
    expect(madeKeys.length).toBeGreaterThan(50);
    // What would betray a key: any line of the PEM's private part, and the raw 32-byte seeds.
    const needles: Buffer[] = [];
    for (const pem of madeKeys) {
      const lines = pem.toString('latin1').split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const l of lines.slice(3)) if (l.length >= 40) needles.push(Buffer.from(l, 'latin1'));
      const body = Buffer.from(lines.join(''), 'base64');
      // The private section repeats the key type, then the public key, then seed ‖ public key.
      const at = body.lastIndexOf(Buffer.from('ssh-ed25519'));
      needles.push(Buffer.from(body.subarray(at + 11 + 4 + 32 + 4, at + 11 + 4 + 32 + 4 + 32)));
    }
    // The needles do find a key written as Keyless holds it.
    expect(needles.some((k) => madeKeys[0]!.includes(k))).toBe(true);
    const hits: string[] = [];
    let scanned = 0;
    const scan = (dir: string, depth: number) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const n of names) {
        const p = join(dir, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (depth < 5) scan(p, depth + 1);
        } else if (st.isFile() && st.size < 8 * 1024 * 1024 && st.mtimeMs >= suiteStarted - 2000) {
          // Only files written since the suite began can hold a key it made.
          let data: Buffer;
          try {
            data = readFileSync(p);
          } catch {
            continue;
          }
          scanned++;
          if (needles.some((k) => data.includes(k))) hits.push(p);
        }
      }
    };
    scan(home, 0);
    scan(tmpdir(), 0);
    expect(scanned).toBeGreaterThan(0);
    expect(hits).toEqual([]);
    // Nor in the log, nor in any error that crossed to the renderer: no key, no presigned URL.
    const said = [logLines.join('\n'), JSON.stringify(states)].join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(said).not.toMatch(/X-Amz-Signature|X-Amz-Credential|BEGIN OPENSSH PRIVATE KEY/);
    const saidBytes = Buffer.from(said, 'latin1');
    expect(needles.filter((k) => saidBytes.includes(k))).toEqual([]);
  });
});

describe.skipIf(sshdMissing)('a pushed key that expires before authentication (simulator with a 2 s key lifetime)', () => {
  let shortSim: Simulator;
  let knownHostsDir: string;
  const ID = 'i-0a1b2c3d4e5f0b001';
  beforeAll(async () => {
    shortSim = await startSimulator({
      regions: [REGION],
      keyTtlSeconds: 2,
      fleet: {
        vpcs: [{ id: 'vpc-0c0ffee000000b001', region: REGION, cidr: '10.8.0.0/16', subnets: [{ id: 'subnet-0c0ffee0000b0011', availabilityZone: `${REGION}a`, cidr: '10.8.1.0/24' }] }],
        instances: [{ id: ID, region: REGION, subnetId: 'subnet-0c0ffee0000b0011' }],
        endpoints: [{ id: 'eice-0c0ffee00000b001', region: REGION, subnetId: 'subnet-0c0ffee0000b0011' }],
      },
    });
    knownHostsDir = await mkdtemp(join(tmpdir(), 'keyless-kh-'));
  }, 120_000);
  afterAll(async () => {
    await shortSim?.stop();
    await rm(knownHostsDir, { recursive: true, force: true });
  });

  function connectorFor(repushAfterMs: number) {
    const clients = new AwsClients({
      credentials: async () => ({ accessKeyId: shortSim.principals[0]!.accessKeyId, secretAccessKey: shortSim.principals[0]!.secretAccessKey }),
      invalidate() {},
    });
    return new InstanceConnector({
      clients,
      inventory: new Ec2Inventory(clients),
      knownHosts: new KnownHosts(join(knownHostsDir, 'known_hosts')),
      log: silentLogger,
      env: { AWS_ENDPOINT_URL: shortSim.endpoint },
      repushAfterMs,
    });
  }

  it('without a second push the expired key is refused; with it Keyless gets in', async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = shortSim.endpoint;
    shortSim.admin.setLatency('OpenTunnel', 3000);
    try {
      const target: Ec2Target = { region: REGION, instanceId: ID, osUser: 'ec2-user', connectionType: 'eice', port: 22 };
      const expired = await errorOf(connectorFor(60_000).connect(hop(target), undefined, quietHooks()));
      expect(expired.code).toBe('PushedKeyRefused');
      const conn = await connectorFor(1000).connect(hop(target), undefined, quietHooks());
      expect(conn.pushes).toBe(2);
      conn.ssh.end();
    } finally {
      shortSim.admin.resetFaults();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});
