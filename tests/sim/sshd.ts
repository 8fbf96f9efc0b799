import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const AWK = '/usr/bin/awk';
const IS_ROOT = process.getuid?.() === 0;

/** Why instances cannot have a real sshd here, or undefined when they can. */
export const sshdMissing: string | undefined = !existsSync(SSHD)
  ? `${SSHD} is missing (install openssh-server)`
  : !existsSync(SSH_KEYGEN)
    ? `${SSH_KEYGEN} is missing (install openssh-client)`
    : !existsSync(AWK)
      ? `${AWK} is missing (the AuthorizedKeysCommand is an awk script)`
      : undefined;

/**
 * The stand-in for aws-ec2-instance-connect-config's eic_run_authorized_keys. The real script
 * reads the user's active-keys blob from the instance metadata service (PROTOCOLS.md §2); the
 * simulator writes that same blob to a file per instance and user whenever a push becomes visible
 * (`InstanceSshd.publishPushedKeys`), so that sshd's two calls per authentication (the publickey
 * query, then the signed request) cost one awk process each instead of two curls, a date, an awk
 * and an ssh-keygen per key. The rules are the real ones: only lines starting with `ssh` (so
 * ECDSA never authenticates), `#Instance` must be this instance, `#Timestamp` (the 60 s expiry)
 * must be in the future, and the key must be the one sshd is asking about — compared by its
 * base64 blob (%k), which is the same test as comparing its fingerprint (%f).
 * Args: %u %k <pushed-keys folder> <instance id>. `srand(); srand()` is awk's clock (epoch seconds).
 */
const AUTHORIZED_KEYS_SCRIPT = `#!${AWK} -f
# Installed by the Keyless AWS simulator (tests/sim/sshd.ts). Do not edit: it is rewritten.
BEGIN {
  user = ARGV[1]; key = ARGV[2]; dir = ARGV[3]; instance = ARGV[4]
  if (user !~ /^[A-Za-z0-9._-]+$/ || key == "") exit 255
  srand(); now = srand()
  file = dir "/" user
  while ((getline line < file) > 0) {
    if (line ~ /^#Timestamp=/) ts = substr(line, 12)
    else if (line ~ /^#Instance=/) inst = substr(line, 11)
    else if (line ~ /^ssh/) {
      split(line, field, " ")
      if (ts + 0 > now + 0 && inst == instance && field[2] == key) print line
      ts = ""; inst = ""
    }
  }
  exit 0
}
`;

/**
 * sshd runs an AuthorizedKeysCommand only from a path whose every folder is root-owned and not
 * group/world-writable, so the script goes to /usr/local/libexec/keyless-sim as root, else to a
 * folder of our own user's.
 */
export async function installAuthorizedKeysCommand(): Promise<string> {
  const dir = IS_ROOT ? '/usr/local/libexec/keyless-sim' : join(userInfo().homedir, '.cache', 'keyless-sim');
  // A new name for the awk version: simulators still running the curl version keep theirs.
  const path = join(dir, 'eic_read_pushed_keys');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    const st = await stat(d);
    if (st.mode & 0o022) await chmod(d, st.mode & ~0o022).catch(() => {});
  }
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current !== AUTHORIZED_KEYS_SCRIPT) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, AUTHORIZED_KEYS_SCRIPT, { mode: 0o755 });
    await rename(tmp, path);
  }
  return path;
}

/** OS users the instances let in: real accounts when we are root (created if missing), else just us. */
export async function ensureOsUsers(users: string[]): Promise<string[]> {
  if (!IS_ROOT) return [userInfo().username];
  const passwd = readFileSync('/etc/passwd', 'utf8');
  for (const u of users) {
    if (!new RegExp(`^${u}:`, 'm').test(passwd)) {
      await run('useradd', ['-m', '-s', '/bin/bash', u]).catch((e: Error) => {
        if (!/already exists/.test(String(e))) throw e;
      });
    }
    // With UsePAM no, sshd refuses accounts whose password field starts with '!' (useradd's default).
    const shadow = readFileSync('/etc/shadow', 'utf8');
    if (new RegExp(`^${u}:!`, 'm').test(shadow)) await run('usermod', ['-p', '*', u]);
  }
  return users;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Every process whose parent chain leads to `root` (sshd's per-connection children). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, pp] of parent) {
      if (pp !== pid) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, a short grace, then SIGKILL for whatever is left. */
export async function killAll(pids: number[]): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  pids.filter(alive).forEach((pid) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + 3000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  pids.filter(alive).forEach((pid) => signal(pid, 'SIGKILL'));
}

/**
 * `sshd -D -e -f <config>`, resolved once it says it listens (the config must log at INFO or more:
 * a banner on the port could be another process's). With `newPortOnConflict`, a port another
 * process took since it was found free (parallel test files look for free ports at once) gets
 * the config a new free port and sshd another try; otherwise the failure says why.
 */
export async function launchSshd(config: string, opts: { newPortOnConflict: boolean }): Promise<{ proc: ChildProcess; port: number; log: () => string }> {
  // The privilege-separation folder sshd insists on (creating it needs root; it then exists).
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
  for (let attempt = 1; ; attempt++) {
    let stderr = '';
    const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Kept whole up to 1 MB, so a test can compare what was logged before and after a step.
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1_000_000)));
    const deadline = Date.now() + 10_000;
    while (!/Server listening on/.test(stderr) && proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const port = Number(/^Port (\d+)$/m.exec(await readFile(config, 'utf8'))?.[1]);
    if (/Server listening on/.test(stderr)) return { proc, port, log: () => stderr };
    proc.kill('SIGKILL');
    if (!opts.newPortOnConflict || attempt >= 5 || !/Address already in use/.test(stderr)) throw new Error(`sshd did not start on port ${port}:\n${stderr}`);
    await writeFile(config, (await readFile(config, 'utf8')).replace(/^Port \d+$/m, `Port ${await freePort()}`));
  }
}

/** The instance folder's subfolder holding one active-keys file per OS user. */
const PUSHED_KEYS_DIR = 'managed-ssh-keys';

export interface HostKey {
  type: string;
  /** The public key line, `ssh-ed25519 AAAA… root@ip-10-0-1-10`. */
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
  bits: number;
  /** ED25519, ECDSA — the label ssh-keygen -l prints in parentheses. */
  label: string;
}

/** OpenSSH's SHA256 fingerprint of a public key line. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * One simulated instance's OpenSSH server: its own host keys, its own 127.0.0.1 port (kept once it
 * first listens), and only pushed keys accepted (no password, no authorized_keys file).
 */
export class InstanceSshd {
  private proc: ChildProcess | undefined;
  private logOf: () => string = () => '';
  /** Sessions of listeners that a restart replaced: still ours to end on stop. */
  private orphans = new Set<number>();
  hostKeys: HostKey[] = [];

  private constructor(
    readonly instanceId: string,
    readonly dir: string,
    private listenPort: number,
  ) {}

  /** Where it listens on 127.0.0.1. */
  get port(): number {
    return this.listenPort;
  }

  static async create(instanceId: string, dir: string, hostName: string, commandPath: string, users: string[], logLevel: 'INFO' | 'DEBUG1' = 'INFO'): Promise<InstanceSshd> {
    await mkdir(dir, { recursive: true });
    // The AuthorizedKeysCommand runs as another user (nobody, as root): it may pass through the
    // instance's folder (the host keys in it stay 0600) and read the public keys folder.
    await chmod(dir, 0o711);
    await mkdir(join(dir, PUSHED_KEYS_DIR), { recursive: true, mode: 0o755 });
    const port = await freePort();
    const self = new InstanceSshd(instanceId, dir, port);
    const comment = `root@${hostName}`;
    const keys: [string, string[], string, number][] = [
      ['ecdsa', ['-t', 'ecdsa', '-b', '256'], 'ECDSA', 256],
      ['ed25519', ['-t', 'ed25519'], 'ED25519', 256],
    ];
    self.hostKeys = await Promise.all(
      keys.map(async ([name, args, label, bits]) => {
        const file = join(dir, `ssh_host_${name}_key`);
        await run(SSH_KEYGEN, ['-q', ...args, '-N', '', '-C', comment, '-f', file]);
        const publicKey = (await readFile(file + '.pub', 'utf8')).trim();
        return { type: publicKey.split(' ')[0]!, publicKey, fingerprint: fingerprintOf(publicKey), bits, label };
      }),
    );
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      ...keys.map(([name]) => `HostKey ${join(dir, `ssh_host_${name}_key`)}`),
      'PidFile none',
      'AuthorizedKeysFile none',
      `AuthorizedKeysCommand ${commandPath} %u %k ${join(dir, PUSHED_KEYS_DIR)} ${instanceId}`,
      `AuthorizedKeysCommandUser ${IS_ROOT ? 'nobody' : userInfo().username}`,
      `AllowUsers ${users.join(' ')}`,
      'PermitRootLogin no',
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Twenty tunnels may sit unauthenticated at once (the EICE limit); the default 10 would drop some.
      'MaxStartups 100',
      // SFTP as an instance has it (the Files view and transfers): sshd's own, in-process.
      'Subsystem sftp internal-sftp',
      'PrintMotd no',
      'PrintLastLog no',
      `LogLevel ${logLevel}`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'sshd_config'), config);
    return self;
  }

  /** Per OS user, the last write of its pushed-keys file (writes go one after another). */
  private publishing = new Map<string, Promise<void>>();

  /**
   * Rewrites the file the AuthorizedKeysCommand reads for `user` with `render()`'s output (the
   * user's active-keys metadata blob), atomically, after any earlier write for that user.
   */
  publishPushedKeys(user: string, render: () => Promise<string>): Promise<void> {
    const file = join(this.dir, PUSHED_KEYS_DIR, user);
    const next = (this.publishing.get(user) ?? Promise.resolve()).then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, await render(), { mode: 0o644 });
      await rename(tmp, file);
    });
    this.publishing.set(user, next.catch(() => {}));
    return next;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get recentLog(): string {
    return this.logOf();
  }

  /** Starts the listener; `newPortOnConflict` for the first start (see `launchSshd`). */
  async start(newPortOnConflict = false): Promise<void> {
    if (this.running) return;
    try {
      const { proc, port, log } = await launchSshd(join(this.dir, 'sshd_config'), { newPortOnConflict });
      this.proc = proc;
      this.listenPort = port;
      this.logOf = log;
    } catch (err) {
      throw new Error(`sshd for ${this.instanceId}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Stops the listener; with `sessions`, every connection it started too (an instance stop). */
  async stop(sessions = true): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) {
      if (sessions) {
        await killAll([...this.orphans]);
        this.orphans.clear();
      }
      return;
    }
    const children = sessions ? [...descendants(proc.pid!), ...[...this.orphans].filter(alive)] : [];
    if (sessions) this.orphans.clear();
    else for (const pid of descendants(proc.pid!)) this.orphans.add(pid);
    const exited = new Promise((r) => proc.once('exit', r));
    for (const pid of [proc.pid!, ...children]) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await exited;
    await killAll(children);
  }

  /** `systemctl restart sshd`: the listener goes away and comes back; open sessions stay. */
  async restart(): Promise<void> {
    await this.stop(false);
    await this.start();
  }
}
