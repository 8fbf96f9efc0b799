/**
 * The connect engine end to end against a real sshd, with the AWS side stood in by fakes small
 * enough to read: the "push" writes the key to sshd's authorized_keys for 60 s, and a loopback
 * WebSocket bridges openTunnel to sshd. The full simulator tests are in sim-connect.test.ts.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AwsClients } from '../../../electron/main/aws/clients';
import { AwsClock } from '../../../electron/main/aws/clock';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { silentLogger } from '../../../electron/main/base/log';
import type { ConnectHooks } from '../../../electron/main/connect/connector';
import { InstanceConnector, type Ec2Target } from '../../../electron/main/connect/instance-connector';
import { generateEphemeralKey } from '../../../electron/main/connect/ephemeral-key';
import { KnownHosts, fingerprintSha256 } from '../../../electron/main/ssh/known-hosts';
import { LocalForward } from '../../../electron/main/tunnel/local-forward';
import { sshdMissing, startPushTargetSshd, type PushTargetSshd } from './support/sshd';

const INSTANCE = 'i-0123456789abcdef0';
let sshd: PushTargetSshd;
let eice: HttpServer;
let eicePort: number;
let dir: string;
let pushes: Array<{ user: string; key: string }>;
let tunnels = 0;
let consoleText = '';

function hostKeyBlob(): Buffer {
  return Buffer.from(readFileSync(sshd.hostKeyPub, 'utf8').split(' ')[1]!, 'base64');
}

/** Fake SDK clients: SendSSHPublicKey authorises the key in sshd; EC2 describes one instance behind one endpoint. */
function fakeClients(publicIp: string | undefined): AwsClients {
  const ec2 = Object.create(EC2Client.prototype) as EC2Client;
  ec2.send = (async (cmd: { constructor: { name: string } }) => {
    switch (cmd.constructor.name) {
      case 'DescribeInstancesCommand':
        return {
          Reservations: [
            {
              Instances: [
                {
                  InstanceId: INSTANCE,
                  State: { Name: 'running' },
                  VpcId: 'vpc-1',
                  SubnetId: 'subnet-1',
                  PrivateIpAddress: '127.0.0.1',
                  ...(publicIp ? { PublicIpAddress: publicIp } : {}),
                  PlatformDetails: 'Linux/UNIX',
                },
              ],
            },
          ],
        };
      case 'DescribeInstanceConnectEndpointsCommand':
        return {
          InstanceConnectEndpoints: [
            { InstanceConnectEndpointId: 'eice-0123456789abcdef0', State: 'create-complete', VpcId: 'vpc-1', SubnetId: 'subnet-1', DnsName: 'eice-0123456789abcdef0.ec2-instance-connect-endpoint.us-west-2.amazonaws.com', SecurityGroupIds: ['sg-eice'] },
          ],
        };
      case 'GetConsoleOutputCommand':
        return { Output: Buffer.from(consoleText).toString('base64') };
      default:
        throw new Error(`unexpected ${cmd.constructor.name}`);
    }
  }) as EC2Client['send'];
  return {
    credentials: { credentials: async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }), invalidate() {} },
    clock: new AwsClock(),
    ec2Client: async () => ec2,
    instanceConnect: async () => ({
      send: async (cmd: { input: { InstanceOSUser: string; SSHPublicKey: string } }) => {
        pushes.push({ user: cmd.input.InstanceOSUser, key: cmd.input.SSHPublicKey });
        writeFileSync(sshd.authorizedKeys, cmd.input.SSHPublicKey + '\n');
        return { Success: true };
      },
    }),
  } as unknown as AwsClients;
}

beforeAll(async () => {
  if (sshdMissing) return;
  sshd = await startPushTargetSshd();
  dir = mkdtempSync(join(tmpdir(), 'keyless-engine-'));
  eice = createHttpServer();
  const wss = new WebSocketServer({ server: eice });
  wss.on('connection', (ws, req) => {
    tunnels++;
    const url = new URL(req.url!, 'http://x');
    expect(req.headers.host).toBe('eice-0123456789abcdef0.ec2-instance-connect-endpoint.us-west-2.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const port = Number(url.searchParams.get('remotePort')) === 22 ? sshd.port : Number(url.searchParams.get('remotePort'));
    const sock = tcpConnect(port, '127.0.0.1');
    sock.on('data', (d) => ws.send(d, { binary: true }));
    sock.on('close', () => ws.close(1000));
    sock.on('error', () => ws.close(1011, 'Unable to connect to target'));
    ws.on('message', (d: Buffer) => sock.write(d));
    ws.on('close', () => sock.destroy());
  });
  await new Promise<void>((r) => eice.listen(0, '127.0.0.1', r));
  eicePort = (eice.address() as AddressInfo).port;
});

afterAll(async () => {
  if (sshdMissing) return;
  eice.close();
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  pushes = [];
  tunnels = 0;
  consoleText = '';
  if (!sshdMissing) rmSync(join(dir, 'known_hosts'), { force: true });
});

function connector(publicIp: string | undefined, extra: { repushAfterMs?: number } = {}) {
  const clients = fakeClients(publicIp);
  return new InstanceConnector({
    clients,
    inventory: new Ec2Inventory(clients),
    knownHosts: new KnownHosts(join(dir, 'known_hosts')),
    log: silentLogger,
    env: { AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: `http://127.0.0.1:${eicePort}` },
    ...extra,
  });
}

/** A connect engine hop for a target. */
const hop = (t: Ec2Target) => ({ kind: 'ec2' as const, label: t.instanceId, target: t });

function hooks(answer = false): ConnectHooks & { steps: string[]; asked: number } {
  const h = {
    steps: [] as string[],
    asked: 0,
    report: (step: string, status: string) => h.steps.push(`${step}:${status}`),
    askHostKey: async () => (h.asked++, answer),
    askPassphrase: async () => null,
    signal: new AbortController().signal,
  };
  return h;
}

/**
 * Proves the connection is authenticated and usable: a shell channel opens, and a direct-tcpip
 * channel carries bytes to a loopback echo server and back. (The shell's output is not awaited:
 * this machine's root login files run a pyenv hook that can block for minutes.)
 */
async function provesUsable(ssh: Awaited<ReturnType<InstanceConnector['connect']>>['ssh']): Promise<void> {
  const ch = await ssh.shell({ term: 'dumb', cols: 80, rows: 24, width: 0, height: 0 });
  ch.close();
  const echo: Server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  try {
    const fwd = await ssh.forwardOut(0, '127.0.0.1', (echo.address() as AddressInfo).port);
    const back = await new Promise<string>((resolve) => {
      let got = '';
      fwd.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('ping')) resolve(got);
      });
      fwd.write('ping');
    });
    expect(back).toBe('ping');
    fwd.close();
  } finally {
    echo.close();
  }
}

const target = (over: Partial<Ec2Target> = {}): Ec2Target => ({ region: 'us-west-2', instanceId: INSTANCE, osUser: sshd.user, connectionType: 'auto', port: 22, ...over });

describe.skipIf(sshdMissing)('InstanceConnector against a real sshd', () => {
  it('direct: pushes a fresh key, verifies the host key from the console silently, reaches the instance', async () => {
    consoleText = `-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 ${fingerprintSha256(hostKeyBlob())} root@host (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n`;
    const c = connector('127.0.0.1');
    const h = hooks();
    const conn = await c.connect(hop(target({ port: sshd.port })), undefined, h);
    expect(conn.plan.kind).toBe('direct');
    expect(conn.hostKeyTrust).toBe('console');
    expect(h.asked).toBe(0);
    expect(pushes).toHaveLength(1);
    await provesUsable(conn.ssh);
    conn.ssh.end();
    // A second connection pushes a new key and finds the host key known.
    const again = await c.connect(hop(target({ port: sshd.port })), undefined, hooks());
    expect(again.hostKeyTrust).toBe('known');
    expect(pushes).toHaveLength(2);
    expect(pushes[1]!.key).not.toBe(pushes[0]!.key);
    again.ssh.end();
  });

  it('EICE: the tunnel goes to the endpoint override with the signed host, and the connection works', async () => {
    const c = connector(undefined);
    const h = hooks(true);
    const conn = await c.connect(hop(target()), undefined, h);
    expect(conn.plan.kind).toBe('eice');
    expect(tunnels).toBe(1);
    expect(h.asked).toBe(1);
    expect(h.steps).toEqual(expect.arrayContaining(['resolve:done', 'keyPush:done', 'tunnel:done', 'hostKey:done', 'authenticate:done']));
    await provesUsable(conn.ssh);
    conn.ssh.end();
  });

  it('pushes again when the first push is older than the limit before authenticating', async () => {
    const c = connector(undefined, { repushAfterMs: 0 });
    const conn = await c.connect(hop(target()), undefined, hooks(true));
    expect(conn.pushes).toBe(2);
    expect(pushes[0]!.key).toBe(pushes[1]!.key);
    conn.ssh.end();
  });

  it('a changed host key for a known instance blocks the connection', async () => {
    const other = generateEphemeralKey();
    await new KnownHosts(join(dir, 'known_hosts')).add(INSTANCE, 22, other.publicBlob);
    const err = await connector(undefined)
      .connect(hop(target()), undefined, hooks(true))
      .catch((e: unknown) => e as KeylessFailure);
    expect((err as KeylessFailure).code).toBe('HostKeyMismatch');
  });

  it('a key for the wrong OS user is refused with words about the user and the agent', async () => {
    const err = await connector('127.0.0.1')
      .connect(hop(target({ port: sshd.port, osUser: 'nobody-here' })), undefined, hooks(true))
      .catch((e: unknown) => e as KeylessFailure);
    expect((err as KeylessFailure).code).toBe('PushedKeyRefused');
    expect((err as KeylessFailure).message).toMatch(/nobody-here/);
    expect((err as KeylessFailure).detail).toMatchObject({ user: 'nobody-here', suggestedUser: 'ec2-user' });
  });

  it('an EICE port forward carries data intact over one tunnel per connection', async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;
    const c = connector(undefined);
    const { plan } = await c.plan(target({ connectionType: 'eice' }));
    if (plan.kind !== 'eice') throw new Error('expected a tunnel');
    // The fake endpoint forwards any remotePort other than 22 verbatim, so 3389 would need a listener there; use the echo port directly.
    const fwd = await LocalForward.listen(0, (signal) => c.openTunnel({ region: 'us-west-2' }, plan, echoPort, signal), undefined, { halfClose: false });
    const payload = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff;
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = tcpConnect(fwd.localPort, '127.0.0.1', () => s.end(payload));
      let n = 0;
      s.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= payload.length) {
          s.destroy();
          resolve();
        }
      });
      s.on('error', reject);
    });
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    fwd.dispose();
    echo.close();
  });
});
