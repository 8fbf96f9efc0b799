/**
 * `npm run bench -- bridge [--quick]`: `ssh i-… true` through the OpenSSH bridge (`keyless proxy`
 * as ProxyCommand, the key in its agent, host keys from `keyless known-hosts`) against the connect
 * benchmark's stand-in for the AWS CLI's path (`aws ec2 describe-instances`, `aws ec2
 * describe-instance-connect-endpoints`, `aws ec2-instance-connect send-ssh-public-key` with a key
 * file, then ssh with a Node ProxyCommand bridging to the openTunnel WebSocket), in the same run,
 * to an instance behind a simulated EICE. The simulator adds 50 ms to every API request and a
 * loopback link adds 50 ms to each direction of every connection to the endpoint address (the
 * tunnel; the bridge's key push also goes there, since one override names the Instance Connect
 * endpoint for both). Round trips: API requests the simulator authorized during the run plus the
 * link's turns (client bursts after a server burst). Process start cost is measured on its own:
 * `node bin/keyless.mjs help` and `aws --version`, against `node -e 0`.
 * Writes tests/bench/results/bridge.json.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { delayLink } from './support/delay-link';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SdkCredentialSource } from '../../electron/main/aws/credentials';
import { silentLogger } from '../../electron/main/base/log';
import { FleetInventory } from '../../electron/main/inventory/fleet-inventory';
import { InventoryCache } from '../../electron/main/inventory/inventory-cache';
import { ProfileCredentials } from '../../electron/main/profiles/profile-credentials';
import { presignOpenTunnelUrl } from '../../electron/main/tunnel/presign';
import { startSimulator } from '../sim/index';

const LATENCY_MS = 50;
const REGION = 'us-west-2';
const INSTANCE = 'i-0b71d9e0b71d9e001';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keyless.mjs');
const CLI_BRIDGE = join(ROOT, 'tests', 'bench', 'support', 'tunnel-bridge.mjs');
const API_OPS = ['DescribeInstances', 'DescribeImages', 'DescribeInstanceConnectEndpoints', 'GetConsoleOutput', 'SendSSHPublicKey'];
const run = promisify(execFile);


const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const round1 = (x: number) => Math.round(x * 10) / 10;

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
  return performance.now() - t0;
}

export async function benchBridge(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const runs = opts.quick ? 2 : 7;
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-bridge-'));
  const load = loadavg().map(round1);
  await run(process.execPath, [join(ROOT, 'scripts', 'build-bridge.mjs')]);
  const sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0b71d9e0b71d9e0a1', region: REGION, cidr: '10.21.0.0/16', subnets: [{ id: 'subnet-0b71d9e0b71d9e01', availabilityZone: `${REGION}a`, cidr: '10.21.1.0/24' }] }],
      instances: [{ id: INSTANCE, region: REGION, subnetId: 'subnet-0b71d9e0b71d9e01', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' }],
      endpoints: [{ id: 'eice-0b71d9e0b71d9e0a1', region: REGION, subnetId: 'subnet-0b71d9e0b71d9e01' }],
    },
  });
  const link = await delayLink(sim.port, LATENCY_MS);
  try {
    const files = await sim.writeAwsConfig(join(dir, 'aws'), { region: REGION, sso: false });
    const home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile, AWS_REGION: REGION };
    // The tunnel (and the bridge's push) cross the delaying link.
    const viaLink = { AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: `http://127.0.0.1:${link.port}` };
    const warmHome = join(dir, 'keyless-warm');
    const coldHome = join(dir, 'keyless-cold');

    // The warm case's inventory cache on disk, written by the app's own refresh.
    Object.assign(process.env, { AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile });
    const cache = new InventoryCache(join(warmHome, 'inventory.json'));
    const fleet = new FleetInventory({ credentials: new ProfileCredentials(), cache, log: silentLogger });
    await fleet.refresh({ profiles: ['default'], regions: [REGION] }, { signal: new AbortController().signal });
    await cache.flushed();
    fleet.dispose();
    for (const op of API_OPS) sim.admin.setLatency(op, LATENCY_MS);

    const configFor = async (keylessHome: string) => {
      const printed = (await run(process.execPath, [BIN, 'ssh-config'], { env: { ...base, KEYLESS_HOME: keylessHome } })).stdout;
      const file = join(dir, `ssh_config_${keylessHome.endsWith('warm') ? 'warm' : 'cold'}`);
      await writeFile(file, ['Host *', '    User ec2-user', '    BatchMode yes', `    UserKnownHostsFile ${join(dir, 'known_hosts_none')}`, '    GlobalKnownHostsFile /dev/null', '    StrictHostKeyChecking yes', '    LogLevel ERROR', '', printed].join('\n'));
      return file;
    };
    const warmConfig = await configFor(warmHome);
    const coldConfig = await configFor(coldHome);

    type Sample = { ms: number; apiRequests: number; tunnelTurns: number };
    /** API requests the simulator authorized since `since`, but not those whose request crossed the link (already a turn there). */
    const apiRequestsSince = (since: Date, onLink: string[]) => sim.admin.authorizations(since).filter((a) => !onLink.includes(a.action)).length;
    const bridgeRun = async (config: string, keylessHome: string): Promise<Sample> => {
      const since = new Date();
      link.turns = 0;
      const ms = await timed('ssh', ['-F', config, INSTANCE, 'true'], { ...base, ...viaLink, KEYLESS_HOME: keylessHome });
      return { ms, apiRequests: apiRequestsSince(since, ['ec2-instance-connect:OpenTunnel', 'ec2-instance-connect:SendSSHPublicKey']), tunnelTurns: link.turns };
    };
    const cliRun = async (k: number): Promise<Sample> => {
      const keyFile = join(dir, `cli-key-${k}`);
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
      const pub = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
      const aws = async (args: string[]) => (await run('aws', [...args, '--region', REGION, '--output', 'json'], { env: base })).stdout;
      const since = new Date();
      link.turns = 0;
      const t0 = performance.now();
      const inst = (JSON.parse(await aws(['ec2', 'describe-instances', '--instance-ids', INSTANCE])) as { Reservations: Array<{ Instances: Array<{ PrivateIpAddress: string; VpcId: string }> }> }).Reservations[0]!.Instances[0]!;
      const ep = (JSON.parse(await aws(['ec2', 'describe-instance-connect-endpoints', '--filters', `Name=vpc-id,Values=${inst.VpcId}`])) as { InstanceConnectEndpoints: Array<{ InstanceConnectEndpointId: string; DnsName: string }> })
        .InstanceConnectEndpoints[0]!;
      await aws(['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', INSTANCE, '--instance-os-user', 'ec2-user', '--ssh-public-key', pub]);
      const url = await presignOpenTunnelUrl({ dnsName: ep.DnsName, endpointId: ep.InstanceConnectEndpointId, privateIpAddress: inst.PrivateIpAddress, remotePort: 22, region: REGION }, await new SdkCredentialSource().credentials(undefined));
      await new Promise<void>((resolve, reject) => {
        const ssh = spawn(
          'ssh',
          ['-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ProxyCommand=node ${CLI_BRIDGE}`, `ec2-user@${inst.PrivateIpAddress}`, 'true'],
          { env: { ...base, KEYLESS_BENCH_TUNNEL_URL: url, KEYLESS_BENCH_TUNNEL_DIAL: `http://127.0.0.1:${link.port}` }, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let err = '';
        ssh.stderr.on('data', (d: Buffer) => (err += d.toString()));
        ssh.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited ${code}: ${err}`))));
      });
      return { ms: performance.now() - t0, apiRequests: apiRequestsSince(since, ['ec2-instance-connect:OpenTunnel']), tunnelTurns: link.turns };
    };

    const awsOk = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
    const samples: Record<'bridgeWarmCache' | 'bridgeColdCache' | 'awsCliPath', Sample[]> = { bridgeWarmCache: [], bridgeColdCache: [], awsCliPath: [] };
    // Interleaved, so load that comes and goes falls on every path alike. The first bridge run
    // meets the host key (console output); it is not counted.
    await bridgeRun(warmConfig, warmHome);
    await bridgeRun(coldConfig, coldHome);
    for (let i = 0; i < runs; i++) {
      samples.bridgeWarmCache.push(await bridgeRun(warmConfig, warmHome));
      // Cold: no inventory cache on disk (the known_hosts stays, as it would for a host met before).
      await rm(join(coldHome, 'inventory.json'), { force: true });
      samples.bridgeColdCache.push(await bridgeRun(coldConfig, coldHome));
      if (awsOk) samples.awsCliPath.push(await cliRun(i));
    }

    // Process start alone: no network.
    const starts: Record<string, number[]> = { node: [], keylessCommand: [], awsCli: [] };
    for (let i = 0; i < runs; i++) {
      starts.node!.push(await timed(process.execPath, ['-e', '0'], base));
      starts.keylessCommand!.push(await timed(process.execPath, [BIN, 'help'], { ...base, KEYLESS_HOME: warmHome }));
      if (awsOk) starts.awsCli!.push(await timed('aws', ['--version'], base));
    }

    const summary = (xs: Sample[]) => ({
      ms: Math.round(median(xs.map((x) => x.ms))),
      roundTrips: median(xs.map((x) => x.apiRequests + x.tunnelTurns)),
      apiRequests: median(xs.map((x) => x.apiRequests)),
      tunnelTurns: median(xs.map((x) => x.tunnelTurns)),
      samplesMs: xs.map((x) => Math.round(x.ms)),
    });
    const paths = Object.fromEntries(Object.entries(samples).filter(([, xs]) => xs.length).map(([k, xs]) => [k, summary(xs)]));
    const warm = paths.bridgeWarmCache!;
    const result = {
      bench: 'bridge',
      command: `npm run bench -- bridge${opts.quick ? ' --quick' : ''}`,
      when: new Date().toISOString(),
      node: process.version,
      loadavg: load,
      loadavgAfter: loadavg().map(round1),
      note: "medians of interleaved runs; the machine's load is in loadavg and loadavgAfter",
      latencyMsPerRequestAndLinkDirection: LATENCY_MS,
      runs,
      awsCli: awsOk ? spawnSync('aws', ['--version'], { encoding: 'utf8' }).stdout.trim() || spawnSync('aws', ['--version'], { encoding: 'utf8' }).stderr.trim() : 'not installed: CLI path not measured',
      paths,
      speedupVsAwsCliPath: paths.awsCliPath ? round1(paths.awsCliPath.ms / warm.ms) : undefined,
      processStartMs: Object.fromEntries(Object.entries(starts).filter(([, xs]) => xs.length).map(([k, xs]) => [k, Math.round(median(xs))])),
      roundTripsHow: 'API requests the simulator authorized during the run + turns counted on the delaying link (a turn is at most one round trip); a request that crossed the link (openTunnel, and the bridge\'s key push) is counted once, as a turn',
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    await mkdir(join(ROOT, 'tests', 'bench', 'results'), { recursive: true });
    await writeFile(join(ROOT, 'tests', 'bench', 'results', 'bridge.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    link.close();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
