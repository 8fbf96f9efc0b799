import type { Agent, IncomingMessage } from 'node:http';
import { randomFillSync } from 'node:crypto';
import { Duplex } from 'node:stream';
import { getProxyForUrl } from 'proxy-from-env';
import type WebSocket from 'ws';
import type { AwsClock } from '../aws/clock';
import { KeylessFailure } from '../base/errors';

/** The AWS CLI never sends more than this in one binary frame. */
export const MAX_FRAME_BYTES = 65_000;

export interface EndpointTunnelOptions {
  /** The presigned `wss://{DnsName}/openTunnel?…` URL. A secret for 60 s: never log it. */
  url: string;
  /**
   * Where to dial instead of the URL's host, with the same path, query and Host header: the
   * `ec2-instance-connect` endpoint override (AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT, …) when one
   * is set, as the SDK does for the API calls. `http:` dials plain `ws:`.
   */
  dialVia?: URL;
  signal?: AbortSignal;
  /** How long the TCP + TLS + upgrade may take. */
  openTimeoutMs?: number;
  /** What the failure messages call the tunnel (e.g. "eice-0abc to 10.0.0.5:22"). */
  label?: string;
  userAgent?: string;
  /** Learns from the endpoint's answer (its `Date`), accepted or refused. */
  clock?: AwsClock;
}

/** How AWS refuses a signature dated outside its window: the URL's clock was off, not its keys. */
const SIGNED_TIME_REFUSED = /Request has expired|Signature expired|Signature not yet current|not yet valid/i;

/**
 * The agent HTTPS_PROXY / NO_PROXY call for (proxy-from-env reads them as curl does). The proxy
 * agent's package is loaded only when a proxy is set, and the WebSocket client at the first
 * tunnel: neither is held by an app at rest (as ssh/ssh2.ts and aws/sdk.ts).
 */
export async function proxyAgentFor(target: URL, env: NodeJS.ProcessEnv = process.env): Promise<Agent | undefined> {
  const asHttp = new URL(target.href);
  asHttp.protocol = target.protocol === 'ws:' || target.protocol === 'http:' ? 'http:' : 'https:';
  const saved = process.env;
  let proxy: string;
  try {
    process.env = env;
    proxy = getProxyForUrl(asHttp);
  } finally {
    process.env = saved;
  }
  if (!proxy) return undefined;
  const { HttpsProxyAgent } = await import('https-proxy-agent');
  return new HttpsProxyAgent(proxy) as unknown as Agent;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      if (text.length < 4096) text += d;
    });
    res.on('end', () => resolve(text));
    res.on('error', () => resolve(text));
  });
}

/** The AWS error message inside a JSON or XML error body, else the text itself. */
function errorMessageOf(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: string; Message?: string };
    if (j.message ?? j.Message) return String(j.message ?? j.Message);
  } catch {
    /* not JSON */
  }
  const xml = /<Message>([^<]*)<\/Message>/.exec(body);
  return (xml?.[1] ?? body).trim().slice(0, 500);
}

/** A refused upgrade, as a failure a person can act on. */
function refusal(status: number, body: string, label: string): KeylessFailure {
  const message = errorMessageOf(body) || `HTTP ${status}`;
  if (status === 403 && /not authorized|AccessDenied|explicit deny/i.test(body)) {
    return new KeylessFailure('AwsAccessDenied', `The Instance Connect Endpoint refused the tunnel (${label}): ${message}`, false, {
      action: 'ec2-instance-connect:OpenTunnel',
      status,
      reason: message,
      cause: 'openTunnel',
    });
  }
  const signedTime = SIGNED_TIME_REFUSED.test(message);
  if (status === 403 && (signedTime || /expired|signature/i.test(body))) {
    return new KeylessFailure('TunnelRefused', `The endpoint refused the signed tunnel request (${label}): ${message}. Check that this computer's clock is right.`, true, {
      status,
      reason: message,
      cause: 'signature',
      // Only a URL dated outside its window is worth signing again (not an expired session token).
      ...(signedTime ? { signedTime: true } : {}),
    });
  }
  return new KeylessFailure('TunnelRefused', `The Instance Connect Endpoint refused the tunnel (${label}): ${message}`, status === 429 || status >= 500, {
    status,
    reason: message,
    cause: 'refused',
  });
}

/**
 * The frames for the bytes written in one turn, as the pieces of those writes each one carries:
 * the bytes are one stream, cut into frames of 65,000 bytes (the last one shorter), whatever the
 * writes' own bounds. A bulk transfer's SSH packets (32 KiB each, sshd's largest) then travel two
 * to a frame, not one: half the frames, so half the work per frame for the endpoint, and half the
 * reads for the instance's sshd.
 */
export function framesOf(writes: Buffer[]): Buffer[][] {
  const frames: Buffer[][] = [];
  let frame: Buffer[] = [];
  let bytes = 0;
  for (const w of writes) {
    for (let offset = 0; offset < w.length; ) {
      const take = Math.min(MAX_FRAME_BYTES - bytes, w.length - offset);
      frame.push(offset === 0 && take === w.length ? w : w.subarray(offset, offset + take));
      bytes += take;
      offset += take;
      if (bytes === MAX_FRAME_BYTES) {
        frames.push(frame);
        frame = [];
        bytes = 0;
      }
    }
  }
  if (frame.length) frames.push(frame);
  return frames;
}

/**
 * A WebSocket masking key (RFC 6455: a client masks each frame with a fresh unpredictable key)
 * from a pool of random bytes, never all zero: ws sends a zero-keyed frame's data without copying
 * it, and EndpointTunnel reuses the buffer it hands to ws.send as soon as that returns.
 */
function maskKeys(): (mask: Buffer) => void {
  const pool = Buffer.alloc(4096);
  let at = pool.length;
  return (mask) => {
    do {
      if (at === pool.length) {
        randomFillSync(pool);
        at = 0;
      }
      pool.copy(mask, 0, at, at + 4);
      at += 4;
    } while ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0);
  };
}

function closeFailure(code: number, reason: string, label: string): KeylessFailure {
  const why = reason || `close code ${code}`;
  return new KeylessFailure('TunnelClosed', `The tunnel (${label}) was closed by the endpoint: ${why}`, true, { closeCode: code, reason: why, cause: 'closedByEndpoint' });
}

/**
 * An EICE `openTunnel` WebSocket as a byte stream: what is written goes out as binary frames of at
 * most 65,000 bytes; binary frames that arrive are read. A text frame from the endpoint is an
 * error, and so is a close code other than 1000 (its reason reaches the person). Reading pauses
 * the socket when the reader falls behind, so back-pressure reaches the endpoint.
 */
export class EndpointTunnel extends Duplex {
  /** Bytes written in this turn of the event loop, sent together as one frame on the next tick. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  /**
   * Where the pieces of a frame cut from several writes are put together. ws copies a frame's
   * data as it masks it, before send returns (no compression, a key never zero), so one buffer
   * serves every frame.
   */
  private joined: Buffer | undefined;
  /** A write held back while the socket's send buffer is full (back-pressure). */
  private heldWrite: ((err?: Error | null) => void) | undefined;
  /**
   * Resolves when the WebSocket itself has closed (after the close handshake, or once dropped):
   * later than the stream's 'close', which comes as soon as this side is done with it. The
   * endpoint counts a tunnel until then.
   */
  readonly wireClosed: Promise<void>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly label: string,
  ) {
    super({ allowHalfOpen: false });
    this.wireClosed = new Promise((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())));
    // Nothing is taken off the socket until the first read, so no frame or error is lost
    // between the open and the consumer attaching its listeners.
    ws.pause();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const text = data.toString('utf8').slice(0, 500);
        this.destroy(new KeylessFailure('TunnelClosed', `The endpoint reported an error on the tunnel (${label}): ${text}`, true, { reason: text, cause: 'endpointError' }));
        return;
      }
      if (!this.push(data)) ws.pause();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (code === 1000 || code === 1005) this.push(null);
      else this.destroy(closeFailure(code, reason.toString('utf8'), label));
    });
    ws.on('error', (err: Error) => this.destroy(new KeylessFailure('TunnelClosed', `The tunnel (${label}) failed: ${err.message}`, true, { cause: 'failed' })));
  }

  /** Opens the WebSocket and resolves once the endpoint has accepted it. */
  static async open(opts: EndpointTunnelOptions): Promise<EndpointTunnel> {
    const signed = new URL(opts.url);
    const label = opts.label ?? signed.searchParams.get('instanceConnectEndpointId') ?? 'EICE';
    let dial = signed;
    const headers: Record<string, string> = { 'User-Agent': opts.userAgent ?? 'keyless' };
    if (opts.dialVia) {
      dial = new URL(signed.pathname + signed.search, opts.dialVia);
      dial.protocol = opts.dialVia.protocol === 'http:' ? 'ws:' : 'wss:';
      // The signature covers the endpoint's own host name.
      headers.Host = signed.host;
    }
    const [{ default: WebSocketClient }, agent] = await Promise.all([import('ws'), proxyAgentFor(dial)]);
    return new Promise((resolve, reject) => {
      const sentAt = opts.clock?.local() ?? 0;
      const ws = new WebSocketClient(dial, {
        headers,
        handshakeTimeout: opts.openTimeoutMs ?? 15_000,
        perMessageDeflate: false,
        generateMask: maskKeys(),
        maxPayload: 16 * 1024 * 1024,
        followRedirects: false,
        ...(agent ? { agent } : {}),
      });
      let settled = false;
      const settle = (err?: KeylessFailure) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        ws.removeAllListeners();
        if (err) {
          ws.on('error', () => {});
          ws.terminate();
          reject(err);
        } else {
          resolve(new EndpointTunnel(ws, label));
        }
      };
      const onAbort = () => settle(new KeylessFailure('Cancelled', 'The connection was cancelled.', true));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('upgrade', (res) => opts.clock?.observeResponse(res, sentAt));
      ws.once('open', () => settle());
      ws.once('unexpected-response', (_req, res) => {
        opts.clock?.observeResponse(res, sentAt);
        void readBody(res).then((body) => settle(refusal(res.statusCode ?? 0, body, label)));
      });
      ws.once('close', (code: number, reason: Buffer) => settle(closeFailure(code, reason.toString('utf8'), label)));
      ws.once('error', (err: NodeJS.ErrnoException) => {
        if (/timeout/i.test(err.message)) {
          settle(new KeylessFailure('Timeout', `The Instance Connect Endpoint did not open the tunnel (${label}) in time.`, true, { step: 'tunnel' }));
        } else {
          settle(new KeylessFailure('NetworkError', `The Instance Connect Endpoint could not be reached (${label}): ${err.code ?? err.message}.`, true, { step: 'tunnel', errno: err.code ?? 'error' }));
        }
      });
    });
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  /**
   * Writes made in one turn of the event loop (ssh2 writes NEWKEYS and SERVICE_REQUEST, or a
   * channel request and its data, one after another) go out together on the next tick, in
   * frames of 65,000 bytes (see framesOf). One frame becomes one write to the instance's TCP connection at
   * the endpoint, so a small second message never waits behind the first for the instance's
   * delayed ACK (Nagle), which costs up to 40 ms a turn.
   */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return cb(new KeylessFailure('TunnelClosed', `The tunnel (${this.label}) is closed.`, true, { cause: 'closed' }));
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(() => this.flush());
    }
    // Back-pressure: past 1 MiB queued in the socket, the next write waits for this frame to go out.
    if (this.ws.bufferedAmount + this.pendingBytes > 1 << 20) this.heldWrite = cb;
    else cb();
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.pendingBytes) return;
    const frames = framesOf(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const held = this.heldWrite;
    this.heldWrite = undefined;
    if (this.ws.readyState !== this.ws.OPEN) {
      held?.(new KeylessFailure('TunnelClosed', `The tunnel (${this.label}) is closed.`, true, { cause: 'closed' }));
      return;
    }
    frames.forEach((pieces, i) => {
      const last = i === frames.length - 1;
      let frame = pieces[0]!;
      if (pieces.length > 1) {
        this.joined ??= Buffer.allocUnsafe(MAX_FRAME_BYTES);
        let at = 0;
        for (const piece of pieces) at += piece.copy(this.joined, at);
        frame = this.joined.subarray(0, at);
      }
      this.ws.send(frame, { binary: true }, (err) => {
        if (!last) return;
        if (held) held(err ?? null);
        else if (err) this.destroy(err);
      });
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flush();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN && !err) {
      this.flush();
      // A clean close needs the endpoint's close frame read, so stop pausing; don't wait long for it.
      this.ws.resume();
      this.ws.close(1000);
      setTimeout(() => this.ws.terminate(), 1000).unref();
    } else if (this.ws.readyState !== this.ws.CLOSED) {
      this.ws.terminate();
    }
    cb(err);
  }
}
