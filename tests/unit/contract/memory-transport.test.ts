import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventPayload } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';

let home: string;
let main: MainBackend;
let backend: Backend;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'keyless-mem-'));
  main = await createBackend({ home, transport: 'electron', version: '9.9.9', systemLocale: 'ja-JP', log: silentLogger, userKnownHosts: [] });
  backend = new Backend(connectInMemory(new ContractServer(main.handlers, silentLogger)).bridge);
});
afterEach(async () => {
  await main.close();
  await rm(home, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error('expected the call to fail');
}

describe('the renderer Backend over the in-memory transport', () => {
  it('returns typed results: a saved host comes back with an id and is listed', async () => {
    expect((await backend.invoke('app.info', {})).systemLocale).toBe('ja-JP');
    const saved = await backend.invoke('hosts.save', {
      host: { kind: 'ssh', name: 'db', host: '10.0.0.5', port: 2222, user: 'admin', auth: { type: 'keyFile', path: '/k' } },
    });
    expect(saved.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((await backend.invoke('hosts.list', {})).hosts).toEqual([saved]);
    const settings = await backend.invoke('settings.set', { language: 'ja' });
    expect(settings.language).toBe('ja');
    expect((await backend.invoke('settings.get', {})).language).toBe('ja');
    await backend.invoke('hosts.delete', { id: saved.id });
    expect((await backend.invoke('hosts.list', {})).hosts).toEqual([]);
  });

  it('throws BackendError carrying the typed code', async () => {
    const notFound = await rejection(backend.invoke('hosts.delete', { id: 'nope' }));
    expect(notFound.error.code).toBe('NotFound');
    expect(notFound.error.detail).toEqual({ id: 'nope' });
    const invalid = await rejection(backend.invoke('session.resize', { sessionId: 'bad id', cols: 80, rows: 24 }));
    expect(invalid.error.code).toBe('InvalidArguments');
    const closed = await rejection(backend.invoke('session.write', { sessionId: 's77', data: 'x' }));
    expect(closed.error.code).toBe('NotFound');
  });

  it('delivers events, and not after unsubscribing', async () => {
    const progress: Array<EventPayload<'progress'>> = [];
    const off = backend.on('progress', (p) => progress.push(p));
    const err = await rejection(backend.invoke('session.open', { requestId: 'open-1', hostId: 'missing', cols: 80, rows: 24 }));
    expect(err.error.code).toBe('NotFound');
    await new Promise((r) => setTimeout(r, 0));
    expect(progress.map((p) => [p.requestId, p.step, p.status])).toEqual([
      ['open-1', 'resolve', 'start'],
      ['open-1', 'resolve', 'failed'],
    ]);
    off();
    await rejection(backend.invoke('session.open', { requestId: 'open-2', hostId: 'missing', cols: 80, rows: 24 }));
    await new Promise((r) => setTimeout(r, 0));
    expect(progress).toHaveLength(2);
  });
});
