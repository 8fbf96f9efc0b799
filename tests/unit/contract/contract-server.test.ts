import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, type KeylessBridge, type Outcome } from '../../../electron/contract';
import { createBackend, type Backend } from '../../../electron/main/backend';
import { createLogger } from '../../../electron/main/base/log';
import { ContractServer, type Handlers } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';

const SECRET = 'hunter2-AKIAIOSFODNN7EXAMPLE-do-not-log';

let home: string;
let backend: Backend;
let lines: string[];
let bridge: KeylessBridge;
let openStarted: () => void;
let openAborted: boolean;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'keyless-contract-'));
  backend = await createBackend({ home, transport: 'web', version: '1.2.3', systemLocale: 'en-US', log: createLogger('t', () => {}), userKnownHosts: [] });
  lines = [];
  openAborted = false;
  const handlers: Handlers = {
    ...backend.handlers,
    // A long operation that honours its signal, like a connection attempt.
    'session.open': (_args, { signal }) =>
      new Promise((_resolve, reject) => {
        openStarted();
        signal.addEventListener('abort', () => {
          openAborted = true;
          const e = new Error('aborted');
          e.name = 'AbortError';
          reject(e);
        });
      }),
    'hosts.list': async (_args, { peer }) => {
      peer.emit('progress', { requestId: 'r1', step: 'resolve', status: 'start' });
      return backend.handlers['hosts.list']({}, { peer, signal: new AbortController().signal });
    },
  };
  const server = new ContractServer(handlers, createLogger('rpc', (l) => lines.push(l), 'debug'));
  bridge = connectInMemory(server).bridge;
});

afterEach(async () => {
  await backend.close();
  await rm(home, { recursive: true, force: true });
});

const still = async () => {
  const r = await bridge.invoke('app.info', {});
  expect(r).toEqual({ ok: true, value: { version: '1.2.3', platform: process.platform, systemLocale: 'en-US', transport: 'web' } });
};

function refused(r: Outcome<unknown>, code: string) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  expect(typeof r.error.message).toBe('string');
  expect(typeof r.error.retryable).toBe('boolean');
}

const goodHost = { kind: 'ssh', name: 'web', host: 'web.example.com', port: 22, user: 'ubuntu', auth: { type: 'agent' } };

describe('the contract server refuses hostile calls with typed errors and stays usable', () => {
  it('wrong types and extra keys', async () => {
    refused(await bridge.invoke('session.resize', { sessionId: 's1', cols: SECRET, rows: 3 }), 'InvalidArguments');
    await still();
    refused(await bridge.invoke('hosts.delete', { id: 'h1', token: SECRET }), 'InvalidArguments');
    await still();
    refused(await bridge.invoke('app.info', SECRET), 'InvalidArguments');
    refused(await bridge.invoke('app.info', null), 'InvalidArguments');
    refused(await bridge.invoke('hosts.save', { host: { ...goodHost, port: SECRET } }), 'InvalidArguments');
    await still();
  });

  it('names the field that is wrong', async () => {
    const r = await bridge.invoke('hosts.save', { host: { ...goodHost, port: 'x' } });
    refused(r, 'InvalidArguments');
    expect(!r.ok && r.error.detail?.field).toBe('host.port');
  });

  it('prototype-pollution keys are refused and pollute nothing', async () => {
    for (const text of [
      `{"__proto__":{"polluted":"${SECRET}"}}`,
      `{"constructor":{"prototype":{"polluted":"${SECRET}"}}}`,
      `{"prototype":{"polluted":"${SECRET}"}}`,
    ]) {
      refused(await bridge.invoke('app.info', JSON.parse(text)), 'InvalidArguments');
      refused(await bridge.invoke('settings.set', { language: 'en', ...JSON.parse(text) }), 'InvalidArguments');
      refused(await bridge.invoke('session.open', { requestId: 'r', hostId: 'h', cols: 80, rows: 24, ...JSON.parse(text) }), 'InvalidArguments');
    }
    // Nested inside a host the schema strips unknown keys: what is saved is exactly the host.
    const nested = JSON.parse(`{"host":${JSON.stringify(goodHost).slice(0, -1)},"__proto__":{"polluted":"${SECRET}"}}}`) as unknown;
    const saved = await bridge.invoke('hosts.save', nested);
    expect(saved.ok).toBe(true);
    const onDisk = await readFile(join(home, 'hosts.json'), 'utf8');
    expect(onDisk).not.toContain('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    await still();
  });

  it('huge strings are refused, and messages over 1 MiB are refused before parsing', async () => {
    refused(await bridge.invoke('session.write', { sessionId: 's1', data: SECRET.repeat(20_000) }), 'InvalidArguments');
    refused(await bridge.invoke('hosts.save', { host: { ...goodHost, name: SECRET.repeat(1000) } }), 'InvalidArguments');
    const big = await bridge.invoke('session.write', { sessionId: 's1', data: SECRET.repeat(Math.ceil(MAX_MESSAGE_BYTES / SECRET.length) + 1) });
    refused(big, 'PayloadTooLarge');
    expect(!big.ok && big.error.detail?.limit).toBe(MAX_MESSAGE_BYTES);
    refused(await bridge.invoke('no.such.channel', { x: SECRET.repeat(60_000) }), 'PayloadTooLarge');
    await still();
  });

  it('unknown and non-string channel names', async () => {
    for (const ch of ['no.such', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) {
      refused(await bridge.invoke(ch, { secret: SECRET }), 'UnknownChannel');
    }
    for (const ch of [42, null, {}, ['app.info'], true]) {
      refused(await bridge.invoke(ch as unknown as string, { secret: SECRET }), 'UnknownChannel');
    }
    await still();
  });

  it('logs each refusal by reason, never with its payload', async () => {
    await bridge.invoke('session.resize', { sessionId: 's1', cols: SECRET, rows: 3 });
    await bridge.invoke('hosts.delete', { id: 'h1', token: SECRET });
    await bridge.invoke('app.info', JSON.parse(`{"__proto__":{"x":"${SECRET}"}}`));
    await bridge.invoke('no.such', { secret: SECRET });
    await bridge.invoke('session.write', { sessionId: 's1', data: SECRET.repeat(70_000) });
    await bridge.invoke('prompt.answer', { promptId: 'p9', value: SECRET });
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.filter((l) => l.includes('refused')).length).toBe(5);
    for (const l of lines) {
      expect(l).not.toContain(SECRET);
      expect(l).not.toContain('hunter2');
    }
  });

  it('a handler failure that is not ours reaches the client as Internal, without its message', async () => {
    const server = new ContractServer(
      { ...backend.handlers, 'hosts.list': () => Promise.reject(new Error('EACCES /root/private/thing')) },
      createLogger('t', () => {}),
    );
    const { bridge: b } = connectInMemory(server);
    const r = await b.invoke('hosts.list', {});
    refused(r, 'Internal');
    expect(JSON.stringify(r)).not.toContain('/root/private');
    expect((await b.invoke('app.info', {})).ok).toBe(true);
  });
});

describe('cancellation and events', () => {
  it('op.cancel with the requestId cancels a running call', async () => {
    const started = new Promise<void>((r) => (openStarted = r));
    const call = bridge.invoke('session.open', { requestId: 'open-7', hostId: 'h1', cols: 80, rows: 24 });
    await started;
    // Cancelling another id leaves it running.
    expect(await bridge.invoke('op.cancel', { requestId: 'open-8' })).toEqual({ ok: true, value: { ok: true } });
    expect(openAborted).toBe(false);
    expect(await bridge.invoke('op.cancel', { requestId: 'open-7' })).toEqual({ ok: true, value: { ok: true } });
    const r = await call;
    refused(r, 'Cancelled');
    expect(openAborted).toBe(true);
    await still();
  });

  it('another peer cannot cancel my call', async () => {
    const server = new ContractServer(
      {
        ...backend.handlers,
        'session.open': (_a, { signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('x')))),
      },
      createLogger('t', () => {}),
    );
    const a = connectInMemory(server, 'a');
    const b = connectInMemory(server, 'b');
    let settled = false;
    const call = a.bridge.invoke('session.open', { requestId: 'open-1', hostId: 'h1', cols: 80, rows: 24 }).then((r) => ((settled = true), r));
    await b.bridge.invoke('op.cancel', { requestId: 'open-1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    a.peer.dispose(); // the window went away: its calls end
    refused(await call, 'Cancelled');
  });

  it('events reach the client until it unsubscribes', async () => {
    const got: unknown[] = [];
    const off = bridge.on('progress', (p) => got.push(p));
    await bridge.invoke('hosts.list', {});
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual([{ requestId: 'r1', step: 'resolve', status: 'start' }]);
    off();
    await bridge.invoke('hosts.list', {});
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toHaveLength(1);
  });
});

describe('notifications (one-way messages such as session.ack)', () => {
  function serverWithAcks(ackImpl?: (args: { sessionId: string; bytes: number }) => void) {
    const acks: Array<{ sessionId: string; bytes: number; peer: string }> = [];
    const log: string[] = [];
    const server = new ContractServer(
      {
        ...backend.handlers,
        'session.ack': (args, { peer }) => {
          ackImpl?.(args);
          acks.push({ ...args, peer: peer.peerId });
        },
      },
      createLogger('rpc', (l) => log.push(l), 'debug'),
    );
    return { server, acks, log };
  }

  it('a valid notification reaches its handler with the parsed arguments and the sending peer', () => {
    const { server, acks } = serverWithAcks();
    const { bridge: b } = connectInMemory(server, 'win');
    b.notify('session.ack', { sessionId: 's3', bytes: 32768 });
    expect(acks).toEqual([{ sessionId: 's3', bytes: 32768, peer: 'win' }]);
  });

  it('hostile notifications are dropped with a logged reason, never the payload, and nothing breaks', async () => {
    const { server, acks, log } = serverWithAcks();
    const { bridge: b, peer } = connectInMemory(server, 'win');
    const hostile: Array<[unknown, unknown]> = [
      ['session.ack', { sessionId: 's1', bytes: -5, note: SECRET }],
      ['session.ack', { sessionId: SECRET, bytes: 1 }],
      ['session.ack', SECRET],
      ['session.ack', null],
      ['session.ack', JSON.parse(`{"__proto__":{"polluted":"${SECRET}"},"sessionId":"s1","bytes":1}`)],
      ['no.such', { secret: SECRET }],
      ['__proto__', {}],
      ['hosts.delete', { id: 'h1' }], // a request channel is not a notification
      [42, {}],
      [undefined, undefined],
    ];
    for (const [ch, args] of hostile) expect(() => b.notify(ch as string, args)).not.toThrow();
    expect(() => peer.notify('session.ack', { sessionId: 's1', bytes: 1 }, MAX_MESSAGE_BYTES + 1)).not.toThrow();
    expect(acks).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const dropped = log.filter((l) => l.includes('dropped'));
    expect(dropped).toHaveLength(hostile.length + 1);
    expect(dropped.filter((l) => l.includes('malformed'))).toHaveLength(5);
    expect(dropped.filter((l) => l.includes('unknown channel'))).toHaveLength(5);
    expect(dropped.filter((l) => l.includes('oversized'))).toHaveLength(1);
    for (const l of log) expect(l).not.toContain(SECRET);
    // Still serving calls and notifications.
    expect((await b.invoke('app.info', {})).ok).toBe(true);
    b.notify('session.ack', { sessionId: 's1', bytes: 7 });
    expect(acks).toEqual([{ sessionId: 's1', bytes: 7, peer: 'win' }]);
  });

  it('a notification channel cannot be invoked as a call', async () => {
    refused(await bridge.invoke('session.ack', { sessionId: 's1', bytes: 1 }), 'UnknownChannel');
  });

  it('a handler that throws is logged (ours by code, anything else as an internal failure) and the peer stays usable', async () => {
    let throwWith: Error = new Error('EACCES /root/secret-thing');
    const { server, log } = serverWithAcks(() => {
      throw throwWith;
    });
    const { bridge: b } = connectInMemory(server, 'win');
    expect(() => b.notify('session.ack', { sessionId: 's1', bytes: 1 })).not.toThrow();
    expect(log.some((l) => l.includes('notification handler failed'))).toBe(true);
    // The real handler's NotFound for a session that has closed is not an error worth a warning.
    const real = connectInMemory(new ContractServer(backend.handlers, createLogger('rpc', (l) => log.push(l), 'debug')), 'w2');
    throwWith = new Error('unused');
    expect(() => real.bridge.notify('session.ack', { sessionId: 's99', bytes: 1 })).not.toThrow();
    expect(log.some((l) => l.includes('notification not applied') && l.includes('NotFound'))).toBe(true);
    expect((await b.invoke('app.info', {})).ok).toBe(true);
  });

  it('after the peer is gone, notifications are ignored', () => {
    const { server, acks } = serverWithAcks();
    const { bridge: b, peer } = connectInMemory(server, 'win');
    peer.dispose();
    b.notify('session.ack', { sessionId: 's1', bytes: 1 });
    expect(acks).toEqual([]);
  });
});
