// The test sshd's own start: parallel test files find free ports at the same time, and one may
// take a port another found free before that one's sshd binds it (a CI run failed so).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { launchSshd, sshdMissing } from './sshd';

describe.skipIf(!!sshdMissing)('the test sshd', () => {
  it('moves to another free port when its port was taken meanwhile, and says why when it may not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyless-sshd-port-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
      const config = join(dir, 'sshd_config');
      await writeFile(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, 'PidFile none', 'UsePAM no', 'LogLevel INFO', ''].join('\n'));
      await expect(launchSshd(config, { newPortOnConflict: false })).rejects.toThrow(/Address already in use/);
      const sshd = await launchSshd(config, { newPortOnConflict: true });
      try {
        expect(sshd.port).not.toBe(port);
        expect(sshd.log()).toContain(`Server listening on 127.0.0.1 port ${sshd.port}`);
      } finally {
        sshd.proc.kill('SIGTERM');
      }
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
