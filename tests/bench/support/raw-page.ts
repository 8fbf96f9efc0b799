import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CHROMIUM, CHROMIUM_FLAGS } from '../../e2e/support/browser';

/**
 * A Chromium page driven over the DevTools protocol with the Runtime domain only.
 *
 * Why not Playwright here: Playwright enables the Network domain on every page it drives and
 * receives every WebSocket frame's payload (Network.webSocketFrameReceived). Chromium copies
 * each frame into a DevTools event on the page's main thread and sends it to the test process,
 * which parses it: for a terminal stream of 30 MB that is 30 MB more work on the very thread
 * that runs xterm.js, and on the core that runs the backend. The app in Electron pays none of
 * this, so the benchmark measures in a page nobody inspects.
 */
export interface RawPage {
  /** Runs `fn(arg)` in the page (awaiting a returned promise) and returns its JSON value. */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** One DevTools command on the page's session (HeapProfiler, Runtime, Input…). */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Calls `fn` with the params of every DevTools event named `method` (Tracing.dataCollected…). */
  on(method: string, fn: (params: Record<string, unknown>) => void): void;
  readonly process: ChildProcess;
  close(): Promise<void>;
}

/** `bypassCsp`: the page may open a WebSocket to another loopback port (the terminal bench's bare pipe beside the app). */
export async function openRawPage(url: string, viewport: { width: number; height: number }, opts: { bypassCsp?: boolean } = {}): Promise<RawPage> {
  const profile = mkdtempSync(join(tmpdir(), 'keyless-bench-chromium-'));
  const chrome = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      `--window-size=${viewport.width},${viewport.height}`,
      'about:blank',
    ],
    { stdio: 'ignore' },
  );
  const cleanup = async () => {
    if (chrome.exitCode === null && chrome.signalCode === null) {
      const gone = new Promise((r) => chrome.once('exit', r));
      chrome.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (chrome.exitCode === null && chrome.signalCode === null) chrome.kill('SIGKILL');
    }
    // Its helper processes may still be writing to the profile for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        rmSync(profile, { recursive: true, force: true });
        return;
      } catch (err) {
        if (attempt >= 20) {
          process.stderr.write(`could not remove the benchmark's Chromium profile ${profile}: ${(err as Error).message}\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  try {
    const portFile = join(profile, 'DevToolsActivePort');
    const deadline = Date.now() + 20_000;
    while (!existsSync(portFile) || !readFileSync(portFile, 'utf8').includes('\n')) {
      if (Date.now() > deadline || chrome.exitCode !== null) throw new Error(`Chromium at ${CHROMIUM} did not open its DevTools port`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = readFileSync(portFile, 'utf8').split('\n')[0];
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>;
    const target = targets.find((t) => t.type === 'page');
    if (!target) throw new Error('Chromium opened no page');
    const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let nextId = 1;
    const handlers = new Map<string, Array<(params: Record<string, unknown>) => void>>();
    const waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string } };
      if (msg.id === undefined) {
        if (msg.method) for (const fn of handlers.get(msg.method) ?? []) fn(msg.params ?? {});
        return;
      }
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(msg.error.message));
      else w?.resolve(msg.result ?? {});
    });
    ws.on('close', () => {
      for (const w of waiting.values()) w.reject(new Error('the DevTools connection closed'));
      waiting.clear();
    });
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    const page: RawPage = {
      send,
      on(method, fn) {
        handlers.set(method, [...(handlers.get(method) ?? []), fn]);
      },
      process: chrome,
      async evaluate(fn, arg) {
        // tsx compiles with keepNames, which puts calls to a `__name` helper inside functions.
        const expression = `(() => { var __name = (f) => f; return (${fn.toString()})(${JSON.stringify(arg) ?? 'undefined'}); })()`;
        const r = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
          result: { value?: unknown };
          exceptionDetails?: { exception?: { description?: string }; text?: string };
        };
        if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'evaluation failed');
        return r.result.value as never;
      },
      async close() {
        ws.close();
        await cleanup();
      },
    };
    if (opts.bypassCsp) await send('Page.setBypassCSP', { enabled: true });
    await send('Page.navigate', { url });
    return page;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
