/**
 * `npm run bench -- fleet [--quick]`: `uname -a` on 100 simulated instances (each a real sshd)
 * behind 3 Instance Connect Endpoints (40/40/20), with 50 ms added to every AWS API call and to
 * each direction of every tunnel, two ways:
 *
 * - Keyless: one fleet run on a group of saved hosts (its backend in this process, through its
 *   contract), at most 20 tunnels per endpoint, 60 hosts at once.
 * - The scripted way: `xargs -P 20` over a per-host shell script: `aws ec2-instance-connect
 *   send-ssh-public-key` (AWS CLI v1), then OpenSSH with a ProxyCommand tunnel. CLI v1 has no
 *   `open-tunnel`, so its stand-in is a presigned URL fetched from this process over loopback HTTP
 *   (curl) and `tests/bench/support/tunnel-bridge.mjs` (Node, `ws`) carrying the bytes, as
 *   `aws ec2-instance-connect open-tunnel` would.
 *
 * Also one host alone (Keyless, cold), for the target: wall time ≤ 1.3 × one host's time ×
 * ceil(hosts behind the busiest endpoint / 20). CPU: this process's (Keyless), the simulator
 * process's (API, tunnels; its sshds are not counted) and the scripted way's child processes (aws,
 * curl, ssh, the bridge: bash's `times`). The load average is recorded. `--quick`: 20 instances (8/8/4), to check the bench runs.
 */
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { simulatorProcess, type SimulatorProcess } from './support/sim-process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostExport } from '../../electron/contract';
import { SdkCredentialSource } from '../../electron/main/aws/credentials';
import { silentLogger } from '../../electron/main/base/log';
import { createBackend } from '../../electron/main/backend';
import { ContractServer } from '../../electron/main/rpc/contract-server';
import { presignOpenTunnelUrl } from '../../electron/main/tunnel/presign';
import { Backend } from '../../renderer/lib/backend/backend';
import { connectInMemory } from '../support/memory-transport';

const REGION = 'us-east-1';
const LATENCY_MS = 50;
const BRIDGE = fileURLToPath(new URL('./support/tunnel-bridge.mjs', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/fleet.json', import.meta.url));


const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const cpuS = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

export async function benchFleet(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const split = opts.quick ? [8, 8, 4] : [40, 40, 20];
  const total = split.reduce((a, b) => a + b, 0);
  const loadBefore = loadavg().map((x) => round(x, 2));
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-fleet-'));
  const saved = { ...process.env };
  let sim: SimulatorProcess | undefined;
  try {
    const vpc = (k: number) => `vpc-0f1ee7b00000000${k}0`.slice(0, 21);
    const subnet = (k: number) => `subnet-0f1ee7b0000000${k}0`;
    const instances = split.flatMap((n, k) =>
      Array.from({ length: n }, (_, j) => ({
        id: `i-0f1ee7b${String(k).padStart(2, '0')}${j.toString(16).padStart(8, '0')}`,
        region: REGION,
        subnetId: subnet(k),
        privateIp: `10.${30 + k}.1.${10 + j}`,
        amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
        tags: { Name: `bench-${k}-${j}` },
      })),
    );
    const endpointOf = (n: number) => `eice-0f1ee7b000000000${instances[n]!.subnetId.slice(-2, -1)}`;
    const t0 = performance.now();
    // The simulator, its sshds and the link run in a process of their own: AWS is not in the app's
    // process, and sharing its event loop would slow Keyless by the simulator's work.
    // 50 ms on every API call (the simulator holds each answer) and on each direction of every tunnel (the link).
    sim = await simulatorProcess(dir, {
      region: REGION,
      latencyMs: LATENCY_MS,
      options: {
        regions: [REGION],
        fleet: {
          vpcs: split.map((_, k) => ({ id: vpc(k), region: REGION, cidr: `10.${30 + k}.0.0/16`, subnets: [{ id: subnet(k), availabilityZone: `${REGION}a`, cidr: `10.${30 + k}.1.0/24` }] })),
          instances,
          endpoints: split.map((_, k) => ({ id: `eice-0f1ee7b000000000${k}`, region: REGION, subnetId: subnet(k) })),
        },
      },
    });
    const simStartS = round((performance.now() - t0) / 1000);
    process.env.AWS_CONFIG_FILE = sim.configFile;
    process.env.AWS_SHARED_CREDENTIALS_FILE = sim.credentialsFile;
    process.env.AWS_PROFILE = 'default';
    // Both ways dial the endpoint (tunnels and Instance Connect calls) through the link.
    process.env.AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT = `http://127.0.0.1:${sim.linkPort}`;

    // Keyless: saved hosts in one group, run through the contract.
    const home = join(dir, 'keyless');
    const main = await createBackend({ home, transport: 'web', version: 'bench', systemLocale: 'en', log: silentLogger, userKnownHosts: [], awsCredentials: new SdkCredentialSource(), connectionLingerMs: 0 });
    const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
    const backend = new Backend(bridge);
    const exported: HostExport = {
      format: 'keyless-hosts',
      version: 2,
      groups: [
        { id: 'gbench', name: 'bench', parentId: null, settings: { profile: 'default', region: REGION }, notes: '' },
        { id: 'gone', name: 'one', parentId: null, settings: { profile: 'default', region: REGION }, notes: '' },
      ],
      hosts: instances.map((i, n) => ({ kind: 'ec2', id: `h${n}`, name: i.tags.Name, groupId: n === 0 ? 'gone' : 'gbench', tags: [], notes: '', favourite: false, instanceId: i.id, port: 22, portForwards: [] })),
      smartGroups: [],
    };
    await backend.invoke('hosts.import', { json: JSON.stringify(exported) });
    const runOn = async (targets: { groupId: string } | { hostIds: string[] }) => {
      const sim0 = (await sim!.stats()).cpuS;
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const { run } = await backend.invoke('fleet.run', { targets, command: 'uname -a', timeoutS: 120, concurrency: 60 });
      // fleet.run answers once every host is planned (its route, direct or which endpoint).
      const planMs = performance.now() - start;
      const done = await main.fleet.whenDone(run.runId);
      const ms = performance.now() - start;
      const cpu = cpuS(process.cpuUsage(cpu0));
      return { ms, planMs, cpuS: cpu, simCpuS: (await sim!.stats()).cpuS - sim0, counts: done.counts, hosts: (await backend.invoke('fleet.get', { runId: run.runId })).hosts };
    };
    // One host alone, cold (nothing cached): what one connect-and-run costs here.
    const one = await runOn({ groupId: 'gone' });
    const all = await runOn({ hostIds: instances.map((_, n) => `h${n}`) });
    const { peaks, cpuS: simBeforeScriptedS } = await sim.stats();
    peer.dispose();
    await main.close();

    // The scripted way.
    const keyFile = join(dir, 'id_ed25519');
    await new Promise<void>((resolve, reject) => spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]).once('exit', (c) => (c === 0 ? resolve() : reject(new Error('ssh-keygen failed')))));
    const creds = await new SdkCredentialSource().credentials('default');
    const endpoints = new Map(sim.endpoints.map((e) => [e.id, e.dnsName]));
    // The open-tunnel stand-in's signing half: a fresh presigned URL per host, asked for with curl.
    const presigner = createHttpServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const ep = q.get('ep') ?? '';
      void presignOpenTunnelUrl({ dnsName: endpoints.get(ep) ?? '', endpointId: ep, privateIpAddress: q.get('ip') ?? '', remotePort: 22, region: REGION }, creds).then((url) => res.end(url));
    });
    await new Promise<void>((r) => presigner.listen(0, '127.0.0.1', r));
    const presignPort = (presigner.address() as { port: number }).port;
    const outDir = join(dir, 'out');
    const script = join(dir, 'host.sh');
    await writeFile(
      script,
      [
        'set -e',
        'id=$1; ip=$2; ep=$3',
        `aws ec2-instance-connect send-ssh-public-key --region ${REGION} --instance-id "$id" --instance-os-user ec2-user --ssh-public-key "file://${keyFile}.pub" >/dev/null`,
        `url=$(curl -s "http://127.0.0.1:${presignPort}/?ip=$ip&ep=$ep")`,
        `KEYLESS_BENCH_TUNNEL_URL="$url" KEYLESS_BENCH_TUNNEL_DIAL="http://127.0.0.1:${sim.linkPort}" ssh -i ${keyFile} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=60 -o "ProxyCommand=node ${BRIDGE}" "ec2-user@$ip" uname -a > "${outDir}/$id" 2>&1`,
        '',
      ].join('\n'),
    );
    await mkdir(outDir);
    const list = instances.map((i, n) => `${i.id} ${i.privateIp} ${endpointOf(n)}`).join('\n') + '\n';
    await writeFile(join(dir, 'hosts.txt'), list);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const scripted = await new Promise<{ code: number | null; out: string }>((resolve) => {
      // bash's `times` after xargs: the CPU of every process it waited for (aws, curl, ssh, the bridge).
      const p = spawn('bash', ['-c', `xargs -P 20 -L 1 bash ${script} < ${join(dir, 'hosts.txt')}; rc=$?; times; exit $rc`], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.once('exit', (code) => resolve({ code, out }));
    });
    const scriptedMs = performance.now() - start;
    const scriptedProcessCpuS = cpuS(process.cpuUsage(cpu0));
    const scriptedSimCpuS = (await sim.stats()).cpuS - simBeforeScriptedS;
    presigner.close();
    const times = [...scripted.out.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    // `times` prints the shell's own user/sys, then its children's: the last two figures.
    const childCpuS = times.length >= 4 ? times[2]! + times[3]! : NaN;
    const outputs = await readdir(outDir);
    let scriptedOk = 0;
    let failureSample = '';
    for (const f of outputs) {
      const text = await readFile(join(outDir, f), 'utf8');
      if (text.startsWith('Linux ')) scriptedOk++;
      else failureSample ||= text.slice(0, 400);
    }

    const busiest = Math.max(...split);
    const factor = Math.ceil(busiest / 20);
    const keylessOk = all.hosts.filter((h) => h.state === 'ok' && h.lastLine.startsWith('Linux ')).length;
    const result = {
      name: 'fleet',
      when: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      underLoad: true,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg().map((x) => round(x, 2)),
      quick: opts.quick,
      hosts: total,
      endpoints: split,
      addedLatencyMs: { apiPerCall: LATENCY_MS, tunnelPerDirection: LATENCY_MS },
      simulatorStartS: simStartS,
      keyless: {
        oneHostMs: Math.round(one.ms),
        wallMs: Math.round(all.ms),
        /** Of the wall time: until every host was planned (route, endpoint), before the first connect. */
        planMs: Math.round(all.planMs),
        oneHostPlanMs: Math.round(one.planMs),
        ok: keylessOk,
        counts: all.counts,
        tunnelPeaks: peaks,
        processCpuS: round(all.cpuS, 2),
        processCpuNote: 'this process: Keyless alone (the simulator runs in its own process)',
        simulatorCpuS: round(all.simCpuS, 2),
        targetMs: Math.round(1.3 * one.ms * factor),
        meetsTarget: all.ms <= 1.3 * one.ms * factor,
      },
      scripted: {
        how: 'xargs -P 20 over bash: aws ec2-instance-connect send-ssh-public-key (AWS CLI v1) ; curl for a presigned openTunnel URL (stand-in for CLI v2 open-tunnel, which v1 lacks) ; ssh with ProxyCommand node tests/bench/support/tunnel-bridge.mjs',
        cli: 'aws-cli v1',
        wallMs: Math.round(scriptedMs),
        exitCode: scripted.code,
        ok: scriptedOk,
        ...(failureSample || scriptedOk < total ? { failureSample: failureSample || scripted.out.slice(0, 400) } : {}),
        childCpuS: round(childCpuS, 2),
        processCpuS: round(scriptedProcessCpuS, 2),
        processCpuNote: 'this process during the scripted run: the presigner (the open-tunnel stand-in signing URLs)',
        simulatorCpuS: round(scriptedSimCpuS, 2),
      },
      speedup: round(scriptedMs / all.ms, 2),
      targets: { wallAtMost: '1.3 × oneHostMs × ceil(busiest endpoint hosts / 20)', speedupAtLeast: 5 },
    };
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await sim?.stop();
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
}
