import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, launchSshd, sessionHome, sshdMissing } from '../../support/sshd';

export { sshdMissing };

export interface PushTargetSshd {
  port: number;
  user: string;
  dir: string;
  /** sshd reads the keys it accepts from here: the fake key push writes it. */
  authorizedKeys: string;
  hostKeyPub: string;
  stop(): Promise<void>;
}

/**
 * A real sshd on loopback for the connect engine's own tests. `ForceCommand /bin/sh` and an empty
 * session home keep the machine's shell start-up files (slow, lock-taking pyenv hooks here) out of
 * the timing and out of the way.
 */
export async function startPushTargetSshd(): Promise<PushTargetSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-connect-sshd-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
  const port = await freePort();
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, '');
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'PrintLastLog no',
      'ForceCommand /bin/sh',
      sessionHome(dir),
      'AllowTcpForwarding yes',
      'LogLevel INFO',
    ].join('\n') + '\n',
  );
  mkdirSync(join(dir, 'home'));
  // The first start may move to another port (another process may take the free one meanwhile).
  const { proc: child, port: listening } = await launchSshd(join(dir, 'sshd_config'), { newPortOnConflict: true });
  return {
    port: listening,
    user: userInfo().username,
    dir,
    authorizedKeys,
    hostKeyPub: join(dir, 'host_ed25519.pub'),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => (rmSync(dir, { recursive: true, force: true }), resolve());
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
