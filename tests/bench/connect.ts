/**
 * `npm run bench -- connect`: time from "connect" to the first byte of the shell through an EC2
 * Instance Connect Endpoint, with the simulator adding 50 ms to every API request and a loopback
 * proxy adding 50 ms to each direction of the tunnel. Side by side in one run:
 *  - Keyless, warm cache (the usual case: a second tab, a reconnect) and cold (first ever);
 *  - the same steps in process but one after another (describe → endpoints → push → tunnel → ssh),
 *    which isolates what the overlap buys;
 *  - the sequential path the AWS documentation gives, as real commands: `aws ec2 describe-instances`,
 *    `aws ec2 describe-instance-connect-endpoints`, `aws ec2-instance-connect send-ssh-public-key`,
 *    then OpenSSH `ssh` with a ProxyCommand bridging to the tunnel (the installed AWS CLI v1 has no
 *    `open-tunnel`, so the bridge stands in for it).
 * Round trips are counted in units of 50 ms. Prints the figures and writes tests/bench/results/connect.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClients } from '../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../electron/main/aws/inventory';
import { silentLogger } from '../../electron/main/base/log';
import { generateEphemeralKey } from '../../electron/main/connect/ephemeral-key';
import { InstanceConnector, type ConnectHooks, type Ec2Target } from '../../electron/main/connect/instance-connector';
import { pushKey } from '../../electron/main/connect/key-push';
import { planConnection } from '../../electron/main/connect/plan';
import { SshConnection } from '../../electron/main/ssh/connection';
import { KnownHosts } from '../../electron/main/ssh/known-hosts';
import { presignOpenTunnelUrl } from '../../electron/main/tunnel/presign';
import { startSimulator, type Simulator } from '../sim/index';

const LATENCY_MS = 50;
const RUNS = 5;
const REGION = 'us-east-1';
const INSTANCE = 'i-0b0b0b0b0b0b0b001';
const RESULTS = fileURLToPath(new URL('./results/connect.json', import.meta.url));
const BRIDGE = fileURLToPath(new URL('./support/tunnel-bridge.mjs', import.meta.url));

/** A TCP proxy that holds every chunk `ms` in each direction: the network between Keyless and the endpoint. */
async function delayProxy(targetPort: number, ms: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (d) => setTimeout(() => to.write(d), ms));
      from.on('end', () => setTimeout(() => to.end(), ms));
      from.on('error', () => to.destroy());
      from.on('close', () => setTimeout(() => to.destroy(), ms + 5));
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function firstShellByte(ssh: SshConnection): Promise<void> {
  const ch = await ssh.shell({ term: 'xterm-256color', cols: 80, rows: 24, width: 0, height: 0 });
  await new Promise<void>((resolve) => ch.once('data', () => resolve()));
  ch.close();
}

const hooks = (marks?: Record<string, number>, t0 = performance.now()): ConnectHooks => ({
  report(step, status) {
    if (marks && status !== 'failed') marks[`${step}:${status}`] = Math.round(performance.now() - t0);
  },
  askHostKey: async () => true,
  signal: new AbortController().signal,
});

export async function benchConnect(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-connect-'));
  const saved = { ...process.env };
  let sim: Simulator | undefined;
  let proxy: { port: number; close(): void } | undefined;
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
    // The AWS APIs on the path pay the latency; the instance's own metadata service (read by sshd's
    // AuthorizedKeysCommand on the instance) is local in AWS, so it does not.
    for (const op of ['DescribeInstances', 'DescribeImages', 'DescribeInstanceConnectEndpoints', 'GetConsoleOutput', 'SendSSHPublicKey', 'OpenTunnel']) sim.admin.setLatency(op, LATENCY_MS);
    proxy = await delayProxy(sim.port, LATENCY_MS);
    // Tunnels dial the endpoint through the delaying proxy; API calls go straight to the simulator (which adds its 50 ms).
    const tunnelEnv = { AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: `http://127.0.0.1:${proxy.port}` };
    const target: Ec2Target = { region: REGION, instanceId: INSTANCE, osUser: 'ec2-user', connectionType: 'eice', port: 22 };
    const knownHosts = new KnownHosts(join(dir, 'known_hosts'));
    const clients = new AwsClients(new SdkCredentialSource());
    const newConnector = () => new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts, log: silentLogger, env: tunnelEnv });

    // Keyless cold: a new inventory (Describe calls on the path), then warm: the same connector again.
    const cold: number[] = [];
    const warm: number[] = [];
    /** When each step started and ended in the last warm run, ms after "connect". */
    let warmMarks: Record<string, number> = {};
    for (let run = 0; run < RUNS; run++) {
      const connector = newConnector();
      let t0 = performance.now();
      let conn = await connector.connect(target, hooks());
      await firstShellByte(conn.ssh);
      cold.push(performance.now() - t0);
      conn.ssh.end();
      t0 = performance.now();
      warmMarks = {};
      conn = await connector.connect(target, hooks(warmMarks, t0));
      warmMarks['authenticated'] = Math.round(performance.now() - t0);
      await firstShellByte(conn.ssh);
      warm.push(performance.now() - t0);
      warmMarks['firstShellByte'] = Math.round(performance.now() - t0);
      conn.ssh.end();
    }

    // The same steps in process, one after another.
    const sequential: number[] = [];
    for (let run = 0; run < RUNS; run++) {
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
      sequential.push(performance.now() - t0);
      ssh.end();
      key.dispose();
    }

    // The documented CLI path as real commands.
    const cliSteps: Record<string, number[]> = { describeInstances: [], describeEndpoints: [], sendSshPublicKey: [], sshFirstByte: [] };
    const cliTotal: number[] = [];
    let cliNote = '';
    const awsOk = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0; // before any simulator call is awaited
    if (awsOk) {
      const keyDir = await mkdtemp(join(tmpdir(), 'keyless-bench-cli-key-'));
      try {
        for (let run = 0; run < RUNS; run++) {
          const keyFile = join(keyDir, `k${run}`);
          spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
          const pub = (await import('node:fs')).readFileSync(`${keyFile}.pub`, 'utf8').trim();
          // Asynchronously: the simulator answers from this very process.
          const timedCmd = (args: string[]) =>
            new Promise<{ ms: number; out: string }>((resolve, reject) => {
              const t0 = performance.now();
              const p = spawn('aws', args, { env: process.env });
              let out = '';
              let err = '';
              p.stdout.on('data', (d: Buffer) => (out += d.toString()));
              p.stderr.on('data', (d: Buffer) => (err += d.toString()));
              p.once('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`aws ${args.slice(0, 2).join(' ')} failed: ${err}`))));
            });
          const t0 = performance.now();
          const di = await timedCmd(['ec2', 'describe-instances', '--region', REGION, '--instance-ids', INSTANCE, '--output', 'json']);
          cliSteps.describeInstances!.push(di.ms);
          const privateIp = (JSON.parse(di.out) as { Reservations: Array<{ Instances: Array<{ PrivateIpAddress: string; VpcId: string }> }> }).Reservations[0]!.Instances[0]!;
          const de = await timedCmd(['ec2', 'describe-instance-connect-endpoints', '--region', REGION, '--filters', `Name=vpc-id,Values=${privateIp.VpcId}`, '--output', 'json']);
          cliSteps.describeEndpoints!.push(de.ms);
          const ep = (JSON.parse(de.out) as { InstanceConnectEndpoints: Array<{ InstanceConnectEndpointId: string; DnsName: string }> }).InstanceConnectEndpoints[0]!;
          const sp = await timedCmd(['ec2-instance-connect', 'send-ssh-public-key', '--region', REGION, '--instance-id', INSTANCE, '--instance-os-user', 'ec2-user', '--ssh-public-key', pub]);
          cliSteps.sendSshPublicKey!.push(sp.ms);
          const creds = await new SdkCredentialSource().credentials(undefined);
          const url = await presignOpenTunnelUrl({ dnsName: ep.DnsName, endpointId: ep.InstanceConnectEndpointId, privateIpAddress: privateIp.PrivateIpAddress, remotePort: 22, region: REGION }, creds);
          const t1 = performance.now();
          await new Promise<void>((resolve, reject) => {
            const ssh = spawn(
              'ssh',
              ['-tt', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ProxyCommand=node ${BRIDGE}`, `ec2-user@${privateIp.PrivateIpAddress}`],
              { env: { ...process.env, KEYLESS_BENCH_TUNNEL_URL: url, KEYLESS_BENCH_TUNNEL_DIAL: `http://127.0.0.1:${proxy!.port}` }, stdio: ['pipe', 'pipe', 'pipe'] },
            );
            let err = '';
            ssh.stderr.on('data', (d: Buffer) => (err += d.toString()));
            ssh.stdout.once('data', () => {
              ssh.kill();
              resolve();
            });
            ssh.once('exit', (code) => (code ? reject(new Error(`ssh exited ${code}: ${err}`)) : undefined));
          });
          cliSteps.sshFirstByte!.push(performance.now() - t1);
          cliTotal.push(performance.now() - t0);
        }
      } finally {
        await rm(keyDir, { recursive: true, force: true });
      }
      cliNote = `${spawnSync('aws', ['--version'], { encoding: 'utf8' }).stdout.trim() || 'aws'}; open-tunnel replaced by a Node ProxyCommand bridge (CLI v1 has no open-tunnel)`;
    } else {
      cliNote = 'the aws command is not installed: CLI path not measured';
    }

    const rt = (ms: number) => Math.round((ms / LATENCY_MS) * 10) / 10;
    const result = {
      latencyMsPerRequestAndTunnelDirection: LATENCY_MS,
      runs: RUNS,
      keylessWarm: { medianMs: Math.round(median(warm)), roundTrips: rt(median(warm)), samplesMs: warm.map(Math.round), stepsOfLastRunMs: warmMarks },
      keylessCold: { medianMs: Math.round(median(cold)), roundTrips: rt(median(cold)), samplesMs: cold.map(Math.round) },
      sequentialInProcess: { medianMs: Math.round(median(sequential)), roundTrips: rt(median(sequential)), samplesMs: sequential.map(Math.round) },
      awsCliPath: cliTotal.length
        ? {
            medianMs: Math.round(median(cliTotal)),
            roundTrips: rt(median(cliTotal)),
            stepsMedianMs: Object.fromEntries(Object.entries(cliSteps).map(([k, v]) => [k, Math.round(median(v))])),
            note: cliNote,
          }
        : { note: cliNote },
      ratios: {
        sequentialInProcessOverKeylessWarm: Math.round((median(sequential) / median(warm)) * 100) / 100,
        ...(cliTotal.length ? { awsCliOverKeylessWarm: Math.round((median(cliTotal) / median(warm)) * 100) / 100 } : {}),
      },
    };
    process.stdout.write(
      [
        `connect to first shell byte through EICE, ${LATENCY_MS} ms per request and per tunnel direction, median of ${RUNS}:`,
        `  Keyless (warm cache)          ${result.keylessWarm.medianMs} ms  (${result.keylessWarm.roundTrips} × ${LATENCY_MS} ms)`,
        `    steps (ms after connect): ${Object.entries(warmMarks).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `  Keyless (cold: Describe calls) ${result.keylessCold.medianMs} ms  (${result.keylessCold.roundTrips} × ${LATENCY_MS} ms)`,
        `  same steps, sequential         ${result.sequentialInProcess.medianMs} ms  (${result.sequentialInProcess.roundTrips} × ${LATENCY_MS} ms)  ratio ${result.ratios.sequentialInProcessOverKeylessWarm}×`,
        cliTotal.length
          ? `  aws CLI + ssh (documented)     ${Math.round(median(cliTotal))} ms  (${rt(median(cliTotal))} × ${LATENCY_MS} ms)  ratio ${result.ratios.awsCliOverKeylessWarm}×  [${cliNote}]`
          : `  aws CLI + ssh: ${cliNote}`,
        '',
      ].join('\n'),
    );
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`written to ${RESULTS}\n`);
    clients.dispose();
    return result;
  } finally {
    proxy?.close();
    await sim?.stop();
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
}
