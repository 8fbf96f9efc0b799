/**
 * The OpenSSH bridge end to end: Debian's real ssh, scp, sftp, rsync and git, configured only by
 * what `keyless ssh-config` prints, reaching simulated instances (real sshd behind
 * AuthorizedKeysCommand) directly and through the simulated EICE tunnel. No key file anywhere: the
 * key lives in the proxy's agent. Host keys come from Keyless (console output on first meeting)
 * under StrictHostKeyChecking yes, which only this test sets.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostStore } from '../../../electron/main/store/hosts';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';

const run = promisify(execFile);
const REGION = 'us-west-2';
const PUBLIC = 'i-0b1d6e0000000a001';
const PRIVATE = 'i-0b1d6e0000000a002';
const BIN = resolve(__dirname, '../../../bin/keyless.mjs');
const rsyncMissing = !existsSync('/usr/bin/rsync') ? '/usr/bin/rsync is missing (install rsync; .ci/run does); the rsync test is skipped' : undefined;
if (rsyncMissing) console.warn(rsyncMissing);

let sim: Simulator;
let root: string;
let env: NodeJS.ProcessEnv;
let sshConfig: string;
let userKnownHosts: string;
let publicPort: number;
const started = Date.now();

async function keyless(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** A command of the OpenSSH family with the test's config, a HOME holding no key, and no agent of the person's. */
async function tool(cmd: string, args: string[], opts: { cwd?: string; extraEnv?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  // Generous: on a loaded 2-core machine eight ssh, eight proxies and sixteen KnownHostsCommands start at once.
  return run(cmd, args, { env: { ...env, ...opts.extraEnv }, cwd: opts.cwd ?? root, timeout: 200_000, maxBuffer: 16 << 20 });
}
const ssh = (args: string[]) => tool('ssh', ['-F', sshConfig, ...args]);
const sshCmd = () => `ssh -F ${sshConfig}`;

beforeAll(async () => {
  if (sshdMissing) return;
  // The bundle the bin runs: built from the sources under test.
  await run(process.execPath, [resolve(__dirname, '../../../scripts/build-bridge.mjs')]);
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [
        {
          id: 'vpc-0b1d6e00000000a01',
          region: REGION,
          cidr: '10.11.0.0/16',
          subnets: [
            { id: 'subnet-0b1d6e000000a011', availabilityZone: `${REGION}a`, cidr: '10.11.1.0/24' },
            { id: 'subnet-0b1d6e000000a012', availabilityZone: `${REGION}b`, cidr: '10.11.2.0/24' },
          ],
        },
      ],
      instances: [
        // The simulated public address is loopback: a direct connection reaches the instance's sshd port.
        { id: PUBLIC, region: REGION, subnetId: 'subnet-0b1d6e000000a011', publicIp: '127.0.0.1', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
        { id: PRIVATE, region: REGION, subnetId: 'subnet-0b1d6e000000a012', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' },
      ],
      endpoints: [{ id: 'eice-0b1d6e00000000a01', region: REGION, subnetId: 'subnet-0b1d6e000000a012' }],
    },
  });
  root = await mkdtemp(join(tmpdir(), 'keyless-bridge-'));
  const home = join(root, 'home');
  const keylessHome = join(root, 'keyless');
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const files = await sim.writeAwsConfig(join(root, 'aws'), { region: REGION, sso: false });
  env = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    KEYLESS_HOME: keylessHome,
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
    AWS_REGION: REGION,
  };
  publicPort = sim.instances().find((i) => i.id === PUBLIC)!.sshPort!;
  // A saved host by name, reached through the endpoint.
  const store = new HostStore(keylessHome);
  await store.save({ kind: 'ec2', name: 'private-web', instanceId: PRIVATE, region: REGION, osUser: 'ec2-user', port: 22 });
  store.dispose();

  const printed = await keyless(['ssh-config']);
  expect(printed.code, printed.stderr).toBe(0);
  userKnownHosts = join(root, 'known_hosts');
  await writeFile(userKnownHosts, '');
  sshConfig = join(home, '.ssh', 'config');
  // The test's strictness and isolation first (first match wins), then exactly what keyless printed.
  await writeFile(
    sshConfig,
    [
      'Host *',
      '    StrictHostKeyChecking yes',
      `    UserKnownHostsFile ${userKnownHosts}`,
      '    GlobalKnownHostsFile /dev/null',
      '    BatchMode yes',
      '    User ec2-user',
      '    LogLevel ERROR',
      '',
      printed.stdout,
    ].join('\n'),
    { mode: 0o600 },
  );
}, 180_000);

afterAll(async () => {
  if (sshdMissing) return;
  await sim?.stop();
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(!!sshdMissing)('keyless as OpenSSH ProxyCommand, with no key file', { timeout: 240_000 }, () => {
  it('prints a Host block that never turns off host key checking', async () => {
    const text = readFileSync(sshConfig, 'utf8').split('\n\n').slice(1).join('\n\n');
    expect(text).toMatch(/^Host private-web\n {4}User ec2-user\n {4}ProxyCommand .* proxy %r %h %p$/m);
    expect(text).toMatch(/^Host i-\*$/m);
    expect(text).toContain('IdentitiesOnly no');
    expect(text).toMatch(/IdentityAgent ".*\/%r@%h:%p"/);
    expect(text).toMatch(/KnownHostsCommand .* known-hosts %H/);
    expect(text).not.toMatch(/StrictHostKeyChecking/i);
  });

  it('ssh i-… uname directly, the host key confirmed by the console output (StrictHostKeyChecking yes)', async () => {
    const out = await ssh(['-p', String(publicPort), PUBLIC, 'uname -s; whoami']);
    expect(out.stdout).toBe('Linux\nec2-user\n');
    // Keyless remembered the console's keys under the instance id; the user's known_hosts was not touched.
    expect(readFileSync(join(env.KEYLESS_HOME!, 'known_hosts'), 'utf8')).toContain(`[${PUBLIC}]:${publicPort} ssh-ed25519 `);
    expect(readFileSync(userKnownHosts, 'utf8')).toBe('');
  });

  it('a saved host by name through the endpoint: ssh, scp up and down, sftp -b', async () => {
    expect((await ssh(['private-web', 'whoami'])).stdout).toBe('ec2-user\n');
    const local = join(root, 'up.bin');
    const bytes = Buffer.alloc(300_000, 7);
    bytes.write('keyless bridge', 0);
    await writeFile(local, bytes);
    await tool('scp', ['-F', sshConfig, local, 'private-web:/tmp/bridge-up.bin']);
    await tool('scp', ['-F', sshConfig, 'private-web:/tmp/bridge-up.bin', join(root, 'down.bin')]);
    expect((await readFile(join(root, 'down.bin'))).equals(bytes)).toBe(true);
    const batch = join(root, 'sftp.batch');
    await writeFile(batch, ['put up.bin /tmp/bridge-sftp.bin', 'get /tmp/bridge-sftp.bin sftp-back.bin', 'rm /tmp/bridge-sftp.bin', ''].join('\n'));
    await tool('sftp', ['-F', sshConfig, '-b', batch, 'private-web']);
    expect((await readFile(join(root, 'sftp-back.bin'))).equals(bytes)).toBe(true);
  });

  it.skipIf(!!rsyncMissing)('rsync -e ssh copies a tree to the instance and back, direct and through the endpoint', async () => {
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(tree, i % 2 ? 'a' : join('a', 'b'), `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
    for (const [host, port] of [
      [PUBLIC, publicPort],
      ['private-web', 22],
    ] as const) {
      await tool('rsync', ['-a', '-e', `${sshCmd()} -p ${port}`, `${tree}/`, `${host}:/tmp/bridge-tree-${port}/`]);
      const back = join(root, `tree-back-${port}`);
      await tool('rsync', ['-a', '-e', `${sshCmd()} -p ${port}`, `${host}:/tmp/bridge-tree-${port}/`, `${back}/`]);
      await run('diff', ['-r', tree, back]);
    }
  });

  it('git clone over ssh from a bare repository on the instance, direct and through the endpoint', async () => {
    for (const [host, port] of [
      [PUBLIC, publicPort],
      ['private-web', 22],
    ] as const) {
      const bare = `/tmp/bridge-repo-${port}.git`;
      await ssh(['-p', String(port), host, `rm -rf ${bare} /tmp/bridge-work-${port} && git init -q --bare ${bare} && git clone -q ${bare} /tmp/bridge-work-${port} && cd /tmp/bridge-work-${port} && echo hello-${port} > README && git add README && git -c user.email=t@e -c user.name=t commit -qm first && git push -q origin HEAD`]);
      const dest = join(root, `clone-${port}`);
      await tool('git', ['clone', '-q', `ssh://${host}:${port}${bare}`, dest], { extraEnv: { GIT_SSH_COMMAND: sshCmd() } });
      expect(readFileSync(join(dest, 'README'), 'utf8')).toBe(`hello-${port}\n`);
    }
  });

  it('eight ssh processes to one host at once all succeed, sharing one agent', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ssh(['-o', 'LogLevel INFO', 'private-web', `echo run-${i}`]).then(
          (r) => r.stdout,
          (e: { code?: number; signal?: string; stderr?: string }) => `failed ${e.code ?? e.signal}: ${e.stderr}`,
        ),
      ),
    );
    expect(results).toEqual(Array.from({ length: 8 }, (_, i) => `run-${i}\n`));
    // Every proxy has gone, and the owner removed its socket: the folder keeps only the person's agent secret.
    const agents = join(env.KEYLESS_HOME!, 'agents');
    await expect.poll(() => readdirSync(agents), { timeout: 10_000 }).toEqual(['owner-secret']);
  });

  it('leaves no key on disk: no private key file, no copy of a served key', async () => {
    // While a session runs, read the key the agent serves; then look for it, and for any private key, on disk.
    const agentSock = join(env.KEYLESS_HOME!, 'agents', `ec2-user@private-web:22`);
    const session = spawn('ssh', ['-F', sshConfig, 'private-web', 'sleep 4'], { env, stdio: 'ignore' });
    await expect.poll(() => existsSync(agentSock), { timeout: 30_000 }).toBe(true);
    expect(statSync(agentSock).mode & 0o777).toBe(0o600);
    const listed = (await run('ssh-add', ['-L'], { env: { ...env, SSH_AUTH_SOCK: agentSock } })).stdout.trim();
    expect(listed).toMatch(/^ssh-ed25519 \S+/);
    const blob = listed.split(' ')[1]!;
    await new Promise((r) => session.once('close', r));
    const raw = Buffer.from(blob, 'base64');
    const needles = [Buffer.from('PRIVATE KEY'), Buffer.from(blob), raw.subarray(raw.length - 32)];
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        const st = statSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(p);
        else if (st.isFile() && st.mtimeMs >= started - 1000 && st.size < 64 << 20) {
          const data = readFileSync(p);
          // V8's code cache of the command holds its code's string constants (ssh2 parses "… PRIVATE
          // KEY" files): there only the served key's own bytes count.
          const look = p.includes(`${sep}compile-cache${sep}`) ? needles.slice(1) : needles;
          if (look.some((n) => data.includes(n))) hits.push(p);
        }
      }
    };
    walk(root);
    for (const name of readdirSync(tmpdir())) {
      const p = join(tmpdir(), name);
      if (p === root || p === sim.dir || !statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
      if (name.startsWith('keyless-bridge-')) walk(p);
    }
    expect(hits).toEqual([]);
  });

  it('the command as shipped beside the app (its own folder, its own packages, outside any checkout) does the same', async () => {
    // What electron-builder puts at <resources>/keyless: scripts/pack-keyless-cli.mjs, from the build above.
    const packed = join(root, 'shipped');
    await run(process.execPath, [resolve(__dirname, '../../../scripts/pack-keyless-cli.mjs'), '--out', packed]);
    expect(existsSync(join(packed, 'node_modules', 'ssh2', 'package.json'))).toBe(true);
    const printed = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const p = spawn(join(packed, 'keyless'), ['ssh-config'], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    });
    expect(printed.code, printed.stderr).toBe(0);
    // Its Host block names the shipped script, not this checkout's bin.
    expect(printed.stdout).toContain(`"${join(packed, 'bin', 'keyless.mjs')}" proxy %r %h %p`);
    expect(printed.stdout).not.toContain(resolve(__dirname, '../../..'));
    const shippedConfig = join(root, 'shipped-ssh-config');
    await writeFile(shippedConfig, readFileSync(sshConfig, 'utf8').split('\n\n')[0] + '\n\n' + printed.stdout, { mode: 0o600 });
    const out = await tool('ssh', ['-F', shippedConfig, 'private-web', 'echo shipped-$((40+2))']);
    expect(out.stdout).toBe('shipped-42\n');
  });

  it('a stopped instance fails at once in the app’s words, with ssh’s exit status 255', async () => {
    await sim.admin.stopInstance(PUBLIC);
    try {
      const err = await ssh(['-p', String(publicPort), PUBLIC, 'true']).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(255);
      expect(err?.stderr).toContain(`keyless: The instance ${PUBLIC} is not running.`);
    } finally {
      await sim.admin.startInstance(PUBLIC);
    }
  });
});
