import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { descendants, freePort, killAll, launchSshd, SSHD } from '../../sim/sshd';

export { freePort, launchSshd };
/** Why the sshd tests cannot run here, or undefined when they can. */
export const sshdMissing: string | undefined = !existsSync(SSHD)
  ? `${SSHD} is missing (install openssh-server); the SSH integration tests are skipped`
  : !existsSync('/usr/bin/ssh-keygen')
    ? 'ssh-keygen is missing (install openssh-client); the SSH integration tests are skipped'
    : undefined;
if (sshdMissing) console.warn(sshdMissing);

export const PASSPHRASE = 'correct horse battery staple';

/**
 * The sshd_config line giving the server's sessions an empty home of their own, `<dir>/home` (it
 * must exist): the user's real login shell runs, without the user's start-up files. Root's
 * .bashrc on these machines runs `pyenv init`, whose rehash lock, left behind by a shell killed
 * mid-way, stalls every later shell for 60 s (bash reads .bashrc even for `ssh host command`).
 */
export function sessionHome(dir: string): string {
  return `SetEnv HOME=${join(dir, 'home')}`;
}

export interface SshdFixture {
  readonly dir: string;
  readonly port: number;
  readonly user: string;
  /** A client key in authorized_keys, unencrypted. */
  readonly keyPath: string;
  /** A client key in authorized_keys, encrypted with PASSPHRASE. */
  readonly encryptedKeyPath: string;
  /** A valid key that is not in authorized_keys. */
  readonly strangerKeyPath: string;
  /** The host key's public half, as `ssh-keygen -lf` fingerprints it. */
  readonly hostKeyPub: string;
  /** The SHA256 fingerprint of the host key per `ssh-keygen -lf`. */
  hostFingerprint(): string;
  /** Stops sshd and starts it again on the same port, with a new host key. */
  restartWithNewHostKey(): Promise<void>;
  /** The listening sshd's process id (its session processes are its children). */
  readonly pid: number;
  /** What sshd has logged (its last megabyte). */
  log(): string;
  /** Kills sshd and every session process it started, waits for them, removes the folder. */
  stop(): Promise<void>;
}

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'keyless-test', '-f', path]);
}

/**
 * A real OpenSSH server on a free 127.0.0.1 port, as the current user, with its own host key and
 * an authorized_keys of generated client keys. Nothing outside its temp folder is touched except
 * /run/sshd (the privilege-separation folder sshd insists on).
 */
export async function startSshd(opts: { logLevel?: 'INFO' | 'DEBUG1' } = {}): Promise<SshdFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-sshd-'));
  const user = userInfo().username;
  let port = await freePort();
  const hostKey = join(dir, 'host_ed25519');
  const keyPath = join(dir, 'id_ed25519');
  const encryptedKeyPath = join(dir, 'id_encrypted');
  const strangerKeyPath = join(dir, 'id_stranger');
  keygen(hostKey);
  keygen(keyPath);
  keygen(encryptedKeyPath, PASSPHRASE);
  keygen(strangerKeyPath);
  await writeFile(join(dir, 'authorized_keys'), (await readFile(keyPath + '.pub', 'utf8')) + (await readFile(encryptedKeyPath + '.pub', 'utf8')), { mode: 0o600 });
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PrintMotd no',
      'PrintLastLog no',
      sessionHome(dir),
      // SFTP as an instance has it (the Files view and transfers): sshd's own, in-process.
      'Subsystem sftp internal-sftp',
      // INFO at least: sshd says when it listens (a banner on the port could be another process's).
      // DEBUG1 also logs each forwarded channel, for tests that prove a jump host carried traffic.
      `LogLevel ${opts.logLevel ?? 'INFO'}`,
      '',
    ].join('\n'),
  );
  await mkdir(join(dir, 'home'));

  let proc!: ChildProcess;
  let log: () => string = () => '';
  const start = async (newPortOnConflict: boolean) => {
    ({ proc, port, log } = await launchSshd(join(dir, 'sshd_config'), { newPortOnConflict }));
  };
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    const children = descendants(proc.pid!);
    proc.kill('SIGTERM');
    await exited;
    await killAll(children);
  };
  // The first start may move to another port (nobody has been told this one yet); a restart keeps it.
  await start(true);

  return {
    dir,
    port,
    user,
    keyPath,
    encryptedKeyPath,
    strangerKeyPath,
    get hostKeyPub() {
      return hostKey + '.pub';
    },
    get pid() {
      return proc.pid!;
    },
    hostFingerprint: () => execFileSync('ssh-keygen', ['-lf', hostKey + '.pub']).toString().split(' ')[1]!,
    log: () => log(),
    async restartWithNewHostKey() {
      await kill();
      await rm(hostKey);
      await rm(hostKey + '.pub');
      keygen(hostKey);
      await start(false);
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A real ssh-agent on a socket in `dir`, holding `keyPath`. */
export async function startAgent(dir: string, keyPath: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = join(dir, 'agent.sock');
  const proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('ssh-agent did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  execFileSync('ssh-add', ['-q', keyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  return {
    socket,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
