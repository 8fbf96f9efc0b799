import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_MESSAGE_BYTES, type ServerFrame } from '../../../electron/contract';
import { createBackend, type Backend } from '../../../electron/main/backend';
import { createLogger, silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { CONTENT_SECURITY_POLICY, startHarness, type Harness } from '../../../electron/main/web/harness-server';

let dir: string;
let backend: Backend;
let harness: Harness;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-harness-'));
  await mkdir(join(dir, 'static', 'assets'), { recursive: true });
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>Keyless</title>');
  await writeFile(join(dir, 'static', 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'package.json'), '{"secret":"outside-the-static-folder"}');
  backend = await createBackend({ home: join(dir, 'home'), transport: 'web', version: '0.0.1', systemLocale: 'en', log: silentLogger, userKnownHosts: [] });
  harness = await startHarness({ server: new ContractServer(backend.handlers, silentLogger), staticDir: join(dir, 'static'), log: silentLogger });
  origin = `http://127.0.0.1:${harness.port}`;
});
afterAll(async () => {
  await harness?.close();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: harness.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with the socket, or with the HTTP status it was refused with. */
function connect(query: string, headers: Record<string, string> = { Origin: origin }): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${harness.port}/rpc${query}`, { headers });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

function call(ws: WebSocket, id: number, ch: unknown, args: unknown): Promise<ServerFrame> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData) => {
      const frame = JSON.parse(raw.toString()) as ServerFrame;
      if (frame.t === 'result' && frame.id === id) {
        ws.off('message', onMessage);
        resolve(frame);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ t: 'call', id, ch, args }));
  });
}

describe('the browser harness', () => {
  it('offers a 127.0.0.1 address with a long random token', () => {
    const url = new URL(harness.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(harness.port);
    expect(url.searchParams.get('token')).toBe(harness.token);
    expect(harness.token.length).toBeGreaterThanOrEqual(24);
  });

  it('refuses WebSockets without the token, with a wrong one, from a foreign Origin, or for another Host', async () => {
    const t = `?token=${encodeURIComponent(harness.token)}`;
    expect(await connect('')).toBe(403);
    expect(await connect('?token=')).toBe(403);
    // One character off (not the one it already ends with: a random token may end in x).
    expect(await connect(`?token=${harness.token.slice(0, -1)}${harness.token.endsWith('x') ? 'y' : 'x'}`)).toBe(403);
    expect(await connect(`?token=${harness.token}${harness.token}`)).toBe(403);
    expect(await connect(t, {})).toBe(403);
    expect(await connect(t, { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(t, { Origin: `http://127.0.0.1:${harness.port + 1}` })).toBe(403);
    expect(await connect(t, { Origin: 'null' })).toBe(403);
    // DNS rebinding: the right Origin for a name that now points here is still not ours.
    expect(await connect(t, { Origin: `http://evil.example:${harness.port}`, Host: `evil.example:${harness.port}` })).toBe(403);
    expect(await connect(t, { Origin: origin, Host: `evil.example:${harness.port}` })).toBe(403);
  });

  it('with the token and our Origin, calls work; bad frames are ignored and the socket stays usable', async () => {
    const ws = await connect(`?token=${encodeURIComponent(harness.token)}`);
    expect(ws).toBeInstanceOf(WebSocket);
    if (!(ws instanceof WebSocket)) return;
    try {
      const info = await call(ws, 1, 'app.info', {});
      expect(info).toMatchObject({ t: 'result', id: 1, outcome: { ok: true, value: { transport: 'web', version: '0.0.1' } } });
      for (const bad of ['not json', '{"t":"call"}', 'null', '[1,2]', '{"t":"result","id":3}', '"x"']) ws.send(bad);
      ws.send(Buffer.from([0xff, 0x00, 0x01]), { binary: true });
      const unknown = await call(ws, 2, 'no.such', {});
      expect(unknown).toMatchObject({ outcome: { ok: false, error: { code: 'UnknownChannel' } } });
      const big = await call(ws, 3, 'session.write', { sessionId: 's1', data: 'x'.repeat(MAX_MESSAGE_BYTES) });
      expect(big).toMatchObject({ outcome: { ok: false, error: { code: 'PayloadTooLarge' } } });
      const proto = await call(ws, 4, 'app.info', JSON.parse('{"__proto__":{"polluted":1}}'));
      expect(proto).toMatchObject({ outcome: { ok: false, error: { code: 'InvalidArguments' } } });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await call(ws, 5, 'hosts.list', {})).toMatchObject({ outcome: { ok: true, value: { hosts: [] } } });
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });

  it('notification frames reach their handler with no frame back; hostile ones are dropped, logged, and the socket stays usable', async () => {
    const acks: unknown[] = [];
    const log: string[] = [];
    const own = await startHarness({
      server: new ContractServer({ ...backend.handlers, 'session.ack': (args) => void acks.push(args) }, createLogger('rpc', (l) => log.push(l))),
      staticDir: join(dir, 'static'),
      log: silentLogger,
    });
    const ownOrigin = `http://127.0.0.1:${own.port}`;
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${own.port}/rpc?token=${encodeURIComponent(own.token)}`, { headers: { Origin: ownOrigin } });
      s.on('open', () => resolve(s));
      s.on('error', reject);
    });
    const frames: string[] = [];
    ws.on('message', (raw: WebSocket.RawData) => frames.push(raw.toString()));
    try {
      const notify = (ch: unknown, args: unknown) => ws.send(JSON.stringify({ t: 'notify', ch, args }));
      notify('session.ack', { sessionId: 's4', bytes: 65536 });
      notify('session.ack', { sessionId: 's4', bytes: -1 });
      notify('session.ack', { sessionId: 's4', bytes: 1, extra: 'x' });
      notify('hosts.delete', { id: 'h1' });
      notify('no.such', {});
      notify(undefined, undefined);
      ws.send('{"t":"notify"}');
      ws.send(JSON.stringify({ t: 'notify', ch: 'session.ack', args: { sessionId: 's4', bytes: 1, pad: 'x'.repeat(MAX_MESSAGE_BYTES) } }));
      const after = await call(ws, 1, 'app.info', {});
      expect(after).toMatchObject({ t: 'result', id: 1, outcome: { ok: true } });
      // Nothing but the call's own result came back.
      expect(frames).toHaveLength(1);
      expect(acks).toEqual([{ sessionId: 's4', bytes: 65536 }]);
      expect(log.filter((l) => l.includes('dropped'))).toHaveLength(7);
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
      await own.close();
    }
  });

  it('serves the renderer with the CSP, and nothing outside its folder', async () => {
    const index = await get('/', { Host: `127.0.0.1:${harness.port}` });
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Keyless</title>');
    expect(index.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(String(index.headers['content-security-policy'])).not.toMatch(/unsafe-eval|\*/);
    const js = await get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e%2fpackage.json', '/..\\package.json', '/assets', '/nope.html']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('outside-the-static-folder');
    }
    const malformed = await get('/%E0%A4%A');
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect((await get('/', { Host: `evil.example:${harness.port}` })).status).toBe(421);
  });

  it('listens on 127.0.0.1 only', async () => {
    const reach = (host: string) =>
      new Promise<boolean>((resolve) => {
        const s = createConnection({ host, port: harness.port });
        s.on('connect', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
        s.setTimeout(2000, () => (s.destroy(), resolve(false)));
      });
    expect(await reach('127.0.0.1')).toBe(true);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.address !== '127.0.0.1' && !a.address.startsWith('fe80'))
      .map((a) => a!.address);
    if (others.length === 0) console.warn('harness: this machine has no other address to try');
    for (const address of ['127.0.0.2', ...others]) expect(await reach(address), address).toBe(false);
  });
});
