import { Terminal } from '@xterm/xterm';
import type { FlowStats } from '../../../electron/contract';
import type { Workspace } from '../state/workspace.svelte';
import { concatBytes } from './bytes';
import type { TerminalSession } from './terminal-session.svelte';

/**
 * What end-to-end tests and the benchmark read from the page (`?testHooks` in the address):
 * terminal text through xterm.js's buffer API (whichever renderer draws it), what xterm.js has
 * parsed, and the flow-control counters. Read-only views of the page's own state.
 */
export interface KeylessTestHook {
  panes(): Array<{ tab: string; pane: string; sessionId?: string; state: string; active: boolean; renderer: string; cols: number; rows: number }>;
  /** The buffer's lines (scrollback included), right-trimmed; the focused pane unless one is named. */
  text(pane?: string): string;
  stats(pane?: string): Promise<FlowStats>;
  /** Starts keeping every piece of output the pane's xterm.js parses. */
  capture(pane?: string): void;
  /** SHA-256 (hex) of the UTF-8 of what was parsed between the first `begin` and the following `end`, and its length. */
  capturedHash(begin: string, end: string, pane?: string): Promise<{ hash: string; chars: number; found: boolean }>;
  capturedText(pane?: string): string;
  /** The last `n` characters captured, and how many bytes in all (cheap to poll). */
  capturedTail(n: number, pane?: string): { tail: string; bytes: number };
  /** Calls `fn` after xterm.js parses each piece of output, decoded (tests). */
  tap(fn: (parsed: string, at: number) => void, pane?: string): () => void;
  /** Calls `fn` after xterm.js parses each piece of output, as the bytes it parsed (benchmark: no decoding cost). */
  tapBytes(fn: (parsed: Uint8Array, at: number) => void, pane?: string): () => void;
  /** Types as if from the keyboard (goes through broadcast, like real keys). */
  type(data: string, pane?: string): void;
  refusedClipboardWrites(pane?: string): number;
  /** xterm.js on its own in this page, fed `data` (text or UTF-8 bytes) in pieces: milliseconds until it has parsed it all. */
  xtermAlone(data: string | Uint8Array, piece: number): Promise<number>;
  heap(): number | undefined;
  /**
   * The terminal benchmark's bare pipe: a plain xterm.js over the focused pane, fed by a WebSocket
   * at `url` (tests/bench/support/bare-pipe.mjs) with no flow control. Resolves when it is open.
   */
  bareOpen(url: string): Promise<void>;
  bareType(data: string): void;
  /** Calls `fn` after the bare pipe's xterm.js parses each message, as its bytes. */
  bareTapBytes(fn: (parsed: Uint8Array, at: number) => void): () => void;
  /** Bytes received from the bare pipe's socket, parsed by its xterm.js, and thrown away by xterm.js (too much queued). */
  bareCounts(): { received: number; parsed: number; discarded: number };
  bareClose(): void;
}

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

export function installTestHook(ws: Workspace): void {
  const captures = new Map<string, Uint8Array[]>();
  let bare: { term: Terminal; host: HTMLElement; socket: WebSocket; taps: Set<(s: Uint8Array, at: number) => void>; counts: { received: number; parsed: number; discarded: number } } | undefined;
  const pick = (id?: string): TerminalSession => {
    const p = id ? ws.allPanes.find((x) => x.id === id) : ws.activeTab?.activePane;
    if (!p) throw new Error(`no pane ${id ?? '(focused)'}`);
    return p;
  };
  const hook: KeylessTestHook = {
    panes: () =>
      ws.tabs.flatMap((t) =>
        t.orderedPanes.map((p) => ({
          tab: t.id,
          pane: p.id,
          ...(p.sessionId ? { sessionId: p.sessionId } : {}),
          state: p.state,
          active: ws.activeTabId === t.id && t.activePaneId === p.id,
          renderer: p.renderer,
          cols: p.terminal.cols,
          rows: p.terminal.rows,
        })),
      ),
    text(id) {
      const buf = pick(id).terminal.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n').replace(/\n+$/, '');
    },
    async stats(id) {
      const p = pick(id);
      if (!p.sessionId) throw new Error('no session');
      return ws.backend.invoke('session.stats', { sessionId: p.sessionId });
    },
    capture(id) {
      const p = pick(id);
      const chunks: Uint8Array[] = [];
      captures.set(p.id, chunks);
      p.tap((s) => chunks.push(s));
    },
    capturedText: (id) => new TextDecoder().decode(concatBytes(captures.get(pick(id).id) ?? [])),
    capturedTail(n, id) {
      const chunks = captures.get(pick(id).id) ?? [];
      // Enough of the last chunks for n characters (at most 4 bytes each), decoded together.
      const last: Uint8Array[] = [];
      for (let i = chunks.length - 1, bytes = 0; i >= 0 && bytes < 4 * n + 4; i--) {
        last.unshift(chunks[i]!);
        bytes += chunks[i]!.byteLength;
      }
      return { tail: new TextDecoder().decode(concatBytes(last)).slice(-n), bytes: chunks.reduce((k, c) => k + c.byteLength, 0) };
    },
    async capturedHash(begin, end, id) {
      const all = hook.capturedText(id);
      const from = all.indexOf(begin);
      const to = from < 0 ? -1 : all.indexOf(end, from + begin.length);
      if (from < 0 || to < 0) return { hash: '', chars: all.length, found: false };
      const body = all.slice(from + begin.length, to);
      return { hash: hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body))), chars: body.length, found: true };
    },
    tap(fn, id) {
      const decoder = new TextDecoder();
      return pick(id).tap((s) => fn(decoder.decode(s, { stream: true }), performance.now()));
    },
    tapBytes: (fn, id) => pick(id).tap((s) => fn(s, performance.now())),
    type: (data, id) => pick(id).terminal.input(data, true),
    refusedClipboardWrites: (id) => pick(id).refusedClipboardWrites,
    async xtermAlone(data, piece) {
      const host = document.createElement('div');
      const pane = pick().element.getBoundingClientRect();
      host.style.cssText = `position:fixed;left:0;top:0;width:${pane.width}px;height:${pane.height}px;z-index:-1`;
      document.body.appendChild(host);
      const term = new Terminal({ scrollback: ws.settings.scrollback, fontSize: ws.look.fontSize, fontFamily: ws.settings.fontFamily, allowProposedApi: true });
      term.open(host);
      term.resize(pick().terminal.cols, pick().terminal.rows);
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        for (let i = 0; i < data.length; i += piece) {
          const last = i + piece >= data.length;
          term.write(typeof data === 'string' ? data.slice(i, i + piece) : data.subarray(i, i + piece), last ? resolve : undefined);
        }
      });
      const ms = performance.now() - t0;
      term.dispose();
      host.remove();
      return ms;
    },
    heap: () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize,
    async bareOpen(url) {
      hook.bareClose();
      const pane = pick();
      const box = pane.element.getBoundingClientRect();
      const host = document.createElement('div');
      // On top of the pane, the same size, so that it draws as much as Keyless's does.
      host.style.cssText = `position:fixed;left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px;z-index:1000;background:#000`;
      document.body.appendChild(host);
      const term = new Terminal({ scrollback: ws.settings.scrollback, fontSize: ws.look.fontSize, fontFamily: ws.settings.fontFamily, allowProposedApi: true });
      term.open(host);
      term.resize(pane.terminal.cols, pane.terminal.rows);
      const u = new URL(url);
      u.searchParams.set('cols', String(term.cols));
      u.searchParams.set('rows', String(term.rows));
      const socket = new WebSocket(u);
      socket.binaryType = 'arraybuffer';
      const b = { term, host, socket, taps: new Set<(s: Uint8Array, at: number) => void>(), counts: { received: 0, parsed: 0, discarded: 0 } };
      bare = b;
      // What electerm does: every message straight to term.write, however much is already queued.
      socket.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
        const bytes = new Uint8Array(ev.data);
        b.counts.received += bytes.length;
        try {
          term.write(bytes, () => {
            b.counts.parsed += bytes.length;
            const at = performance.now();
            for (const fn of b.taps) fn(bytes, at);
          });
        } catch {
          b.counts.discarded += bytes.length; // xterm.js: "write data discarded, use flow control"
        }
      };
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error(`the bare pipe at ${url} did not open`));
      });
    },
    bareType(data) {
      bare?.socket.send(new TextEncoder().encode(data));
    },
    bareTapBytes(fn) {
      const b = bare;
      if (!b) throw new Error('no bare pipe');
      b.taps.add(fn);
      return () => b.taps.delete(fn);
    },
    bareCounts: () => ({ ...(bare?.counts ?? { received: 0, parsed: 0, discarded: 0 }) }),
    bareClose() {
      if (!bare) return;
      bare.socket.close();
      bare.term.dispose();
      bare.host.remove();
      bare = undefined;
    },
  };
  (window as unknown as { keylessTest: KeylessTestHook }).keylessTest = hook;
}
