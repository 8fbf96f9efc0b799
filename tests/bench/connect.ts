/**
 * `npm run bench -- connect`: time from "connect" to the first byte of the shell through an EC2
 * Instance Connect Endpoint, with the simulator adding 50 ms to every API request and a loopback
 * link adding 50 ms to each direction of the tunnel (so one tunnel round trip costs 100 ms, one API
 * request 50 ms). Side by side in one run:
 *  - Keyless, warm cache (the usual case: a second tab, a reconnect) and cold (first ever);
 *  - the same steps in process but one after another (describe → endpoints → push → tunnel → ssh),
 *    which isolates what the overlap buys;
 *  - the sequential path the AWS documentation gives, as real commands: `aws ec2 describe-instances`,
 *    `aws ec2 describe-instance-connect-endpoints`, `aws ec2-instance-connect send-ssh-public-key`,
 *    then OpenSSH `ssh` with a ProxyCommand bridging to the tunnel (the installed AWS CLI v1 has no
 *    `open-tunnel`, so the bridge stands in for it).
 *
 * How round trips are counted (measured, not ms ÷ 50): every path also runs with the API latency
 * raised to 250 ms (tunnel left at 50 ms a direction), and with the tunnel latency raised to 250 ms
 * a direction (API left at 50 ms). A path's time grows by 200 ms per API request on its critical
 * path and by 400 ms per tunnel round trip on it, so
 *   API requests = Δ(API 50 → 250) / 200 ms,   tunnel round trips = Δ(tunnel 50 → 250) / 400 ms,
 *   round trips = API requests + tunnel round trips,
 *   fixed cost = time − 50 ms × API requests − 100 ms × tunnel round trips (CPU, processes, sshd…),
 * for the whole path and for each of Keyless's steps (medians of the runs). As a cross-check the
 * link counts "turns" on each tunnel: client bursts that follow a server burst. A turn is at most
 * one round trip (one answering a message the server sent unasked, like its SSH banner, costs none).
 * The openTunnel upgrade crosses the delayed link, so its round trip already costs 100 ms; the
 * simulator adds no per-request latency of its own to it.
 * Prints the figures and writes tests/bench/results/connect.json.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { delayLink } from './support/delay-link';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AwsClients } from '../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../electron/main/connect/ec2-inventory';
import { silentLogger } from '../../electron/main/base/log';
import { generateEphemeralKey } from '../../electron/main/connect/ephemeral-key';
import type { ConnectHooks } from '../../electron/main/connect/connector';
import { InstanceConnector, type Ec2Target } from '../../electron/main/connect/instance-connector';
import { pushKey } from '../../electron/main/connect/key-push';
import { planConnection } from '../../electron/main/connect/plan';
import { SshConnection } from '../../electron/main/ssh/connection';
import { KnownHosts } from '../../electron/main/ssh/known-hosts';
import { presignOpenTunnelUrl } from '../../electron/main/tunnel/presign';
import { startSimulator, type Simulator } from '../sim/index';
import { installAuthorizedKeysCommand } from '../sim/sshd';

const LATENCY_MS = 50;
/** The raised latency of the two extra configurations that measure the round trips. */
const HIGH_MS = 250;
const RUNS = 5;
const RUNS_RAISED = 3;
const REGION = 'us-east-1';
const INSTANCE = 'i-0b0b0b0b0b0b0b001';
const RESULTS = fileURLToPath(new URL('./results/connect.json', import.meta.url));
const BRIDGE = fileURLToPath(new URL('./support/tunnel-bridge.mjs', import.meta.url));
/** The AWS API calls any path makes; the openTunnel upgrade is left out (see above). */
const API_OPS = ['DescribeInstances', 'DescribeImages', 'DescribeInstanceConnectEndpoints', 'GetConsoleOutput', 'SendSSHPublicKey'];

interface Config {
  name: 'base' | 'apiRaised' | 'tunnelRaised';
  apiMs: number;
  tunnelMs: number;
  runs: number;
}
const CONFIGS: Config[] = [
  { name: 'base', apiMs: LATENCY_MS, tunnelMs: LATENCY_MS, runs: RUNS },
  { name: 'apiRaised', apiMs: HIGH_MS, tunnelMs: LATENCY_MS, runs: RUNS_RAISED },
  { name: 'tunnelRaised', apiMs: LATENCY_MS, tunnelMs: HIGH_MS, runs: RUNS_RAISED },
];


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round1 = (x: number) => Math.round(x * 10) / 10;

async function firstShellByte(ssh: SshConnection): Promise<void> {
  const ch = await ssh.shell({ term: 'xterm-256color', cols: 80, rows: 24, width: 0, height: 0 });
  await new Promise<void>((resolve) => ch.once('data', () => resolve()));
  ch.close();
}

const hooks = (marks?: Record<string, number>, t0 = performance.now()): ConnectHooks => ({
  report(step, status) {
    if (marks && status !== 'failed') marks[`${step}:${status}`] = performance.now() - t0;
  },
  askHostKey: async () => true,
  askPassphrase: async () => null,
  signal: new AbortController().signal,
});

/** Keyless's steps as [name, from mark, to mark]; keyPush runs beside tunnel and connect. */
const STEPS: [string, string, string][] = [
  ['credentials + plan', 'resolve:start', 'resolve:done'],
  ['keyPush (parallel)', 'keyPush:start', 'keyPush:done'],
  ['tunnel open', 'tunnel:start', 'tunnel:done'],
  ['SSH key exchange', 'connect:start', 'connect:done'],
  ['host key check', 'hostKey:start', 'hostKey:done'],
  ['authenticate', 'authenticate:start', 'authenticate:done'],
  ['shell to first byte', 'authenticate:done', 'firstShellByte'],
];

type PathName = 'keylessWarm' | 'keylessCold' | 'sequentialInProcess' | 'awsCliPath';
interface Samples {
  total: Record<PathName, number[]>;
  /** Keyless warm: each step's duration per run, ms. */
  steps: Record<string, number[]>;
  /** Keyless warm: tunnel turns per run, and the Instance Connect calls (SendSSHPublicKey, OpenTunnel) the simulator recorded in the last one. */
  turns: number[];
  trailed: string[];
  cliTurns: number[];
}

export async function benchConnect(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-connect-'));
  const saved = { ...process.env };
  const load = loadavg().map((x) => round1(x));
  let sim: Simulator | undefined;
  let link: Awaited<ReturnType<typeof delayLink>> | undefined;
  try {
    sim = await startSimulator({
      regions: [REGION],
      fleet: {
        vpcs: [{ id: 'vpc-0b0b0b0b0b0b0b0b1', region: REGION, cidr: '10.20.0.0/16', subnets: [{ id: 'subnet-0b0b0b0b0b0b0b01', availabilityZone: `${REGION}a`, cidr: '10.20.1.0/24' }] }],
        instances: [{ id: INSTANCE, region: REGION, subnetId: 'subnet-0b0b0b0b0b0b0b01', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' }],
        endpoints: [{ id: 'eice-0b0b0b0b0b0b0b001', region: REGION, subnetId: 'subnet-0b0b0b0b0b0b0b01' }],
      },
    });
    const files = await sim.writeAwsConfig(join(dir, 'aws'), { region: REGION, sso: false });
    process.env.AWS_CONFIG_FILE = files.configFile;
    process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
    delete process.env.AWS_PROFILE;
    link = await delayLink(sim.port, LATENCY_MS);
    const theLink = link;
    const theSim = sim;
    // Tunnels dial the endpoint through the delaying link; API calls go straight to the simulator (which adds its latency).
    const tunnelEnv = { AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: `http://127.0.0.1:${link.port}` };
    const target: Ec2Target = { region: REGION, instanceId: INSTANCE, osUser: 'ec2-user', connectionType: 'eice', port: 22 };
    const knownHosts = new KnownHosts(join(dir, 'known_hosts'));
    const clients = new AwsClients(new SdkCredentialSource());
    const newConnector = () => new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts, log: silentLogger, env: tunnelEnv });
    const awsOk = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0; // before any simulator call is awaited
    const keyDir = await mkdtemp(join(tmpdir(), 'keyless-bench-cli-key-'));

    const measure = async (config: Config): Promise<Samples> => {
      for (const op of API_OPS) theSim.admin.setLatency(op, config.apiMs);
      theLink.ms = config.tunnelMs;
      const s: Samples = { total: { keylessWarm: [], keylessCold: [], sequentialInProcess: [], awsCliPath: [] }, steps: {}, turns: [], trailed: [], cliTurns: [] };

      // Keyless cold: a new inventory (Describe calls on the path), then warm: the same connector again.
      for (let run = 0; run < config.runs; run++) {
        const connector = newConnector();
        let t0 = performance.now();
        let conn = await connector.connect({ kind: 'ec2', label: target.instanceId, target }, undefined, hooks());
        await firstShellByte(conn.ssh);
        s.total.keylessCold.push(performance.now() - t0);
        conn.ssh.end();
        const marks: Record<string, number> = {};
        const trailBefore = theSim.admin.trail().length;
        theLink.turns = 0;
        t0 = performance.now();
        conn = await connector.connect({ kind: 'ec2', label: target.instanceId, target }, undefined, hooks(marks, t0));
        await firstShellByte(conn.ssh);
        marks.firstShellByte = performance.now() - t0;
        s.total.keylessWarm.push(marks.firstShellByte);
        s.turns.push(theLink.turns);
        s.trailed = theSim.admin.trail().slice(trailBefore).map((e) => e.eventName);
        for (const [name, from, to] of STEPS) (s.steps[name] ??= []).push((marks[to] ?? NaN) - (marks[from] ?? NaN));
        conn.ssh.end();
      }

      // The same steps in process, one after another.
      for (let run = 0; run < config.runs; run++) {
        const inventory = new Ec2Inventory(clients);
        const t0 = performance.now();
        const instance = await inventory.instance(undefined, REGION, INSTANCE);
        const endpoints = await inventory.endpoints(undefined, REGION, instance.vpcId!);
        const plan = planConnection(instance, endpoints, { connectionType: 'eice', port: 22 });
        const key = generateEphemeralKey();
        await pushKey(clients, { profile: undefined, region: REGION, instanceId: INSTANCE, osUser: 'ec2-user' }, key.publicKey);
        if (plan.kind !== 'eice') throw new Error('expected a tunnel');
        const sock = await newConnector().openTunnel(target, plan, 22);
        const ssh = await SshConnection.open(
          { host: plan.address, port: 22, user: 'ec2-user', identity: { kind: 'key', privateKey: key.privateKey }, sock, verifyHostKey: async () => {} },
          () => {},
          new AbortController().signal,
        );
        await firstShellByte(ssh);
        s.total.sequentialInProcess.push(performance.now() - t0);
        ssh.end();
        key.dispose();
      }

      // The documented CLI path as real commands.
      if (!awsOk) return s;
      for (let run = 0; run < config.runs; run++) {
        const keyFile = join(keyDir, `k-${config.name}-${run}`);
        spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
        const pub = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
        // Asynchronously: the simulator answers from this very process.
        const aws = (args: string[]) =>
          new Promise<string>((resolve, reject) => {
            const p = spawn('aws', args, { env: process.env });
            let out = '';
            let err = '';
            p.stdout.on('data', (d: Buffer) => (out += d.toString()));
            p.stderr.on('data', (d: Buffer) => (err += d.toString()));
            p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`aws ${args.slice(0, 2).join(' ')} failed: ${err}`))));
          });
        const t0 = performance.now();
        const di = await aws(['ec2', 'describe-instances', '--region', REGION, '--instance-ids', INSTANCE, '--output', 'json']);
        const inst = (JSON.parse(di) as { Reservations: Array<{ Instances: Array<{ PrivateIpAddress: string; VpcId: string }> }> }).Reservations[0]!.Instances[0]!;
        const de = await aws(['ec2', 'describe-instance-connect-endpoints', '--region', REGION, '--filters', `Name=vpc-id,Values=${inst.VpcId}`, '--output', 'json']);
        const ep = (JSON.parse(de) as { InstanceConnectEndpoints: Array<{ InstanceConnectEndpointId: string; DnsName: string }> }).InstanceConnectEndpoints[0]!;
        await aws(['ec2-instance-connect', 'send-ssh-public-key', '--region', REGION, '--instance-id', INSTANCE, '--instance-os-user', 'ec2-user', '--ssh-public-key', pub]);
        const creds = await new SdkCredentialSource().credentials(undefined);
        const url = await presignOpenTunnelUrl({ dnsName: ep.DnsName, endpointId: ep.InstanceConnectEndpointId, privateIpAddress: inst.PrivateIpAddress, remotePort: 22, region: REGION }, creds);
        theLink.turns = 0;
        await new Promise<void>((resolve, reject) => {
          const ssh = spawn(
            'ssh',
            ['-tt', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ProxyCommand=node ${BRIDGE}`, `ec2-user@${inst.PrivateIpAddress}`],
            { env: { ...process.env, KEYLESS_BENCH_TUNNEL_URL: url, KEYLESS_BENCH_TUNNEL_DIAL: `http://127.0.0.1:${theLink.port}` }, stdio: ['pipe', 'pipe', 'pipe'] },
          );
          let err = '';
          ssh.stderr.on('data', (d: Buffer) => (err += d.toString()));
          ssh.stdout.once('data', () => {
            ssh.kill();
            resolve();
          });
          ssh.once('exit', (code) => (code ? reject(new Error(`ssh exited ${code}: ${err}`)) : undefined));
        });
        s.total.awsCliPath.push(performance.now() - t0);
        s.cliTurns.push(theLink.turns);
      }
      return s;
    };

    const measured: Partial<Record<Config['name'], Samples>> = {};
    try {
      for (const config of CONFIGS) measured[config.name] = await measure(config);
    } finally {
      await rm(keyDir, { recursive: true, force: true });
    }
    const [base, api, tun] = [measured.base!, measured.apiRaised!, measured.tunnelRaised!];
    const delta = HIGH_MS - LATENCY_MS;
    /** A duration's cost split into API requests, tunnel round trips and the rest, from its medians in the three configurations. */
    const split = (b: number[], a: number[], t: number[]) => {
      const ms = median(b);
      const apiRequests = (median(a) - ms) / delta;
      const tunnelRoundTrips = (median(t) - ms) / (2 * delta);
      return {
        ms: Math.round(ms),
        roundTrips: round1(apiRequests + tunnelRoundTrips),
        apiRequests: round1(apiRequests),
        tunnelRoundTrips: round1(tunnelRoundTrips),
        fixedMs: Math.round(ms - LATENCY_MS * apiRequests - 2 * LATENCY_MS * tunnelRoundTrips),
      };
    };
    const paths = Object.fromEntries(
      (['keylessWarm', 'keylessCold', 'sequentialInProcess', 'awsCliPath'] as PathName[])
        .filter((p) => base.total[p].length)
        .map((p) => [p, { ...split(base.total[p], api.total[p], tun.total[p]), samplesMs: base.total[p].map(Math.round) }]),
    ) as Record<PathName, ReturnType<typeof split> & { samplesMs: number[] }>;
    const steps = Object.fromEntries(STEPS.map(([name]) => [name, split(base.steps[name]!, api.steps[name]!, tun.steps[name]!)]));

    // The simulator's AuthorizedKeysCommand on its own (sshd runs it twice per authentication).
    const akc: number[] = [];
    const command = await installAuthorizedKeysCommand();
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const keyB64 = generateEphemeralKey().publicKey.split(' ')[1]!;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await promisify(execFile)(command, ['ec2-user', keyB64, join(sim.dir, INSTANCE, 'managed-ssh-keys'), INSTANCE], asUser);
      akc.push(performance.now() - t0);
    }

    const warm = paths.keylessWarm;
    const ratio = (p: PathName) => (paths[p] ? Math.round((paths[p].ms / warm.ms) * 100) / 100 : undefined);
    const cliNote = awsOk
      ? `${spawnSync('aws', ['--version'], { encoding: 'utf8' }).stdout.trim() || 'aws'}; open-tunnel replaced by a Node ProxyCommand bridge (CLI v1 has no open-tunnel)`
      : 'the aws command is not installed: CLI path not measured';
    const result = {
      latencyMsPerRequestAndTunnelDirection: LATENCY_MS,
      method:
        `round trips = API requests + tunnel round trips on the critical path, from the growth of the median time when the API latency is raised to ${HIGH_MS} ms ` +
        `(÷ ${delta} ms per request) and when the tunnel latency is raised to ${HIGH_MS} ms a direction (÷ ${2 * delta} ms per round trip); fixedMs is what remains at ${LATENCY_MS} ms`,
      runs: { base: RUNS, raised: RUNS_RAISED },
      node: process.version,
      loadAverage: load,
      keylessWarm: { ...warm, tunnelTurns: median(base.turns), instanceConnectCallsRecorded: base.trailed, steps },
      keylessCold: paths.keylessCold,
      sequentialInProcess: paths.sequentialInProcess,
      awsCliPath: paths.awsCliPath ? { ...paths.awsCliPath, tunnelTurns: median(base.cliTurns), note: cliNote } : { note: cliNote },
      ratios: {
        sequentialInProcessOverKeylessWarm: ratio('sequentialInProcess'),
        ...(paths.awsCliPath ? { awsCliOverKeylessWarm: ratio('awsCliPath') } : {}),
      },
      simAuthorizedKeysCommandMs: { median: round1(median(akc)), max: round1(Math.max(...akc)), note: 'one call, run as sshd runs it; sshd calls it twice per authentication' },
      medianMsPerConfiguration: Object.fromEntries(CONFIGS.map((c) => [`api ${c.apiMs} ms, tunnel ${c.tunnelMs} ms/direction`, Object.fromEntries(Object.entries(measured[c.name]!.total).filter(([, v]) => v.length).map(([k, v]) => [k, Math.round(median(v))]))])),
    };

    const row = (label: string, p: ReturnType<typeof split> | undefined, extra = '') =>
      p ? `  ${label.padEnd(30)} ${String(p.ms).padStart(5)} ms  ${String(p.roundTrips).padStart(4)} round trips (${p.apiRequests} API + ${p.tunnelRoundTrips} tunnel), fixed ${p.fixedMs} ms${extra}` : `  ${label}: not measured`;
    process.stdout.write(
      [
        `connect to first shell byte through EICE: ${LATENCY_MS} ms per API request, ${LATENCY_MS} ms per tunnel direction (${2 * LATENCY_MS} ms a tunnel round trip); median of ${RUNS}; load average ${load.join(' ')}`,
        `round trips measured: each path again with API latency ${HIGH_MS} ms and with tunnel latency ${HIGH_MS} ms/direction (${RUNS_RAISED} runs each); API requests = Δ/${delta} ms, tunnel round trips = Δ/${2 * delta} ms`,
        row('Keyless (warm cache)', warm, `; ${median(base.turns)} tunnel turns; Instance Connect calls the simulator recorded: ${base.trailed.join(', ')}`),
        ...STEPS.map(([name]) => row(`    ${name}`, steps[name])),
        row('Keyless (cold: Describe calls)', paths.keylessCold),
        row('same steps, sequential', paths.sequentialInProcess, `; ratio ${result.ratios.sequentialInProcessOverKeylessWarm}× Keyless warm`),
        paths.awsCliPath
          ? row('aws CLI + OpenSSH (documented)', paths.awsCliPath, `; ${median(base.cliTurns)} tunnel turns; ratio ${result.ratios.awsCliOverKeylessWarm}× Keyless warm [${cliNote}]`)
          : `  aws CLI + ssh: ${cliNote}`,
        `  simulator AuthorizedKeysCommand: ${result.simAuthorizedKeysCommandMs.median} ms a call (max ${result.simAuthorizedKeysCommandMs.max}), twice per authentication`,
        '',
      ].join('\n'),
    );
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`written to ${RESULTS}\n`);
    clients.dispose();
    return result;
  } finally {
    link?.close();
    await sim?.stop();
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
}
