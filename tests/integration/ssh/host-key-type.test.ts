import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessError, Prompt } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSshd, type SshdFixture } from '../support/sshd';

let sshd: SshdFixture;
/** The server's ECDSA host key (it serves an Ed25519 one too): the one Keyless has on record. */
let ecdsa: { line: string; fingerprint: string };

const fingerprintOf = (pub: string) => execFileSync('ssh-keygen', ['-lf', pub]).toString().split(' ')[1]!;

describe.skipIf(!!sshdMissing)('a host that offers a key of a type Keyless has no record of', () => {
  beforeAll(async () => {
    sshd = await startSshd();
    // The server gets an ECDSA host key beside its Ed25519 one; ssh2 prefers Ed25519, as OpenSSH does.
    const key = join(sshd.dir, 'host_ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', key]);
    await appendFile(join(sshd.dir, 'sshd_config'), `HostKey ${key}\n`);
    await sshd.restartWithNewHostKey();
    ecdsa = { line: (await readFile(key + '.pub', 'utf8')).split(' ').slice(0, 2).join(' '), fingerprint: fingerprintOf(key + '.pub') };
    // The real server really does serve the ECDSA key Keyless will have on record.
    expect(execFileSync('ssh-keyscan', ['-t', 'ecdsa', '-p', String(sshd.port), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()).toContain(ecdsa.line.split(' ')[1]);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  /** A Keyless whose own known_hosts lists only the server's ECDSA key, and a renderer answering host-key questions with `answer`. */
  async function keyless(answer: boolean) {
    const home = await mkdtemp(join(tmpdir(), 'keyless-hktype-'));
    await writeFile(join(home, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${ecdsa.line}\n`);
    const main: MainBackend = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [] });
    const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
    const backend = new Backend(bridge);
    const prompts: Prompt[] = [];
    backend.on('prompt', (p) => {
      prompts.push(p);
      void backend.invoke('prompt.answer', { promptId: p.promptId, value: answer });
    });
    const host = await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'two-keys', host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: { type: 'keyFile', path: sshd.keyPath } } });
    let n = 0;
    const open = () => backend.invoke('session.open', { requestId: `r${n++}`, hostId: host.id, cols: 80, rows: 24 });
    const dispose = async () => (peer.dispose(), await main.close(), await rm(home, { recursive: true, force: true }));
    return { home, backend, prompts, open, dispose };
  }

  it('is asked about with the key on record (type, fingerprint, file, line), not as a first meeting; declined, nothing is written', async () => {
    const k = await keyless(false);
    try {
      const err = await k.open().then(
        () => undefined,
        (e: unknown) => (e instanceof BackendError ? e.error : undefined) as KeylessError | undefined,
      );
      expect(err?.code).toBe('HostKeyRejected');
      expect(k.prompts.map((p) => p.kind)).toEqual(['hostKeyTypeChanged']);
      const p = k.prompts[0]!;
      if (p.kind !== 'hostKeyTypeChanged') return;
      expect(p.key).toEqual({ host: '127.0.0.1', port: sshd.port, keyType: 'ssh-ed25519', fingerprint: sshd.hostFingerprint() });
      expect(p.known).toEqual([{ keyType: ecdsa.line.split(' ')[0], fingerprint: ecdsa.fingerprint, file: join(k.home, 'known_hosts'), line: 1 }]);
      expect(await readFile(join(k.home, 'known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${ecdsa.line}\n`);
    } finally {
      await k.dispose();
    }
  });

  it('trusted, the new key is added beside the old one and the next connection asks nothing', async () => {
    const k = await keyless(true);
    try {
      const { sessionId } = await k.open();
      await k.backend.invoke('session.close', { sessionId });
      expect(k.prompts.map((p) => p.kind)).toEqual(['hostKeyTypeChanged']);
      const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', join(k.home, 'known_hosts')]).toString();
      expect(found).toContain(ecdsa.line);
      expect(found).toContain((await readFile(sshd.hostKeyPub, 'utf8')).split(' ')[1]);
      const again = await k.open();
      await k.backend.invoke('session.close', { sessionId: again.sessionId });
      expect(k.prompts).toHaveLength(1);
    } finally {
      await k.dispose();
    }
  });
});
