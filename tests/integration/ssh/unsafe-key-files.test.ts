import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessError } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';

let dir: string;
let main: MainBackend;
let backend: Backend;
let disconnect: () => void;
const fifos: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-unsafe-keys-'));
  main = await createBackend({ home: join(dir, 'home'), transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [] });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  disconnect = () => peer.dispose();
});
afterAll(async () => {
  disconnect?.();
  await main?.close();
  // Readers the old code left blocked on a FIFO are let go.
  for (const f of fifos) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* nobody was waiting */
    }
  }
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function openWithKey(path: string): Promise<KeylessError> {
  const host = await backend.invoke('hosts.save', { host: { kind: 'ssh', name: `k${n}`, host: '127.0.0.1', port: 22, user: 'me', auth: { type: 'keyFile', path } } });
  try {
    await backend.invoke('session.open', { requestId: `r${n++}`, hostId: host.id, cols: 80, rows: 24 });
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return (err as BackendError).error;
  }
  throw new Error('expected session.open to fail');
}

describe('a host whose key file is not a key file', () => {
  it('FIFOs (more than libuv has threads) each fail session.open with FileRefused, and the backend still serves calls', async () => {
    const pipes = Array.from({ length: 6 }, (_, k) => {
      const p = join(dir, `key-fifo-${k}`);
      execFileSync('mkfifo', [p]);
      fifos.push(p);
      return p;
    });
    const errors = await Promise.all(pipes.map(openWithKey));
    for (const [k, e] of errors.entries()) expect(e).toMatchObject({ code: 'FileRefused', detail: { path: pipes[k], reason: 'fifo' } });
    // Other file calls still go through: the hosts store reads and writes its file.
    const saved = await backend.invoke('groups.save', { group: { name: 'after the pipes' } });
    expect((await backend.invoke('hosts.list', {})).groups.map((g) => g.id)).toContain(saved.id);
  });

  it.each([
    ['/dev/zero', (): string => '/dev/zero', 'device'],
    ['a folder', (): string => (mkdirSync(join(dir, 'key-folder')), join(dir, 'key-folder')), 'directory'],
    ['a 2 MiB file', (): string => (writeFileSync(join(dir, 'key-big'), Buffer.alloc(2 * 1024 * 1024, 'A')), join(dir, 'key-big')), 'tooLarge'],
    ['a symlink loop', (): string => (symlinkSync(join(dir, 'kl-b'), join(dir, 'kl-a')), symlinkSync(join(dir, 'kl-a'), join(dir, 'kl-b')), join(dir, 'kl-a')), 'symlinkLoop'],
  ] as const)('%s fails session.open with FileRefused naming it', async (_name, make, reason) => {
    const path = make();
    expect(await openWithKey(path)).toMatchObject({ code: 'FileRefused', retryable: false, detail: { path, reason } });
    expect((await backend.invoke('app.info', {})).transport).toBe('web');
  });
});
