/**
 * What a tab's steps and error say for the failures met before a shell (issue 18, bugs 5 and 7),
 * through the whole backend against the AWS simulator: a stopped instance fails the key push /
 * state check (not "Preparing credentials"), cannot be fixed by a retry; a direct (public IP)
 * connection never shows the endpoint tunnel step, and when it is closed before the handshake the
 * words come from the route the inventory knows (security groups, the endpoint route).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessError } from '../../../electron/contract';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorWords } from '../../../electron/contract/i18n/error-words';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { ACCOUNT_ID, seedPolicy, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { useSimulatorAws } from '../support/simulator-aws';

const REGION = 'us-west-2';
const DIRECT = 'i-0a1b2c3d4e5f0b001';
const STOPPED = 'i-0a1b2c3d4e5f0b002';
const SEED = { accessKeyId: 'AKIASIMSEEDUSER00001', secretAccessKey: 'seed/user/secret/key/000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/seed`, profile: 'seed' };

let sim: Simulator;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
/** Accepts TCP and closes at once, as a firewall or a full sshd (MaxStartups) does before the banner. */
let closer: Server;
const savedEnv = { ...process.env };

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0c0ffee000000b001', region: REGION, cidr: '10.8.0.0/16', subnets: [{ id: 'subnet-0c0ffee0000b0011', availabilityZone: `${REGION}a`, cidr: '10.8.1.0/24' }] }],
      instances: [
        { id: DIRECT, region: REGION, subnetId: 'subnet-0c0ffee0000b0011', publicIp: '127.0.0.1', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        { id: STOPPED, region: REGION, subnetId: 'subnet-0c0ffee0000b0011', state: 'stopped', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [],
      principals: [{ ...SEED, policies: [seedPolicy(REGION, DIRECT), seedPolicy(REGION, STOPPED)] }],
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  closer = createServer((s) => s.destroy());
  await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  closer?.close();
  disconnect?.();
  await main?.close();
  await sim?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

let n = 0;
/** Opens a session and returns the steps reported (step:status) and the error it failed with. */
async function attempt(target: Record<string, unknown>): Promise<{ steps: string[]; error: KeylessError }> {
  const requestId = `s${++n}`;
  const steps: string[] = [];
  const off = backend.on('progress', (p) => p.requestId === requestId && steps.push(`${p.step}:${p.status}`));
  try {
    await backend.invoke('session.open', { requestId, cols: 80, rows: 24, target: { region: REGION, ...target } as never });
  } catch (err) {
    if (err instanceof BackendError) return { steps, error: err.error };
    throw err;
  } finally {
    off();
  }
  throw new Error('the session opened');
}

describe.skipIf(sshdMissing)('steps and words before a shell', () => {
  it('a stopped instance fails the key push / state check, credentials done; a retry cannot fix it', async () => {
    const { steps, error } = await attempt({ instanceId: STOPPED });
    expect(error.code).toBe('InstanceNotRunning');
    expect(error.retryable).toBe(false);
    expect(steps).toContain('resolve:done');
    expect(steps).not.toContain('resolve:failed');
    expect(steps).toContain('keyPush:failed');
  });

  it('a second tab on a host whose connection is open borrows it, and every step it shows ends (none left running)', async () => {
    const port = sim.instances().find((i) => i.id === DIRECT)!.sshPort;
    const open = async () => {
      const requestId = `s${++n}`;
      const steps: string[] = [];
      const off = backend.on('progress', (p) => p.requestId === requestId && steps.push(`${p.step}:${p.status}`));
      try {
        const { sessionId } = await backend.invoke('session.open', { requestId, cols: 80, rows: 24, target: { region: REGION, instanceId: DIRECT, connectionType: 'direct', port } as never });
        return { sessionId, steps };
      } finally {
        off();
      }
    };
    const first = await open();
    const second = await open();
    try {
      expect(first.steps).toContain('keyPush:done');
      // The second tab rode the first one's connection: no key push, no handshake of its own.
      expect(second.steps.some((s) => s.startsWith('keyPush:') || s.startsWith('authenticate:'))).toBe(false);
      const last = new Map(second.steps.map((s) => s.split(':') as [string, string]));
      expect(last.get('resolve')).toBe('done');
      expect([...last].filter(([, status]) => status === 'start')).toEqual([]);
    } finally {
      for (const t of [first, second]) await backend.invoke('session.close', { sessionId: t.sessionId });
    }
  });

  it('a direct connection closed before the handshake: no tunnel step, and advice from the route', async () => {
    const port = (closer.address() as AddressInfo).port;
    const { steps, error } = await attempt({ instanceId: DIRECT, connectionType: 'direct', port });
    expect(steps.some((s) => s.startsWith('tunnel:'))).toBe(false);
    expect(steps).toContain('connect:start');
    expect(error.code).toBe('NetworkError');
    expect(error.detail?.cause).toBe('directLostOrEndpoint');
    const words = errorWords(en, error);
    expect(words).toContain(`127.0.0.1 port ${port} (the public IP of ${DIRECT}) closed the connection before the SSH handshake`);
    expect(words).toContain('allow inbound TCP');
    expect(words).toContain('EC2 Instance Connect Endpoint');
    expect(errorWords(ja, error)).toContain('パブリック IP');
  });
});
