import type { KeylessError } from './errors';

/** The envelope a call's outcome travels in, on either transport: errors are data, never thrown. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: KeylessError };

/** Browser-harness frames (WebSocket, JSON text). Electron IPC carries the same shapes. */
export type ClientFrame = { t: 'call'; id: number; ch: string; args: unknown } | { t: 'notify'; ch: string; args: unknown };
export type ServerFrame =
  | { t: 'result'; id: number; outcome: Outcome<unknown> }
  | { t: 'event'; ev: string; payload: unknown };

/**
 * An event whose payload carries bytes in `data` (terminal output) travels over the harness
 * WebSocket as one binary message: a 4-byte big-endian length, that many bytes of the frame's
 * JSON without `data`, then the bytes themselves, uncopied into text and unescaped. Electron IPC
 * needs none of this: it carries a Uint8Array as it is.
 */
export function encodeBinaryEvent(ev: string, payload: { data: Uint8Array } & Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const head = binaryEventHead(ev, payload);
  const out = new Uint8Array(head.length + payload.data.byteLength);
  out.set(head);
  out.set(payload.data, head.length);
  return out;
}

/** The payload when it is one that travels as a binary message (it carries bytes in `data`). */
export function bytesPayload(payload: unknown): ({ data: Uint8Array } & Record<string, unknown>) | undefined {
  const data = (payload as { data?: unknown } | undefined)?.data;
  return data instanceof Uint8Array ? (payload as { data: Uint8Array } & Record<string, unknown>) : undefined;
}

/** The part of a binary event message before its bytes (a sender may send the two as fragments of one message, uncopied). */
export function binaryEventHead(ev: string, payload: { data: Uint8Array } & Record<string, unknown>): Uint8Array {
  const { data: _bytes, ...rest } = payload;
  const json = new TextEncoder().encode(JSON.stringify({ t: 'event', ev, payload: rest }));
  const head = new Uint8Array(4 + json.length);
  new DataView(head.buffer).setUint32(0, json.length);
  head.set(json, 4);
  return head;
}

/** The event frame in a binary message, with `data` a view on the message's bytes; undefined when it is not one. */
export function decodeBinaryEvent(buf: ArrayBuffer): { ev: string; payload: Record<string, unknown> & { data: Uint8Array } } | undefined {
  if (buf.byteLength < 4) return undefined;
  const headLength = new DataView(buf).getUint32(0);
  if (4 + headLength > buf.byteLength) return undefined;
  let frame: unknown;
  try {
    frame = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, headLength)));
  } catch {
    return undefined;
  }
  if (!frame || typeof frame !== 'object') return undefined;
  const { t, ev, payload } = frame as { t?: unknown; ev?: unknown; payload?: unknown };
  if (t !== 'event' || typeof ev !== 'string' || !payload || typeof payload !== 'object') return undefined;
  return { ev, payload: { ...(payload as Record<string, unknown>), data: new Uint8Array(buf, 4 + headLength) } };
}

/** What the preload exposes as `window.keyless`, and what the harness client implements too. */
export interface KeylessBridge {
  invoke(channel: string, args: unknown): Promise<Outcome<unknown>>;
  /** A one-way message: sent now, nothing comes back (main drops it, logged, when it is invalid). */
  notify(channel: string, args: unknown): void;
  on(event: string, listener: (payload: unknown) => void): () => void;
}
