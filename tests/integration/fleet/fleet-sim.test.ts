/**
 * Fleet commands through the whole backend (its contract over the in-memory transport, the
 * renderer's Backend client) against the AWS simulator: 100 instances, each a real sshd, 90
 * behind three Instance Connect Endpoints (40, 35, 15) and 10 reached directly; 5 whose key push
 * IAM denies, 3 stopped, 2 whose command outlives the per-host timeout, the rest exiting 0, 1 or 2
 * by host. A colleague holds 2 of the 40-host endpoint's tunnels for the first seconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { FleetHost, FleetRunSummary, HostExport } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { Backend } from '../../../renderer/lib/backend/backend';
import { ACCOUNT_ID, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { presignOpenTunnel } from '../../sim/support';
import { connectInMemory } from '../../support/memory-transport';
import { useSimulatorAws } from '../support/simulator-aws';

if (sshdMissing) console.warn(`Skipping the fleet integration test: ${sshdMissing}`);

const REGION = 'us-east-1';
const COUNTS = { a: 40, b: 35, c: 15, direct: 10 } as const;
type Lane = keyof typeof COUNTS;
const VPC_OF: Record<Exclude<Lane, 'direct'>, number> = { a: 20, b: 21, c: 22 };
const EICE = { a: 'eice-0f1ee70000000000a', b: 'eice-0f1ee70000000000b', c: 'eice-0f1ee70000000000c' } as const;
const FLEET = { accessKeyId: 'AKIASIMFLEETUSER0001', secretAccessKey: 'fleet/user/secret/key/00000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/fleet`, profile: 'fleet' };
const COLLEAGUE = { accessKeyId: 'AKIASIMCOLLEAGUE0001', secretAccessKey: 'colleague/secret/key/00000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/colleague`, profile: 'colleague' };

interface Planned {
  n: number;
  id: string;
  lane: Lane;
  fate: 'exit' | 'denied' | 'stopped' | 'timeout';
  code: number;
}
const instanceId = (n: number) => `i-0f1ee7${n.toString(16).padStart(11, '0')}`;
const planned: Planned[] = [];
{
  let n = 0;
  for (const lane of ['a', 'b', 'c', 'direct'] as const) {
    for (let k = 0; k < COUNTS[lane]; k++, n++) {
      const fate: Planned['fate'] =
        (lane === 'a' && (k === 3 || k === 17)) || (lane === 'b' && k === 5) || (lane === 'c' && k === 2) || (lane === 'direct' && k === 4)
          ? 'denied'
          : lane === 'b' && (k === 10 || k === 11 || k === 12)
            ? 'stopped'
            : (lane === 'a' && k === 30) || (lane === 'direct' && k === 7)
              ? 'timeout'
              : 'exit';
      planned.push({ n, id: instanceId(n), lane, fate, code: n % 3 });
    }
  }
}
const denied = planned.filter((p) => p.fate === 'denied');
/** Unique to this run, so the check for a leftover `sleep` cannot see another test's. */
const SLEEP_MARK = `30.${process.pid % 10000}${Date.now() % 1000}`;

let sim: Simulator;
let home: string;
let awsDir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
let closed = false;
const savedEnv = { ...process.env };
const hostEvents: Array<{ runId: string; host: FleetHost }> = [];

beforeAll(async () => {
  if (sshdMissing) return;
  const lanes = ['a', 'b', 'c'] as const;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: lanes.map((l) => ({
        id: `vpc-0f1ee700000000${String(VPC_OF[l]).padStart(3, '0')}`,
        region: REGION,
        cidr: `10.${VPC_OF[l]}.0.0/16`,
        subnets: [{ id: `subnet-0f1ee700000000${VPC_OF[l]}`, availabilityZone: `${REGION}a`, cidr: `10.${VPC_OF[l]}.1.0/24` }],
      })),
      instances: planned.map((p) => {
        const vpc = p.lane === 'direct' ? 20 : VPC_OF[p.lane];
        return {
          id: p.id,
          region: REGION,
          subnetId: `subnet-0f1ee700000000${vpc}`,
          privateIp: `10.${vpc}.1.${10 + (p.n % 200)}`,
          // Loopback: a direct connection reaches the instance's sshd at its own port (the saved host names it).
          ...(p.lane === 'direct' ? { publicIp: '127.0.0.1' } : {}),
          ...(p.fate === 'stopped' ? { state: 'stopped' as const } : {}),
          amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
          tags: { Name: `node-${p.n}` },
        };
      }),
      endpoints: lanes.map((l) => ({ id: EICE[l], region: REGION, subnetId: `subnet-0f1ee700000000${VPC_OF[l]}` })),
      principals: [
        {
          ...FLEET,
          policies: [
            {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: '*', Resource: '*' },
                { Effect: 'Deny', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: denied.map((d) => `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${d.id}`) },
              ],
            },
          ],
        },
        { ...COLLEAGUE, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }] },
      ],
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  main = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
  backend.on('fleet.host', (e) => hostEvents.push(e));
  // The fleet as saved hosts in one group, which gives them the profile and region.
  const ports = new Map(sim.instances().map((i) => [i.id, i.sshPort]));
  const exported: HostExport = {
    format: 'keyless-hosts',
    version: 2,
    groups: [{ id: 'gfleet', name: 'fleet', parentId: null, settings: { profile: 'fleet', region: REGION }, notes: '' }],
    hosts: planned.map((p) => ({
      kind: 'ec2',
      id: `h${p.n}`,
      name: `node-${p.n}`,
      groupId: 'gfleet',
      tags: [],
      notes: '',
      favourite: false,
      instanceId: p.id,
      port: p.lane === 'direct' ? ports.get(p.id)! : 22,
      portForwards: [],
    })),
    smartGroups: [],
  };
  await backend.invoke('hosts.import', { json: JSON.stringify(exported) });
}, 300_000);

afterAll(async () => {
  if (sshdMissing) return;
  disconnect?.();
  if (!closed) await main?.close();
  await sim?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

/**
 * The script: it learns which instance it runs on from the sshd port in SSH_CONNECTION. It reads
 * its input first (a command run on many hosts must not eat the script's own lines), and is sent
 * with CRLF line endings (`exit 2\r` would be an error if they reached sh).
 */
function script(): string {
  const ports = new Map(sim.instances().map((i) => [i.id, i.sshPort]));
  const cases = planned
    .filter((p) => p.fate === 'exit' || p.fate === 'timeout')
    .map((p) => `  ${ports.get(p.id)}) n=${p.n}; c=${p.fate === 'timeout' ? 'sleep' : p.code};;`);
  return [
    'p=${SSH_CONNECTION##* }',
    'case "$p" in',
    ...cases,
    '  *) n=unknown; c=9;;',
    'esac',
    'if read -r line; then echo "swallowed: $line"; fi',
    'echo "fleet check"',
    'echo "host $n"',
    'echo "warning from $n" >&2',
    `if [ "$c" = sleep ]; then sleep ${SLEEP_MARK}; fi`,
    'exit $c',
  ].join('\r\n');
}

async function waitForRun(runId: string, timeoutMs: number): Promise<FleetRunSummary> {
  const started = Date.now();
  for (;;) {
    const { run } = await backend.invoke('fleet.get', { runId });
    if (run.state !== 'running') return run;
    if (Date.now() - started > timeoutMs) throw new Error(`run ${runId} still running: ${JSON.stringify(run.counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A colleague's tunnels: opened with their own credentials, held until closed. */
async function holdTunnels(endpointId: string, count: number): Promise<WebSocket[]> {
  const ep = sim.endpoints().find((e) => e.id === endpointId)!;
  const target = planned.find((p) => EICE[p.lane as 'a'] === endpointId)!;
  const ip = `10.${VPC_OF[target.lane as 'a']}.1.${10 + (target.n % 200)}`;
  const held: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const url = new URL(await presignOpenTunnel(COLLEAGUE, REGION, ep.dnsName, { endpointId, privateIp: ip }));
    const ws = new WebSocket(`${sim.tunnelEndpointFor(url.hostname)}${url.pathname}${url.search}`, { headers: { host: url.host } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`colleague tunnel refused: ${res.statusCode}`)));
    });
    held.push(ws);
  }
  return held;
}

describe.skipIf(!!sshdMissing)('fleet commands against the simulator', () => {
  let firstRun: FleetRunSummary;
  let hosts: FleetHost[];

  it('says before running how the group is reached: 87 through 3 endpoints, 10 direct, 3 stopped', async () => {
    const { reach, hosts: resolved } = await backend.invoke('fleet.resolve', { targets: { groupId: 'gfleet' } });
    expect(reach).toEqual({
      total: 100,
      endpoints: [
        { endpointId: EICE.a, hosts: 40 },
        { endpointId: EICE.b, hosts: 32 },
        { endpointId: EICE.c, hosts: 15 },
      ],
      throughEndpoints: 87,
      direct: 10,
      jump: 0,
      unreachable: 3,
    });
    // A stopped instance says so before anything is dialled, in the terminal's words (InstanceNotRunning).
    const stopped = resolved.filter((h) => h.state === 'error');
    expect(stopped.map((h) => [h.name, h.error?.code])).toEqual(planned.filter((p) => p.fate === 'stopped').map((p) => [`node-${p.n}`, 'InstanceNotRunning']));
  }, 120_000);

  it('runs the script on every host: exact outcome counts, per-host output, at most 20 tunnels per endpoint, colleagues waited for', async () => {
    sim.resetTunnelPeaks();
    const since = new Date();
    const colleague = await holdTunnels(EICE.a, 2);
    setTimeout(() => colleague.forEach((ws) => ws.close()), 6000);
    const t0 = Date.now();
    const started = await backend.invoke('fleet.run', { targets: { groupId: 'gfleet' }, command: script(), timeoutS: 8, concurrency: 60 });
    firstRun = await waitForRun(started.run.runId, 240_000);
    const wall = Date.now() - t0;
    const expected = {
      ok: planned.filter((p) => p.fate === 'exit' && p.code === 0).length,
      failed: planned.filter((p) => p.fate === 'exit' && p.code !== 0).length,
      error: denied.length + 3,
      timedOut: 2,
    };
    expect(firstRun.counts).toEqual({ total: 100, queued: 0, running: 0, cancelled: 0, ...expected });
    expect(firstRun.state).toBe('done');
    hosts = (await backend.invoke('fleet.get', { runId: firstRun.runId })).hosts;
    const byName = new Map(hosts.map((h) => [h.name, h]));
    for (const p of planned) {
      const h = byName.get(`node-${p.n}`)!;
      if (p.fate === 'denied') {
        // The terminal's words for a denied push: AWS's own AccessDenied through KeyPushRejected / AwsAccessDenied.
        expect([h.state, h.error?.code], h.name).toEqual(['error', expect.stringMatching(/^(KeyPushRejected|AwsAccessDenied)$/)]);
        continue;
      }
      if (p.fate === 'stopped') {
        expect([h.state, h.error?.code]).toEqual(['error', 'InstanceNotRunning']);
        continue;
      }
      const out = await backend.invoke('fleet.output', { runId: firstRun.runId, key: h.key });
      // Nothing swallowed the script's lines; stdout and stderr are kept apart.
      expect(out.stdout, h.name).toBe(`fleet check\nhost ${p.n}\n`);
      expect(out.stderr, h.name).toBe(`warning from ${p.n}\n`);
      expect(h.lastLine).toBe(`host ${p.n}`);
      if (p.fate === 'timeout') {
        expect(h.state, h.name).toBe('timedOut');
      } else {
        expect([h.state, h.exitCode], h.name).toEqual([p.code === 0 ? 'ok' : 'failed', p.code]);
        expect(h.via).toBe(p.lane === 'direct' ? 'direct' : 'eice');
      }
    }
    // The SSH signal stopped the timed-out commands on the hosts: no sleep of ours is left.
    const left = () => {
      try {
        return execFileSync('pgrep', ['-f', `sleep ${SLEEP_MARK}`], { encoding: 'utf8' }).trim();
      } catch {
        return '';
      }
    };
    await vi.waitFor(() => expect(left()).toBe(''), { timeout: 3000 });
    // Never a 21st tunnel on an endpoint: the 40-host endpoint was full (20 at once, 2 of them the colleague's), never refused as such to us twice over.
    const peaks = sim.tunnelPeaks();
    expect(peaks[EICE.a]).toBe(20);
    expect(peaks[EICE.b]).toBeLessThanOrEqual(20);
    expect(peaks[EICE.c]).toBeLessThanOrEqual(15);
    // The colleague's slots were refused to Keyless (the endpoint said 429) and waited for, not failed.
    const refusals = sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel' && e.errorCode === 'ThrottlingException' && e.eventTime >= since && e.identity.arn === FLEET.arn);
    expect(refusals.length).toBeGreaterThan(0);
    console.log(`fleet run on 100 hosts: ${wall} ms; tunnel peaks ${JSON.stringify(peaks)}; ${refusals.length} refusals for the colleague's slots, retried`);
    // Identical outputs are recognisable: every host that printed "host N" is unique, the digests say so.
    expect(new Set(hosts.filter((h) => h.outputDigest).map((h) => h.outputDigest)).size).toBe(100 - denied.length - 3);
  }, 300_000);

  it('waits out AWS throttling its key pushes: every host still runs', async () => {
    // Most pushes throttled (the SDK retries 3 times; the run backs off and connects again).
    sim.admin.setThrottle('SendSSHPublicKey', 0.7);
    try {
      const ids = planned.filter((p) => p.lane === 'c' && p.fate === 'exit').map((p) => `h${p.n}`);
      const { run } = await backend.invoke('fleet.run', { targets: { hostIds: ids }, command: 'echo throttled-but-ran', timeoutS: 30, concurrency: 20 });
      const done = await waitForRun(run.runId, 180_000);
      expect(done.counts).toMatchObject({ total: ids.length, ok: ids.length, error: 0 });
    } finally {
      sim.admin.resetFaults();
    }
  }, 240_000);

  it('re-runs exactly the hosts that did not succeed', async () => {
    const failedNames = hosts.filter((h) => h.state !== 'ok').map((h) => h.name).sort();
    const { run, hosts: rerunHosts } = await backend.invoke('fleet.rerun', { runId: firstRun.runId });
    expect(run.rerunOf).toBe(firstRun.runId);
    expect(rerunHosts.map((h) => h.name).sort()).toEqual(failedNames);
    await backend.invoke('fleet.cancel', { runId: run.runId });
    const cancelled = await waitForRun(run.runId, 60_000);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.counts.total).toBe(failedNames.length);
  }, 120_000);

  it('exports CSV with formula cells neutralised, and audits the run without its output', async () => {
    const csv = await backend.invoke('fleet.export', { runId: firstRun.runId, format: 'csv' });
    expect(csv.fileName).toMatch(/^keyless-run-r1-.*\.csv$/);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toMatch(/^host,instance,via,endpoint,state,exit_code/);
    expect(lines.filter((l) => l.startsWith('node-')).length).toBe(100);
    const json = JSON.parse((await backend.invoke('fleet.export', { runId: firstRun.runId, format: 'json' })).text) as { hosts: Array<{ name: string; stdout: string }> };
    expect(json.hosts.find((h) => h.name === 'node-0')?.stdout).toBe('fleet check\nhost 0\n');
    closed = true;
    await main.close();
    const audit = (await readFile(join(home, 'fleet-runs.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { runId: string; hosts: Array<{ name: string; state: string; profile: string | null }>; counts: unknown });
    const first = audit.find((a) => a.runId === firstRun.runId)!;
    expect(first.counts).toEqual(firstRun.counts);
    expect(first.hosts.find((h) => h.name === 'node-0')).toMatchObject({ state: 'ok', profile: 'fleet' });
    // The command is recorded, never what the hosts printed.
    expect(JSON.stringify(audit)).not.toMatch(/warning from \d|host \d/);
  }, 60_000);
});
