import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { HIGH_WATERMARK, IN_FLIGHT_MAX, IN_FLIGHT_MIN, MESSAGE_BYTES, RESERVE_HIGH, RESERVE_LOW } from '../../electron/main/ssh/terminal-channel';
import { spawn } from 'node:child_process';
import { addHost, connect, startWorld, until, type TerminalWorld } from '../e2e/terminal-support';
import { descendants } from '../sim/sshd';
import { delayLink } from './support/delay-link';
import { statTicks, TICKS } from './support/proc-stat';
import { startProfile } from './support/page-profile';
import { openRawPage, type RawPage } from './support/raw-page';

const RESULTS = join(process.cwd(), 'tests', 'bench', 'results');
// `--quick`: a short proof run (smaller stream, fewer samples, fewer tabs), still alternating 5 times.
const QUICK = process.argv.includes('--quick');
const STREAM_MB = QUICK ? 8 : 30;
const ROUNDS = 5;
/**
 * `--interrupt`: Ctrl-C during `yes` with the page at half speed (Chromium's CPU throttling at
 * 2×) and two busy loops beside, then `cat` of the stream file on a host reached through a link
 * adding 50 ms each way (100 ms round trip): results/terminal-interrupt(-quick).json.
 */
const INTERRUPT = process.argv.includes('--interrupt');
const RTT_MS = 100;
/** A quick run's figures go to a file of their own: the full run's stay. */
const OUT = QUICK ? 'terminal-quick.json' : 'terminal.json';
const CTRL_C_RUNS = QUICK ? 3 : 5;
const ECHO_SAMPLES = QUICK ? 20 : 60;
const TABS = QUICK ? 4 : 20;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function jsHeap(page: RawPage): Promise<number> {
  await page.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await page.send('Runtime.getHeapUsage')) as { usedSize: number };
  return usedSize;
}

/** What the measurements need: the Playwright-free page, and the world's servers and data folder. */
interface Bench {
  page: RawPage;
  world: TerminalWorld;
}

const panes = (page: RawPage) => page.evaluate(() => window.keylessTest.panes());
/** Types into the focused pane (or the one named) as if from the keyboard: broadcast applies. */
const type = (page: RawPage, data: string, pane?: string) => page.evaluate(([d, p]) => window.keylessTest.type(d, p), [data, pane] as const);
const promptShown = (page: RawPage, pane?: string) =>
  page.evaluate((p) => {
    try {
      return /[$#] ?$/.test(window.keylessTest.text(p));
    } catch {
      return false;
    }
  }, pane);

/** Opens a tab on a saved host from its row in the sidebar (its key is already trusted); resolves at the prompt. */
async function openTab(page: RawPage, name: string, waitForPrompt = true): Promise<void> {
  const before = (await panes(page)).length;
  await page.evaluate((n) => {
    const row = [...document.querySelectorAll<HTMLElement>('[data-testid=host-row]')].find((r) => r.textContent?.includes(n));
    if (!row) throw new Error(`no host row ${n}`);
    row.querySelector<HTMLElement>('[data-testid=connect]')!.click();
  }, name);
  await until(async () => (await panes(page)).length > before, 10_000, 'the new tab');
  if (!waitForPrompt) return;
  const pane = (await panes(page)).at(-1)!.pane;
  await until(async () => (await panes(page)).find((p) => p.pane === pane)?.state === 'connected' && (await promptShown(page, pane)), 30_000, `${name} to connect`);
}

const click = (page: RawPage, selector: string) =>
  page.evaluate((sel) => {
    const el = document.querySelector<HTMLElement>(sel);
    if (!el) throw new Error(`nothing matches ${sel}`);
    el.click();
  }, selector);

/**
 * Records (in `benchMarks`) the page time at which `needle` has been parsed by the pane's xterm.js.
 * `skip`: the marker cannot come before this many bytes, so pieces before it are only counted,
 * not searched (the end marker of a 30 MB stream costs the full path no scan of the stream).
 */
function armMarker(page: RawPage, needle: string, skip = 0, pane?: string): Promise<void> {
  // pane BARE: the bare pipe's xterm.js (bareTapBytes) instead of a Keyless pane.
  return page.evaluate(
    ([n, sk, p]) => {
      const w = window as unknown as { benchMarks: Record<string, number> };
      w.benchMarks ??= {};
      // Searched in the bytes xterm.js parsed, so the full path pays no decoding for the
      // measurement: the markers are `KL-…` and the stream has no '-', so a native indexOf of
      // '-' finds candidates and only those are compared. `carry` is the previous piece's tail.
      const needle = new TextEncoder().encode(n!);
      const dash = 0x2d;
      const anchor = needle.indexOf(dash);
      let carry = new Uint8Array(0);
      const matchAt = (xs: Uint8Array, start: number) => start >= 0 && start + needle.length <= xs.length && needle.every((b, k) => xs[start + k] === b);
      const found = (bytes: Uint8Array) => {
        const edge = new Uint8Array(carry.length + Math.min(bytes.length, needle.length - 1));
        edge.set(carry);
        edge.set(bytes.subarray(0, needle.length - 1), carry.length);
        let hit = false;
        for (const xs of [edge, bytes]) for (let i = xs.indexOf(dash); i >= 0 && !hit; i = xs.indexOf(dash, i + 1)) hit = matchAt(xs, i - anchor);
        carry = bytes.slice(Math.max(0, bytes.length - needle.length + 1));
        return hit;
      };
      let seen = 0;
      const tapBytes = (fn: (s: Uint8Array, at: number) => void) => (p === '(bare)' ? window.keylessTest.bareTapBytes(fn) : window.keylessTest.tapBytes(fn, p));
      const off = tapBytes((s, at) => {
        seen += s.length;
        if (seen + needle.length < sk!) return;
        if (found(s)) {
          w.benchMarks[n!] = at;
          off();
        }
      });
    },
    [needle, skip, pane] as const,
  );
}
const markAt = (page: RawPage, needle: string) => page.evaluate((n) => (window as unknown as { benchMarks: Record<string, number> }).benchMarks?.[n], needle);

const BARE = '(bare)';

/** CPU time (ms) a process has used so far (user + system, from /proc; 10 ms ticks). */
function cpuMs(pid: number): number {
  return (statTicks(`/proc/${pid}/stat`) ?? 0) * (1000 / TICKS);
}

/** Chromium's processes (the browser and its children), split into the page's renderers and the rest (GPU, network, browser). */
function chromiumCpuMs(root: number): { renderer: number; all: number } {
  let renderer = 0;
  let all = 0;
  for (const pid of [root, ...descendants(root)]) {
    const ms = cpuMs(pid);
    all += ms;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderer += ms;
    } catch {
      /* gone */
    }
  }
  return { renderer, all };
}

/** Counts the bytes the source's xterm.js parses from now on (window.benchCount[source]). */
const armCounter = (page: RawPage, source: string) =>
  page.evaluate((p) => {
    const w = window as unknown as { benchCount: Record<string, number>; benchCountOff?: Record<string, () => void> };
    w.benchCount ??= {};
    w.benchCountOff ??= {};
    w.benchCountOff[p]?.();
    w.benchCount[p] = 0;
    const count = (s: Uint8Array) => (w.benchCount[p] = (w.benchCount[p] ?? 0) + s.length);
    w.benchCountOff[p] = p === '(bare)' ? window.keylessTest.bareTapBytes(count) : window.keylessTest.tapBytes(count);
  }, source);
const counted = (page: RawPage, source: string) => page.evaluate((p) => (window as unknown as { benchCount: Record<string, number> }).benchCount[p] ?? 0, source);

interface PipeRun {
  ms: number;
  MBps: number;
  parsedBytes: number;
  lossless: boolean;
  backendCpuMs: number;
  pageCpuMs: number;
  chromiumCpuMs: number;
}

/**
 * Throughput: Keyless (sshd → ssh2 → harness WebSocket with flow control → xterm.js) against the
 * bare pipe (sshd → ssh2 → plain WebSocket → xterm.write, no flow control; support/bare-pipe.mjs)
 * in the same page, alternated, and xterm.js alone fed the text Keyless delivered.
 */
async function throughput({ page, world }: Bench, opts: { streamMB: number; rounds: number; bare: { url: string; pid: number } }) {
  const line = 'Keyless throughput 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n';
  const text = line.repeat(Math.ceil((opts.streamMB * 1e6) / line.length));
  const file = join(world.home, 'bench-stream.txt');
  writeFileSync(file, text);
  const expectBytes = text.length + text.split('\n').length - 1; // the PTY sends each line with CR LF
  const command = `clear; printf 'KL-%s\\n' BEGIN; cat ${file}; printf 'KL-%s\\n' END\r`;
  // KEYLESS_BENCH_PROFILE=cpu (process CPU, scheduler waits), =1 (and the page's CPU profile) or =trace (main-thread trace): printed per pass.
  const profiling = process.env.KEYLESS_BENCH_PROFILE;
  const backendPid = world.app.process.pid!;
  const chrome = page.process.pid!;
  const stream = async (source: string): Promise<PipeRun> => {
    const pane = source === BARE ? BARE : undefined;
    await armMarker(page, 'KL-BEGIN', 0, pane);
    await armMarker(page, 'KL-END', expectBytes, pane);
    const prof = profiling ? await startProfile(page, profiling) : undefined;
    const pid = source === BARE ? opts.bare.pid : backendPid;
    const cpu0 = { backend: cpuMs(pid), page: chromiumCpuMs(chrome) };
    await armCounter(page, source);
    if (source === BARE) await page.evaluate((c) => window.keylessTest.bareType(c), command);
    else await type(page, command);
    // The bare pipe may lose output (xterm.js throws it away once too much is queued): then the
    // end marker never comes, and the run ends when nothing more has arrived for 3 s.
    let last = { received: -1, at: Date.now() };
    await until(
      async () => {
        if ((await markAt(page, 'KL-END')) !== undefined) return true;
        if (source !== BARE) return false;
        const c = await page.evaluate(() => window.keylessTest.bareCounts());
        if (c.received !== last.received) last = { received: c.received, at: Date.now() };
        return c.discarded > 0 && c.parsed + c.discarded >= c.received && Date.now() - last.at > 3000;
      },
      300_000,
      `the end of the stream (${source})`,
    );
    const cpu1 = { backend: cpuMs(pid), page: chromiumCpuMs(chrome) };
    await prof?.();
    const begin = (await markAt(page, 'KL-BEGIN')) ?? NaN;
    const endAt = (await markAt(page, 'KL-END')) ?? (await page.evaluate(() => performance.now())) - 3000;
    const parsedBytes = await counted(page, source);
    const lossy = source === BARE && (await page.evaluate(() => window.keylessTest.bareCounts())).discarded > 0;
    await page.evaluate(() => ((window as unknown as { benchMarks: object }).benchMarks = {}));
    const ms = endAt - begin;
    return {
      ms: round(ms, 0),
      MBps: round(text.length / 1e6 / (ms / 1000), 2),
      parsedBytes,
      lossless: !lossy && parsedBytes >= expectBytes,
      backendCpuMs: cpu1.backend - cpu0.backend,
      pageCpuMs: cpu1.page.renderer - cpu0.page.renderer,
      chromiumCpuMs: cpu1.page.all - cpu0.page.all,
    };
  };
  // A first pass, not measured: it warms both paths up and keeps the very bytes the full path
  // delivered (CR LF from the PTY included), which xterm.js alone is then fed in the same page.
  await page.evaluate(() => window.keylessTest.capture());
  await stream('keyless');
  await page.evaluate(() => {
    const all = window.keylessTest.capturedText();
    (window as unknown as { benchBody: Uint8Array }).benchBody = new TextEncoder().encode(all.slice(all.indexOf('KL-BEGIN'), all.lastIndexOf('KL-END')));
    window.keylessTest.capture(); // drop the copy: nothing is kept while measuring
  });
  const openBare = async () => {
    await page.evaluate((u) => window.keylessTest.bareOpen(u), opts.bare.url);
    await until(async () => (await page.evaluate(() => window.keylessTest.bareCounts().received)) > 0, 30_000, 'the bare pipe\'s prompt');
    await sleep(500);
  };
  await openBare();
  await stream(BARE); // its warm-up
  const runs: Array<{ keyless: PipeRun; bare: PipeRun; aloneMs: number }> = [];
  for (let i = 0; i < opts.rounds; i++) {
    // Alternated, the first one changing from round to round, so neither always follows the other.
    const order = i % 2 ? ['keyless', BARE] : [BARE, 'keyless'];
    const got: Record<string, PipeRun> = {};
    for (const source of order) {
      if (source === BARE) await openBare();
      got[source] = await stream(source);
      if (source === BARE) await page.evaluate(() => window.keylessTest.bareClose());
    }
    // In pieces as large as main's messages, as bytes, as the full path hands them to xterm.js.
    const aloneMs = await page.evaluate((piece) => window.keylessTest.xtermAlone((window as unknown as { benchBody: Uint8Array }).benchBody, piece), MESSAGE_BYTES);
    runs.push({ keyless: got.keyless!, bare: got[BARE]!, aloneMs: round(aloneMs, 0) });
    process.stdout.write(`  round ${i + 1}: Keyless ${got.keyless!.MBps} MB/s, bare pipe ${got[BARE]!.lossless ? `${got[BARE]!.MBps} MB/s` : `lossy (${mb(got[BARE]!.parsedBytes)} of ${mb(expectBytes)} MB parsed)`}, xterm.js alone ${round(text.length / 1e6 / (aloneMs / 1000), 2)} MB/s\n`);
  }
  await page.evaluate(() => delete (window as unknown as { benchBody?: Uint8Array }).benchBody);
  const streamMB = text.length / 1e6;
  const summary = (xs: PipeRun[]) => ({
    medianMBps: round(median(xs.map((r) => r.MBps)), 2),
    lossyRuns: xs.filter((r) => !r.lossless).length,
    backendCpuMsPerMB: round(median(xs.map((r) => r.backendCpuMs)) / streamMB, 2),
    pageCpuMsPerMB: round(median(xs.map((r) => r.pageCpuMs)) / streamMB, 2),
    chromiumCpuMsPerMB: round(median(xs.map((r) => r.chromiumCpuMs)) / streamMB, 2),
  });
  const keyless = summary(runs.map((r) => r.keyless));
  // A lossy bare run is not a fast one: its throughput counts only the lossless runs.
  const bareLossless = runs.map((r) => r.bare).filter((r) => r.lossless);
  const bare = { ...summary(runs.map((r) => r.bare)), medianMBps: bareLossless.length ? round(median(bareLossless.map((r) => r.MBps)), 2) : null };
  const aloneMBs = streamMB / (median(runs.map((r) => r.aloneMs)) / 1000);
  const cpuPerMB = (k: { backendCpuMsPerMB: number; pageCpuMsPerMB: number }) => k.backendCpuMsPerMB + k.pageCpuMsPerMB;
  return {
    streamMB: round(streamMB),
    rounds: opts.rounds,
    runs,
    keyless,
    barePipe: bare,
    fullPathMBps: keyless.medianMBps,
    xtermAloneMBps: round(aloneMBs),
    ratio: round(keyless.medianMBps / aloneMBs, 3),
    vsBarePipe: {
      throughputRatio: bare.medianMBps ? round(keyless.medianMBps / bare.medianMBps, 3) : null,
      cpuPerMBRatio: round(cpuPerMB(keyless) / cpuPerMB(bare), 3),
      backendCpuPerMBRatio: round(keyless.backendCpuMsPerMB / bare.backendCpuMsPerMB, 3),
      pageCpuPerMBRatio: round(keyless.pageCpuMsPerMB / bare.pageCpuMsPerMB, 3),
    },
  };
}

/** Ctrl-C during `yes`: from the key until the prompt is back (all output before it parsed). */
async function ctrlC({ page }: Bench) {
  const samples: Array<{ ms: number; charsAfter: number }> = [];
  for (let i = 0; i < CTRL_C_RUNS; i++) {
    await type(page, 'clear; yes\r');
    await sleep(2000);
    const r = await page.evaluate(async () => {
      let chars = 0;
      let lastAt = 0;
      let tail = '';
      const t0 = performance.now();
      const done = new Promise<void>((resolve) => {
        const off = window.keylessTest.tap((s, at) => {
          chars += s.length;
          lastAt = at;
          tail = (tail + s).slice(-200);
          if (/\^C[\s\S]*[$#] $/.test(tail)) {
            off();
            resolve();
          }
        });
      });
      window.keylessTest.type('\x03');
      await done;
      return { ms: lastAt - t0, charsAfter: chars };
    });
    samples.push(r);
    await sleep(300);
  }
  return { samples, medianMs: round(median(samples.map((s) => s.ms))), maxMs: round(Math.max(...samples.map((s) => s.ms))), medianCharsAfter: median(samples.map((s) => s.charsAfter)) };
}

/** The `--interrupt` figures (see INTERRUPT). */
async function interruptUnderLoad(bench: Bench, rttHost: string, link: { ms: number }) {
  const { page, world } = bench;
  const loops = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  let cc: Awaited<ReturnType<typeof ctrlC>>;
  try {
    await page.send('Emulation.setCPUThrottlingRate', { rate: 2 });
    cc = await ctrlC(bench);
  } finally {
    await page.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    for (const l of loops) l.kill();
  }
  // cat at 100 ms round trip, the page at full speed and no busy loops: what the windows cost a far host.
  link.ms = RTT_MS / 2;
  await openTab(page, rttHost);
  const line = 'Keyless throughput 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n';
  const text = line.repeat(Math.ceil((STREAM_MB * 1e6) / line.length));
  const file = join(world.home, 'bench-rtt.txt');
  writeFileSync(file, text);
  const expectBytes = text.length + text.split('\n').length - 1;
  const runs: number[] = [];
  for (let i = 0; i < (QUICK ? 2 : 3); i++) {
    await armMarker(page, 'KL-BEGIN');
    await armMarker(page, 'KL-END', expectBytes);
    await type(page, `clear; printf 'KL-%s\\n' BEGIN; cat ${file}; printf 'KL-%s\\n' END\r`);
    await until(async () => (await markAt(page, 'KL-END')) !== undefined, 600_000, 'the end of the far stream');
    const ms = (await markAt(page, 'KL-END'))! - (await markAt(page, 'KL-BEGIN'))!;
    await page.evaluate(() => ((window as unknown as { benchMarks: object }).benchMarks = {}));
    runs.push(round(text.length / 1e6 / (ms / 1000), 2));
  }
  return {
    ctrlCThrottled2xTwoBusyLoops: cc,
    catAtRtt: { rttMs: RTT_MS, streamMB: round(text.length / 1e6), runsMBps: runs, medianMBps: median(runs) },
    flowControl: { highWatermark: HIGH_WATERMARK, inFlightMin: IN_FLIGHT_MIN, inFlightMax: IN_FLIGHT_MAX },
    targets: { ctrlCMs: 250, catAtRttVsTodaysWindow: 0.9 },
  };
}

/** Keystroke echo in an idle tab, without and with another tab flooding (the flooding one on screen). */
async function echoLatency({ page }: Bench, idlePane: string, floodPane: string) {
  const measure = () =>
    page.evaluate(
      async ([pane, n]) => {
        const out: number[] = [];
        for (let i = 0; i < n!; i++) {
          const ch = String.fromCharCode(97 + (i % 26));
          const t0 = performance.now();
          const got = new Promise<number>((resolve) => {
            const off = window.keylessTest.tap((s, at) => {
              if (s.includes(ch)) {
                off();
                resolve(at);
              }
            }, pane as string);
          });
          window.keylessTest.type(ch, pane as string);
          out.push((await got) - t0);
          await new Promise((r) => setTimeout(r, 20));
        }
        window.keylessTest.type('\x15', pane as string); // Ctrl-U: clear the line
        return out;
      },
      [idlePane, ECHO_SAMPLES] as const,
    );
  const idle = await measure();
  await type(page, 'clear; yes\r', floodPane);
  await sleep(2000);
  const flooding = await measure();
  await type(page, '\x03', floodPane);
  const f = (xs: number[]) => ({ p50: round(pct(xs, 50)), p95: round(pct(xs, 95)), max: round(Math.max(...xs)) });
  return { samples: ECHO_SAMPLES, idle: f(idle), whileAnotherTabFloods: f(flooding) };
}

/** Memory with 20 tabs (10 per host: OpenSSH allows 10 sessions on one connection), idle and all flooding. */
async function memory({ page, world }: Bench) {
  const pid = world.app.process.pid!;
  const before = { backendRss: rssOf(pid), rendererHeap: await jsHeap(page) };
  const have = (await panes(page)).length;
  for (let i = have; i < TABS; i++) await openTab(page, i % 2 ? 'bench-b' : 'bench-a', false);
  await until(async () => (await panes(page)).filter((p) => p.state === 'connected').length >= TABS, 120_000, `${TABS} connected tabs`);
  await until(async () => (await Promise.all((await panes(page)).map((p) => promptShown(page, p.pane)))).every(Boolean), 180_000, 'every prompt');
  await sleep(1000);
  const idle = { backendRss: rssOf(pid), rendererHeap: await jsHeap(page) };

  // Everyone floods at once, through broadcast input.
  await click(page, '[data-testid=broadcast]');
  await click(page, '[data-testid=broadcast-all]');
  await type(page, 'yes\r');
  let peakRss = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000) {
    await sleep(500);
    peakRss = Math.max(peakRss, rssOf(pid));
  }
  const flooding = { backendRss: rssOf(pid), backendRssPeak: peakRss, rendererHeap: await jsHeap(page) };
  await type(page, '\x03');
  await click(page, '[data-testid=broadcast-stop]');
  const stats = await Promise.all((await panes(page)).map((p) => page.evaluate((id) => window.keylessTest.stats(id), p.pane)));
  return {
    tabs: TABS,
    beforeTabs: { backendRssMB: mb(before.backendRss), rendererHeapMB: mb(before.rendererHeap) },
    idle: { backendRssMB: mb(idle.backendRss), rendererHeapMB: mb(idle.rendererHeap) },
    flooding: { backendRssMB: mb(flooding.backendRss), backendRssPeakMB: mb(flooding.backendRssPeak), rendererHeapMB: mb(flooding.rendererHeap) },
    maxUnackedAcrossTabs: Math.max(...stats.map((s) => s.maxUnacked)),
  };
}

export async function runTerminalBench(): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const viewport = { width: 1280, height: 800 };
  // KEYLESS_BENCH_NODE_PROFILE=<dir>: the harness (main) writes a V8 CPU profile there when it stops.
  const nodeProfile = process.env.KEYLESS_BENCH_NODE_PROFILE;
  const world = await startWorld({ servers: 2, viewport, ...(nodeProfile ? { env: { KEYLESS_CPU_PROF_DIR: nodeProfile } } : {}) });
  let page: RawPage | undefined;
  let bareProc: ReturnType<typeof spawn> | undefined;
  try {
    // Playwright saves the two hosts and trusts their keys; then its page goes, and everything is
    // measured in a page it does not inspect (see raw-page.ts: it would copy every WebSocket frame).
    await addHost(world.page, 'bench-a', world.sshd[0]!);
    await addHost(world.page, 'bench-b', world.sshd[1]!);
    await connect(world.page, 'bench-a');
    await connect(world.page, 'bench-b');
    const link = INTERRUPT ? await delayLink(world.sshd[1]!.port) : undefined;
    if (link) {
      await addHost(world.page, 'bench-rtt', { ...world.sshd[1]!, port: link.port });
      await connect(world.page, 'bench-rtt');
    }
    const chromium = world.page.context().browser()?.version();
    await world.page.close();
    const s0 = world.sshd[0]!;
    bareProc = spawn(process.execPath, [join(import.meta.dirname, 'support', 'bare-pipe.mjs')], {
      env: { ...process.env, KEYLESS_BENCH_SSHD_PORT: String(s0.port), KEYLESS_BENCH_SSHD_USER: s0.user, KEYLESS_BENCH_SSHD_KEY: s0.clientKey },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const proc = bareProc;
    const barePort = await new Promise<number>((resolve, reject) => {
      proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      proc.once('exit', (code) => reject(new Error(`the bare pipe exited (${code})`)));
    });
    page = await openRawPage(`${world.app.url}&testHooks=1`, viewport, { bypassCsp: true });
    const raw = page;
    await until(() => raw.evaluate(() => !!window.keylessTest && !!document.querySelector('[data-testid=host-row]')), 30_000, 'the app');
    await openTab(page, 'bench-a');
    const bench: Bench = { page, world };
    const renderer = (await panes(page))[0]!.renderer;
    if (link) {
      process.stdout.write('Ctrl-C under load, and cat at 100 ms round trip…\n');
      const got = await interruptUnderLoad(bench, 'bench-rtt', link);
      link.close();
      const out = QUICK ? 'terminal-interrupt-quick.json' : 'terminal-interrupt.json';
      const result = { date: new Date().toISOString(), machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverage1m: round(loadavg()[0]!, 2), node: process.version }, chromium, renderer, quick: QUICK, ...got };
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, out), JSON.stringify(result, null, 2) + '\n');
      const c = got.ctrlCThrottled2xTwoBusyLoops;
      process.stdout.write(
        `  Ctrl-C during yes, page throttled 2×, two busy loops: median ${c.medianMs} ms, max ${c.maxMs} ms, median ${c.medianCharsAfter} chars after the key (target < 250 ms)\n` +
          `  cat at ${RTT_MS} ms round trip: ${got.catAtRtt.medianMBps} MB/s (runs ${got.catAtRtt.runsMBps.join(', ')})\nwritten to tests/bench/results/${out}\n`,
      );
      return;
    }
    if (process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'echo') {
        await openTab(page, 'bench-b');
      const [floodPane, idlePane] = (await panes(page)).map((p) => p.pane);
      await click(page, '[data-testid=tab-title]');
      const echo = await echoLatency(bench, idlePane!, floodPane!);
      process.stdout.write(`echo only (load ${round(loadavg()[0]!, 2)}): idle p50 ${echo.idle.p50} p95 ${echo.idle.p95}; beside a flood p50 ${echo.whileAnotherTabFloods.p50} p95 ${echo.whileAnotherTabFloods.p95} max ${echo.whileAnotherTabFloods.max}\n`);
      return;
    }
    process.stdout.write('throughput…\n');
    const tp = await throughput(bench, { streamMB: STREAM_MB, rounds: ROUNDS, bare: { url: `ws://127.0.0.1:${barePort}/`, pid: proc.pid! } });
    // `npm run bench -- terminal --only throughput`: the throughput figures alone, printed, not written.
    if (process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'throughput') {
      process.stdout.write(
        `throughput only (load ${round(loadavg()[0]!, 2)}): full path ${tp.fullPathMBps} MB/s, xterm.js alone ${tp.xtermAloneMBps} MB/s, ratio ${round(tp.ratio * 100)} %\n` +
          `  runs, Keyless/bare/alone ms: ${tp.runs.map((r) => `${r.keyless.ms}/${r.bare.ms}/${r.aloneMs}`).join("  ")}\n` +
          `  vs the bare pipe: throughput ${tp.vsBarePipe.throughputRatio ?? '—'}, CPU per MB ${tp.vsBarePipe.cpuPerMBRatio} (backend ${tp.vsBarePipe.backendCpuPerMBRatio}, page ${tp.vsBarePipe.pageCpuPerMBRatio})\n`,
      );
      return;
    }
    process.stdout.write('Ctrl-C during yes…\n');
    const cc = await ctrlC(bench);
    process.stdout.write('echo latency…\n');
    await openTab(page, 'bench-b');
    const [floodPane, idlePane] = (await panes(page)).map((p) => p.pane);
    await click(page, '[data-testid=tab-title]'); // the flooding tab is the one on screen
    const echo = await echoLatency(bench, idlePane!, floodPane!);
    process.stdout.write(`memory with ${TABS} tabs…\n`);
    const mem = await memory(bench);

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage1m: round(loadavg()[0]!, 2), loadAverageAtStart: loadAtStart, node: process.version },
      chromium,
      page: 'Chromium driven over DevTools with Runtime only (no Playwright network tracking)',
      renderer,
      flowControl: { highWatermark: HIGH_WATERMARK, reserveHigh: RESERVE_HIGH, reserveLow: RESERVE_LOW },
      quick: QUICK,
      loadNote: 'taken on a machine shared with other work: see machine.loadAverage*',
      throughput: tp,
      ctrlC: cc,
      echoLatencyMs: echo,
      memory: mem,
      targets: { throughputRatio: 0.85, vsBarePipeThroughput: 0.95, vsBarePipeCpuPerMB: 1.1, ctrlCMs: 250, echoP95Ms: 50 },
      seconds: round((Date.now() - started) / 1000),
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, OUT), JSON.stringify(result, null, 2) + '\n');
    const lines = [
      '',
      `Terminal benchmark (${result.machine.cpus} CPUs, load ${result.machine.loadAverage1m}, Chromium ${result.chromium}, ${renderer} renderer)`,
      `  throughput, ${tp.streamMB} MB through sshd → ssh2 → WebSocket → xterm.js: ${tp.fullPathMBps} MB/s`,
      `  xterm.js alone, same text, same page:                      ${tp.xtermAloneMBps} MB/s`,
      `  ratio:                                                      ${round(tp.ratio * 100)} %   (reported)`,
      `  bare pipe (ssh2 → plain WebSocket → xterm.write, no flow control), alternated ${tp.rounds}×: ${tp.barePipe.medianMBps ?? 'lossy in every run'} MB/s${tp.barePipe.lossyRuns ? `, ${tp.barePipe.lossyRuns} lossy run(s)` : ''}`,
      `  Keyless / bare pipe throughput: ${tp.vsBarePipe.throughputRatio ?? '—'}   (target ≥ 0.95)`,
      `  CPU per MB, backend + page: Keyless ${round(tp.keyless.backendCpuMsPerMB + tp.keyless.pageCpuMsPerMB)} ms, bare pipe ${round(tp.barePipe.backendCpuMsPerMB + tp.barePipe.pageCpuMsPerMB)} ms, ratio ${tp.vsBarePipe.cpuPerMBRatio}   (target ≤ 1.1)`,
      `    backend ${tp.keyless.backendCpuMsPerMB} vs ${tp.barePipe.backendCpuMsPerMB} ms/MB, page ${tp.keyless.pageCpuMsPerMB} vs ${tp.barePipe.pageCpuMsPerMB} ms/MB`,
      `  Ctrl-C during yes until the prompt is back: median ${cc.medianMs} ms, max ${cc.maxMs} ms, median ${cc.medianCharsAfter} chars after the key   (target < 250 ms)`,
      `  keystroke echo, idle tab:                  p50 ${echo.idle.p50} ms, p95 ${echo.idle.p95} ms`,
      `  keystroke echo while another tab floods:   p50 ${echo.whileAnotherTabFloods.p50} ms, p95 ${echo.whileAnotherTabFloods.p95} ms   (target p95 < 50 ms)`,
      `  memory, ${mem.tabs} tabs idle:     backend RSS ${mem.idle.backendRssMB} MB, renderer JS heap ${mem.idle.rendererHeapMB} MB`,
      `  memory, ${mem.tabs} tabs flooding: backend RSS ${mem.flooding.backendRssMB} MB (peak ${mem.flooding.backendRssPeakMB} MB), renderer JS heap ${mem.flooding.rendererHeapMB} MB`,
      `  max unacknowledged output in any tab: ${mem.maxUnackedAcrossTabs} bytes (high watermark ${HIGH_WATERMARK})`,
      `written to ${join('tests', 'bench', 'results', OUT)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    try {
      bareProc?.kill();
      await page?.close();
    } finally {
      await world.stop();
    }
  }
}
