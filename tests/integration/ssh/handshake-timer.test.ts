import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { SshConnection } from '../../../electron/main/ssh/connection';
import { sshdMissing, startSshd, type SshdFixture } from '../support/sshd';

if (sshdMissing) console.warn(`skipping handshake timer tests: ${sshdMissing}`);

describe.skipIf(sshdMissing)('the SSH handshake timer', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());

  const target = (verifyHostKey: () => Promise<void>, readyTimeoutMs: number) => ({
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    identity: { kind: 'key' as const, privateKey: readFileSync(sshd.keyPath) },
    verifyHostKey,
    readyTimeoutMs,
  });

  it('does not run while the person is still reading the host key fingerprint', async () => {
    // The "person" takes 4x the handshake timeout to answer; the connection still succeeds.
    const slowAnswer = () => new Promise<void>((r) => setTimeout(r, 1200));
    const conn = await SshConnection.open(target(slowAnswer, 300), () => {}, new AbortController().signal);
    expect(conn.isClosed).toBe(false);
    conn.end();
  });

  it('still times out a server that never finishes the handshake', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await SshConnection.open({ ...target(async () => {}, 400), port }, () => {}, new AbortController().signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeylessFailure);
      expect((err as KeylessFailure).code).toBe('Timeout');
      expect((err as KeylessFailure).message).toContain('did not finish the SSH handshake');
    } finally {
      silent.close();
    }
  });
});
