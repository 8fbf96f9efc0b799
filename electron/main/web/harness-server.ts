import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http as nodeHttp } from '../base/node-http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, binaryEventHead, bytesPayload, type ClientFrame, type EventName, type ServerFrame } from '../../contract';
import type { Logger } from '../base/log';
import type { ContractServer } from '../rpc/contract-server';
import { jsonPieces } from './json-pieces';

/** The same policy the Electron window enforces: our own scripts only, no eval, no remote origins. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // The inventory filter's worker: a script file of our own, never a blob: or data: URL.
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Frames above 1 MiB get a typed refusal; only a frame this large closes the socket outright. */
const HARD_FRAME_LIMIT = 16 * 1024 * 1024;

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export interface Harness {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The browser harness: the built renderer and the real backend on 127.0.0.1 only. A WebSocket
 * at /rpc carries the contract; it is opened only with this run's random token and from this
 * server's own origin, so another local page or process cannot drive the backend.
 */
export async function startHarness(opts: {
  server: ContractServer;
  staticDir: string;
  log: Logger;
  port?: number;
}): Promise<Harness> {
  const token = randomBytes(24).toString('base64url');
  let port = 0;
  const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  const serveStatic = async (req: IncomingMessage, res: ServerResponse) => {
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      res.writeHead(421).end('Misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('Bad request');
      return;
    }
    const rel = normalize(pathname === '/' ? '/index.html' : pathname);
    const file = join(opts.staticDir, rel);
    if (!file.startsWith(opts.staticDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end('Not found');
    }
  };

  const http = nodeHttp.createServer((req, res) => {
    serveStatic(req, res).catch(() => res.writeHead(500).end());
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT });
  let peers = 0;

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const origin = req.headers.origin ?? '';
    const given = url.searchParams.get('token') ?? '';
    const reason =
      url.pathname !== '/rpc'
        ? 'path'
        : !allowedHosts().includes(req.headers.host ?? '')
          ? 'host'
          : !allowedHosts().some((h) => origin === `http://${h}`)
            ? 'origin'
            : !sameSecret(given, token)
              ? 'token'
              : undefined;
    if (reason) {
      opts.log.warn('refused WebSocket connection', { reason, remote: socket.remoteAddress });
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const attach = (ws: WebSocket) => {
    const peerId = `web${++peers}`;
    const send = (frame: ServerFrame) => {
      if (ws.readyState !== ws.OPEN) return;
      if (frame.t !== 'result') return ws.send(JSON.stringify(frame));
      // A result can be large (the inventory): fragments of one text message, written in one go so nothing comes between them.
      const pieces = jsonPieces(frame);
      pieces.forEach((piece, i) => ws.send(piece, { binary: false, fin: i === pieces.length - 1 }));
    };
    const peer = opts.server.connect(peerId, (ev: EventName, payload: unknown) => {
      // Terminal output goes as bytes in a binary message (no JSON escaping, no text decoding on either side).
      const withBytes = bytesPayload(payload);
      if (!withBytes) return send({ t: 'event', ev, payload });
      if (ws.readyState !== ws.OPEN) return;
      // Two fragments of one message: the head, then the bytes as they are (no copy into a new buffer).
      ws.send(binaryEventHead(ev, withBytes), { binary: true, fin: false });
      ws.send(withBytes.data, { binary: true, fin: true });
    });
    opts.log.info('browser connected', { peer: peerId });
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : (raw as Buffer | ArrayBuffer).byteLength;
      if (bytes > MAX_MESSAGE_BYTES) {
        // Refuse without parsing: the call id is read from the frame's first bytes only.
        const head = Buffer.from(Array.isArray(raw) ? raw[0] ?? [] : (raw as Buffer)).subarray(0, 64).toString('latin1');
        const id = /"id"\s*:\s*(\d{1,15})/.exec(head)?.[1];
        if (id !== undefined) void peer.call(undefined, undefined, bytes).then((outcome) => send({ t: 'result', id: Number(id), outcome }));
        else peer.notify(undefined, undefined, bytes); // dropped, and logged as oversized
        return;
      }
      const text = isBinary ? '' : raw.toString();
      let frame: Partial<ClientFrame & { id: unknown }> | undefined;
      try {
        frame = JSON.parse(text) as Partial<ClientFrame & { id: unknown }>;
      } catch {
        frame = undefined;
      }
      if (frame && typeof frame === 'object' && frame.t === 'notify') {
        peer.notify(frame.ch, frame.args, bytes);
        return;
      }
      if (!frame || typeof frame !== 'object' || frame.t !== 'call' || typeof frame.id !== 'number') {
        opts.log.warn('ignored malformed frame', { peer: peerId, bytes });
        return;
      }
      const id = frame.id;
      void peer.call(frame.ch, frame.args, bytes).then((outcome) => send({ t: 'result', id, outcome }));
    });
    ws.on('close', () => {
      opts.log.info('browser disconnected', { peer: peerId });
      peer.dispose();
    });
    ws.on('error', () => ws.terminate());
  };

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (http.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
