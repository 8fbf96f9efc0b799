/**
 * `npm run bench -- files` (`-- files --quick` for a short run that proves it works): Keyless's
 * transfers against OpenSSH's `sftp` (batch mode) and `scp`, side by side in one run, against the
 * same simulated instance's sshd, through the same EICE tunnel (the simulator's openTunnel
 * WebSocket behind a loopback link that can add latency), with the same cipher and MAC:
 *  - a 1 GiB file down and up, and a folder of 500 files of 4 KiB down and up;
 *  - with no added latency, and with 50 ms each way on the tunnel;
 *  - the client (Keyless's backend in a process of its own; sftp/scp with ssh and the tunnel
 *    bridge as its ProxyCommand) pinned to core 0, the simulator (in a process of its own, with
 *    the link) and sshd to core 1 (`taskset`), so the figures measure the client;
 *  - CPU seconds per MB for each (Keyless's own process; OpenSSH's sftp/scp, ssh and bridge
 *    together, sampled from /proc), and Keyless's RSS growth during the 1 GiB transfers;
 *  - time of the transfer itself: Keyless connects first (as a Files view is connected), and sftp's
 *    batch stamps the time (`!date`) just before and after its put or get, so neither counts the
 *    connection; scp has no batch, and its figure is the whole command's;
 *  - with no added latency each transfer runs in 3 rounds, Keyless, sftp and scp one after the
 *    other in each, and the figure is the median round's (`--rounds N` for another count);
 *  - every upload is of a new file or folder: the tool's own copy from the last round is removed
 *    just before its run, outside the measurement (see uploadsNothingThere);
 * OpenSSH authenticates with a key in an ssh-agent, pushed with SendSSHPublicKey before each run
 * as the AWS CLI would. Targets (issue 14): large file ≥ 1.0× sftp at 50 ms and ≥ 0.9× at 0 ms;
 * the 500-file folder ≥ 3× sftp at 50 ms; RSS growth < 64 MB. Writes tests/bench/results/files.json.
 * A partial run (written to files-partial.json, not kept): `--only big|small`, `--ms 0|50`,
 * `--big-mb N`, `--no-scp`, `--rounds N`, and `--cpu-prof DIR` for a V8 profile of Keyless's process, e.g.
 * `npm run bench -- files --only big --ms 0 --big-mb 256 --no-scp`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClients } from '../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../electron/main/connect/ec2-inventory';
import { pushKey } from '../../electron/main/connect/key-push';
import { presignOpenTunnelUrl } from '../../electron/main/tunnel/presign';
import { writeSeeded } from '../integration/files/support';
import { simulatorProcess, type SimulatorProcess } from './support/sim-process';
import { statTicks, TICKS } from './support/proc-stat';

const REGION = 'us-east-1';
const INSTANCE = 'i-0f0f0f0f0f0f0f001';
const RESULTS = fileURLToPath(new URL('./results/files.json', import.meta.url));
const BRIDGE = fileURLToPath(new URL('./support/tunnel-bridge.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./support/files-client.ts', import.meta.url));
const MB = 1024 * 1024;

interface Figure {
  /** The transfer's own seconds (for Keyless and sftp: the connection is open before and stays open after). */
  seconds: number;
  /** sftp and scp: the whole command, the connection (through the tunnel) and its close included. */
  wallSeconds?: number;
  /** Every round's seconds, the figure being the median round's. */
  secondsEach?: number[];
  MBps: number;
  cpuSecondsPerMB: number;
  /** The server side's CPU seconds per MB over the run: the simulator and the tunnel link (their process), the sampling (this process), and sshd. */
  serverCpuSecondsPerMB?: number;
  /** Keyless only: seconds of garbage-collection pauses per MB. */
  gcSecondsPerMB?: number;
  /** Keyless only: CPU of V8's worker threads (concurrent marking and sweeping, background compiling), on the same pinned core. */
  v8WorkerSecondsPerMB?: number;
  /** Keyless only: garbage collections by kind (count, milliseconds). */
  gcKinds?: Record<string, { n: number; ms: number }>;
  rssGrowthMB?: number;
  error?: string;
}

/** `taskset -c <core>` in front of a command where the machine has two cores or more. */
const pinned = (core: number, cmd: string[]) => (cpus().length >= 2 && existsSync('/usr/bin/taskset') ? ['taskset', '-c', String(core), ...cmd] : cmd);

/**
 * Writes the dirty pages out before a run (the seeded file, the last run's upload): otherwise the
 * kernel's writeback of the gigabyte written before lands on whichever run comes next.
 */
const settle = () => execFileSync('sync');

/** utime + stime (ticks) of a process, from /proc; undefined once it is gone. */
const cpuTicks = (pid: number) => statTicks(`/proc/${pid}/stat`);

/** A process's children, from each of its threads' /proc children list (no walk of all of /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** A process and all under it. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!));
  return out;
}

const commOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/**
 * CPU ticks of the sshd the simulator process (simPid) started, sessions included: each sshd process's own time and
 * what its reaped children used (a session's time lands in its parent's when it ends), so the sum
 * over those alive now is all the tree has used.
 */
function sshdTicks(simPid: number): number {
  let total = 0;
  for (const pid of childrenOf(simPid).filter((c) => commOf(c).startsWith('sshd')).flatMap(tree)) {
    total += statTicks(`/proc/${pid}/stat`, true) ?? 0;
  }
  return total;
}

/**
 * Runs a command; `cpuSeconds` is the CPU of it and every process under it (sftp, the ssh it
 * starts, the ProxyCommand), sampled from /proc every 20 ms (ssh does not wait for its
 * ProxyCommand, so a parent's rusage would miss it). The processes are looked for every 250 ms,
 * through /proc's children lists: a walk of all of /proc every 20 ms took a fifth of the server's
 * core (where this process runs). `serverCpuSeconds`: the server side's over
 * the same time (the simulator's process with the link, this process, and sshd's processes).
 */
function run(cmd: string[], env: NodeJS.ProcessEnv, simPid: number): Promise<{ code: number | null; out: string; err: string; cpuSeconds: number; serverCpuSeconds: number }> {
  return new Promise((resolve) => {
    const self0 = process.cpuUsage();
    const sim0 = cpuTicks(simPid) ?? 0;
    const sshd0 = sshdTicks(simPid);
    let sshd = 0;
    const p = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const last = new Map<number, number>();
    let known = [p.pid!];
    const sample = () => {
      for (const pid of known) {
        const t = cpuTicks(pid);
        if (t !== undefined) last.set(pid, Math.max(t, last.get(pid) ?? 0));
      }
    };
    const look = () => {
      known = tree(p.pid!);
      sshd = Math.max(sshd, sshdTicks(simPid) - sshd0);
      sample();
    };
    look();
    const timer = setInterval(sample, 20);
    const looker = setInterval(look, 250);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => {
      clearInterval(timer);
      clearInterval(looker);
      const self = process.cpuUsage(self0);
      const sim = (cpuTicks(simPid) ?? sim0) - sim0;
      sshd = Math.max(sshd, sshdTicks(simPid) - sshd0);
      resolve({ code, out, err, cpuSeconds: [...last.values()].reduce((a, b) => a + b, 0) / TICKS, serverCpuSeconds: (self.user + self.system) / 1e6 + (sim + sshd) / TICKS });
    });
  });
}

export interface FilesBenchOptions {
  quick: boolean;
  /** `--only big` / `--only small`: one kind of transfer (default both); `--only bigUp`: the upload alone. */
  only?: 'big' | 'small' | 'bigUp';
  /** `--ms 0` / `--ms 50`: one added latency (default 0 and 50; 0 with --quick). */
  ms?: number;
  /** `--big-mb N`: the large file's size (default 1024; 64 with --quick). */
  bigMB?: number;
  /** `--cpu-prof <dir>`: Keyless's client process writes a V8 CPU profile there. */
  cpuProf?: string;
  /** `--no-scp`: sftp only beside Keyless. */
  noScp?: boolean;
  /** `--rounds N`: rounds of each transfer (default 3 with no added latency, 1 at 50 ms). */
  rounds?: number;
}

/** The median round (by seconds), with every round's seconds beside it. */
function medianRound(figures: Figure[]): Figure {
  const sorted = [...figures].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[(sorted.length - 1) >> 1]!;
  return figures.length > 1 ? { ...mid, secondsEach: figures.map((f) => f.seconds) } : mid;
}

/** sftp's batch prints `!date +%s.%N` before and after the transfer: the seconds between. */
function stampedSeconds(out: string): number | undefined {
  const stamps = [...out.matchAll(/^(\d+\.\d+)$/gm)].map((m) => Number(m[1]));
  return stamps.length === 2 ? stamps[1]! - stamps[0]! : undefined;
}

export async function benchFiles(opts: FilesBenchOptions): Promise<Record<string, unknown>> {
  const bigBytes = (opts.bigMB ?? (opts.quick ? 64 : 1024)) * MB;
  const smallCount = opts.quick ? 100 : 500;
  const latencies = opts.ms !== undefined ? [opts.ms] : opts.quick ? [0] : [0, 50];
  const whats = (['bigUp', 'bigDown', 'smallUp', 'smallDown'] as const).filter((w) => !opts.only || w.startsWith(opts.only));
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-files-'));
  const saved = { ...process.env };
  const load = loadavg().map((x) => Math.round(x * 10) / 10);
  // The simulator and sshd (started from here, so they inherit it) on core 1; clients on core 0.
  if (cpus().length >= 2 && existsSync('/usr/bin/taskset')) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  let sim: SimulatorProcess | undefined;
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    // The simulator and its delay link in a process of their own (as AWS is not in the client's),
    // so the server side's garbage collector works on the service's heap alone, not on this
    // process's SDK clients and results as well.
    sim = await simulatorProcess(dir, {
      region: REGION,
      latencyMs: 0,
      options: {
        regions: [REGION],
        sshdLogLevel: 'DEBUG1',
        fleet: {
          vpcs: [{ id: 'vpc-0f0f0f0f0f0f0f0a1', region: REGION, cidr: '10.30.0.0/16', subnets: [{ id: 'subnet-0f0f0f0f0f0f0f01', availabilityZone: `${REGION}a`, cidr: '10.30.1.0/24' }] }],
          instances: [{ id: INSTANCE, region: REGION, subnetId: 'subnet-0f0f0f0f0f0f0f01', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' }],
          endpoints: [{ id: 'eice-0f0f0f0f0f0f0f0e1', region: REGION, subnetId: 'subnet-0f0f0f0f0f0f0f01' }],
        },
      },
    });
    const simPid = sim.pid;
    process.env.AWS_CONFIG_FILE = sim.configFile;
    process.env.AWS_SHARED_CREDENTIALS_FILE = sim.credentialsFile;
    delete process.env.AWS_PROFILE;
    const tunnelDial = `http://127.0.0.1:${sim.linkPort}`;
    const clients = new AwsClients(new SdkCredentialSource());
    const instance = await new Ec2Inventory(clients).instance(undefined, REGION, INSTANCE);
    const endpoint = (await new Ec2Inventory(clients).endpoints(undefined, REGION, instance.vpcId!))[0]!;

    // What moves: a seeded large file, and a folder of small ones.
    const big = join(dir, 'big.bin');
    await writeSeeded(big, bigBytes, 'bench-files');
    const small = join(dir, 'small');
    await mkdir(small);
    for (let i = 0; i < smallCount; i++) await writeFile(join(small, `f${String(i).padStart(4, '0')}.txt`), Buffer.alloc(4096, i & 0xff));
    const remoteHome = '/home/ec2-user';

    // OpenSSH's key, in an agent.
    const keyFile = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const agentSock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-add', ['-q', keyFile], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
    const publicKey = (await readFile(`${keyFile}.pub`, 'utf8')).trim();

    // One client process per transfer, so that the server side's CPU over it is the transfer's.
    const keylessRun = async (what: (typeof whats)[number], label: string): Promise<Figure> => {
      const remoteDir = `${remoteHome}/keyless-${label}`;
      const op = {
        bigUp: { name: 'bigUp', kind: 'upload', local: big },
        bigDown: { name: 'bigDown', kind: 'download', local: 'big.bin', remote: `${remoteDir}/big.bin` },
        smallUp: { name: 'smallUp', kind: 'upload', local: small },
        smallDown: { name: 'smallDown', kind: 'download', local: 'small', remote: `${remoteDir}/small` },
      }[what];
      const job = { target: { region: REGION, instanceId: INSTANCE, connectionType: 'eice' as const }, remoteDir, ops: [op] };
      const prof = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [];
      settle();
      const r = await run(pinned(0, [process.execPath, ...prof, '--import', 'tsx', CLIENT]), {
        ...process.env,
        KEYLESS_BENCH_FILES_JOB: JSON.stringify(job),
        AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: tunnelDial,
      }, simPid);
      if (r.code !== 0) throw new Error(`the Keyless client failed: ${r.err.slice(-2000)}`);
      const line = r.out.trim().split('\n').at(-1)!;
      const m = JSON.parse(line) as { name: string; state: string; error?: string; bytes: number; seconds: number; cpuSeconds: number; gcSeconds: number; v8WorkerSeconds: number; gcKinds: Record<string, { n: number; ms: number }>; rssGrowthMB: number };
      const mb = (m.name.startsWith('big') ? bigBytes : smallCount * 4096) / MB;
      return {
        seconds: round(m.seconds, 2),
        MBps: round(mb / m.seconds, 1),
        cpuSecondsPerMB: round(m.cpuSeconds / mb, 4),
        serverCpuSecondsPerMB: round(r.serverCpuSeconds / mb, 4),
        gcSecondsPerMB: round(m.gcSeconds / mb, 4),
        v8WorkerSecondsPerMB: round(m.v8WorkerSeconds / mb, 4),
        gcKinds: Object.fromEntries(Object.entries(m.gcKinds).map(([k, v]) => [k, { n: v.n, ms: Math.round(v.ms) }])),
        ...(m.name.startsWith('big') ? { rssGrowthMB: round(m.rssGrowthMB, 1) } : {}),
        ...(m.state !== 'done' ? { error: `${m.state} ${m.error ?? ''}` } : {}),
      };
    };

    /** The cipher and MAC sshd logged for the last connection, to give OpenSSH the same. */
    const negotiated = async () => {
      const log = await sim!.sshdLog(INSTANCE);
      const m = [...log.matchAll(/kex: client->server cipher: (\S+) MAC: (\S+)/g)].at(-1);
      return m ? { cipher: m[1]!, mac: m[2]! } : undefined;
    };

    const opensshRun = async (tool: 'sftp' | 'scp', what: 'bigUp' | 'bigDown' | 'smallUp' | 'smallDown', label: string, algo: { cipher: string; mac: string } | undefined): Promise<Figure> => {
      // A fresh key push for each run (it is good for 60 s), and a fresh presigned tunnel URL.
      await pushKey(clients, { profile: undefined, region: REGION, instanceId: INSTANCE, osUser: 'ec2-user' }, publicKey);
      const creds = await new SdkCredentialSource().credentials(undefined);
      const url = await presignOpenTunnelUrl({ dnsName: endpoint.dnsName, endpointId: endpoint.endpointId, privateIpAddress: instance.privateIpAddress!, remotePort: 22, region: REGION }, creds);
      const sshOpts = [
        '-o', 'IdentitiesOnly=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
        '-o', `ProxyCommand=${process.execPath} ${BRIDGE}`,
        ...(algo ? ['-c', algo.cipher, ...(algo.mac !== '<implicit>' ? ['-o', `MACs=${algo.mac}`] : [])] : []),
      ];
      const remoteDir = `${remoteHome}/${tool}-${label}`;
      const target = `ec2-user@${instance.privateIpAddress}`;
      const local = join(dir, `${tool}-${label}-down`);
      await mkdir(local, { recursive: true });
      let cmd: string[];
      if (tool === 'sftp') {
        const batch = join(dir, `batch-${tool}-${what}-${label}`);
        const [before, transfer] = {
          bigUp: [[`-mkdir ${remoteDir}`], `put ${big} ${remoteDir}/big.bin`],
          bigDown: [[], `get ${remoteDir}/big.bin ${local}/big.bin`],
          smallUp: [[`-mkdir ${remoteDir}`], `put -r ${small} ${remoteDir}/small`],
          smallDown: [[], `get -r ${remoteDir}/small ${local}/small`],
        }[what] as [string[], string];
        await writeFile(batch, [...before, '!date +%s.%N', transfer, '!date +%s.%N'].join('\n') + '\n');
        cmd = ['sftp', '-q', '-b', batch, ...sshOpts, target];
      } else {
        const args = {
          bigUp: [big, `${target}:${remoteDir}/big.bin`],
          bigDown: [`${target}:${remoteDir}/big.bin`, `${local}/big.bin`],
          smallUp: ['-r', small, `${target}:${remoteDir}/small`],
          smallDown: ['-r', `${target}:${remoteDir}/small`, `${local}/small`],
        }[what];
        cmd = ['scp', '-q', ...sshOpts, ...args];
      }
      const env = { ...process.env, SSH_AUTH_SOCK: agentSock, KEYLESS_BENCH_TUNNEL_URL: url, KEYLESS_BENCH_TUNNEL_DIAL: tunnelDial };
      if (tool === 'scp' && what.endsWith('Up')) {
        // scp makes no folder to put things in: made first, outside the measurement.
        const mk = join(dir, `mkdir-${label}`);
        await writeFile(mk, `-mkdir ${remoteDir}\n`);
        await run(['sftp', '-q', '-b', mk, ...sshOpts, target], env, simPid);
      }
      settle();
      const t0 = performance.now();
      const r = await run(pinned(0, cmd), env, simPid);
      const wallSeconds = (performance.now() - t0) / 1000;
      const stamped = tool === 'sftp' ? stampedSeconds(r.out) : undefined;
      if (tool === 'sftp' && stamped === undefined && r.code === 0) throw new Error(`sftp's batch did not print its two time stamps: ${r.out.slice(0, 300)}`);
      const seconds = stamped ?? wallSeconds;
      const mb = (what.startsWith('big') ? bigBytes : smallCount * 4096) / MB;
      await rm(local, { recursive: true, force: true });
      return {
        seconds: round(seconds, 2),
        wallSeconds: round(wallSeconds, 2),
        MBps: round(mb / seconds, 1),
        cpuSecondsPerMB: round(r.cpuSeconds / mb, 4),
        serverCpuSecondsPerMB: round(r.serverCpuSeconds / mb, 4),
        ...(r.code !== 0 ? { error: r.err.trim().slice(0, 300) } : {}),
      };
    };

    /**
     * Every upload is of something new: what the tool's last round put there is removed first,
     * just before the tool's own run and outside its measurement. A folder must go up into no
     * folder (scp -r into an existing one would nest it). A file replacing the last round's one
     * measured this machine's memory instead of the client: sftp truncates the old file and writes
     * into the page cache it just freed, while Keyless writes a temporary file beside the old one
     * (which goes at the rename), so its gigabyte landed in pages the guest had not touched for a
     * while, which this virtual machine backs again on first touch at about a tenth of the speed
     * (perf: sshd's sftp-servers spent 404 samples copying a Keyless gigabyte into the page cache
     * against 36 for sftp's; Keyless's 1 GiB upload with no added latency read 0.59-0.78× sftp
     * before this, 0.77-0.95× with it). Replacing a file is tested, not benchmarked (files-sshd's
     * "an existing target: … replace keeps its mode").
     * The instance's home is this machine's /home/ec2-user.
     */
    const uploadsNothingThere = (tool: 'keyless' | 'sftp' | 'scp', what: (typeof whats)[number], label: string) =>
      what === 'bigUp' || what === 'smallUp' ? rm(join(remoteHome, `${tool}-${label}`, what === 'bigUp' ? 'big.bin' : 'small'), { recursive: true, force: true }) : Promise.resolve();

    const byLatency: Record<string, unknown> = {};
    let algo: { cipher: string; mac: string } | undefined;
    for (const ms of latencies) {
      await sim.setLinkLatency(ms);
      const label = `${ms}ms`;
      const rounds = opts.rounds ?? (ms === 0 ? 3 : 1);
      const keyless: Record<string, Figure> = {};
      const sftp: Record<string, Figure> = {};
      const scp: Record<string, Figure> = {};
      for (const what of whats) {
        const each: Record<'keyless' | 'sftp' | 'scp', Figure[]> = { keyless: [], sftp: [], scp: [] };
        for (let round = 0; round < rounds; round++) {
          await uploadsNothingThere('keyless', what, label);
          each.keyless.push(await keylessRun(what, label));
          algo ??= await negotiated();
          await uploadsNothingThere('sftp', what, label);
          each.sftp.push(await opensshRun('sftp', what, label, algo));
          if (!opts.noScp) {
            await uploadsNothingThere('scp', what, label);
            each.scp.push(await opensshRun('scp', what, label, algo));
          }
        }
        keyless[what] = medianRound(each.keyless);
        sftp[what] = medianRound(each.sftp);
        if (!opts.noScp) scp[what] = medianRound(each.scp);
      }
      const ratio = (what: string) => (sftp[what] && keyless[what] ? round(sftp[what].seconds / keyless[what].seconds, 2) : undefined);
      byLatency[label] = {
        rounds,
        keyless,
        sftp,
        scp,
        keylessVsSftpThroughput: Object.fromEntries(whats.map((w) => [w, ratio(w)])),
      };
      console.log(`\n${label} added each way on the tunnel`);
      console.table(
        Object.fromEntries(
          whats.map((w) => [
            w,
            { keylessMBps: keyless[w]?.MBps, sftpMBps: sftp[w]?.MBps, scpMBps: scp[w]?.MBps, 'keyless÷sftp': ratio(w), keylessCpuPerMB: keyless[w]?.cpuSecondsPerMB, keylessGcPerMB: keyless[w]?.gcSecondsPerMB, keylessV8WorkersPerMB: keyless[w]?.v8WorkerSecondsPerMB, sftpCpuPerMB: sftp[w]?.cpuSecondsPerMB, keylessServerCpuPerMB: keyless[w]?.serverCpuSecondsPerMB, sftpServerCpuPerMB: sftp[w]?.serverCpuSecondsPerMB },
          ]),
        ),
      );
    }
    // A partial run (--only, --ms, --big-mb, --rounds) leaves the full run's figures as they are.
    const partial = opts.only !== undefined || opts.ms !== undefined || opts.bigMB !== undefined || opts.rounds !== undefined;
    const result = {
      quick: opts.quick,
      ...(partial ? { partial: { only: opts.only ?? 'both', ms: opts.ms ?? 'all', scp: !opts.noScp, rounds: opts.rounds ?? 'default' } } : {}),
      timing: "seconds of the transfer itself (Keyless: connected before; sftp: between !date stamps in its batch; scp: the whole command, connection included); each latency's figure is its median round (rounds: how many)",
      uploads: "each upload is of a new file or folder: the tool's own copy from the last round is removed just before its run, outside the measurement",
      sizes: { bigMB: bigBytes / MB, smallFiles: smallCount, smallFileBytes: 4096 },
      negotiated: algo ?? 'not found in the sshd log',
      pinning: cpus().length >= 2 ? 'client (Keyless backend process; sftp/scp with ssh and the tunnel bridge) on core 0; simulator and sshd on core 1' : 'one core: not pinned',
      scp: spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim() + ' (scp uses the SFTP protocol since OpenSSH 9.0)',
      targets: { bigAt50ms: '≥ 1.0× sftp', bigAt0ms: '≥ 0.9× sftp', smallAt50ms: '≥ 3× sftp', rssGrowthMB: '< 64' },
      node: process.version,
      loadAverage: load,
      results: byLatency,
    };
    await mkdir(join(RESULTS, '..'), { recursive: true });
    const file = partial ? RESULTS.replace(/\.json$/, '-partial.json') : RESULTS;
    await writeFile(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwrote ${file}`);
    return result;
  } finally {
    agent?.kill();
    await sim?.stop();
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
