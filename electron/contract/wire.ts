import type { KeylessError } from './errors';

/** The envelope a call's outcome travels in, on either transport: errors are data, never thrown. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: KeylessError };

/** Browser-harness frames (WebSocket, JSON text). Electron IPC carries the same shapes. */
export type ClientFrame = { t: 'call'; id: number; ch: string; args: unknown } | { t: 'notify'; ch: string; args: unknown };
export type ServerFrame =
  | { t: 'result'; id: number; outcome: Outcome<unknown> }
  | { t: 'event'; ev: string; payload: unknown };

/** What the preload exposes as `window.keyless`, and what the harness client implements too. */
export interface KeylessBridge {
  invoke(channel: string, args: unknown): Promise<Outcome<unknown>>;
  /** A one-way message: sent now, nothing comes back (main drops it, logged, when it is invalid). */
  notify(channel: string, args: unknown): void;
  on(event: string, listener: (payload: unknown) => void): () => void;
}
