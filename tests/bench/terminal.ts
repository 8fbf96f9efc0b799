import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { HIGH_WATERMARK, RESERVE_HIGH, RESERVE_LOW } from '../../electron/main/ssh/terminal-channel';
import { addHost, connect, hook, startWorld, until, type TerminalWorld } from '../e2e/terminal-support';

const RESULTS = join(process.cwd(), 'tests', 'bench', 'results');
const STREAM_MB = 30;
const CTRL_C_RUNS = 5;
const ECHO_SAMPLES = 60;
const TABS = 20;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function jsHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize;
}

/** Resolves with the page time at which `needle` has been parsed by the focused pane's xterm.js. */
function armMarker(page: Page, needle: string, pane?: string): Promise<void> {
  return page.evaluate(
    ([n, p]) => {
      const w = window as unknown as { benchMarks: Record<string, number> };
      w.benchMarks ??= {};
      let tail = '';
      const off = window.keylessTest.tap((s, at) => {
        const hay = tail + s;
        tail = hay.slice(-n!.length);
        if (hay.includes(n!)) {
          w.benchMarks[n!] = at;
          off();
        }
      }, p);
    },
    [needle, pane],
  );
}
const markAt = (page: Page, needle: string) => page.evaluate((n) => (window as unknown as { benchMarks: Record<string, number> }).benchMarks?.[n], needle);

/** Throughput: sshd → ssh2 → harness WebSocket → xterm.js, against xterm.js alone fed the same text. */
async function throughput(world: TerminalWorld) {
  const { page } = world;
  const line = 'Keyless throughput 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n';
  const text = line.repeat(Math.ceil((STREAM_MB * 1e6) / line.length));
  const file = join(world.home, 'bench-stream.txt');
  writeFileSync(file, text);
  const runs: Array<{ fullMs: number; aloneMs: number }> = [];
  for (let i = 0; i < 3; i++) {
    await page.evaluate(() => window.keylessTest.capture());
    await armMarker(page, 'KL-BEGIN');
    await armMarker(page, 'KL-END');
    await page.keyboard.type(`clear; printf 'KL-%s\\n' BEGIN; cat ${file}; printf 'KL-%s\\n' END\n`);
    await until(async () => (await markAt(page, 'KL-END')) !== undefined, 180_000, 'the end of the stream');
    const fullMs = (await markAt(page, 'KL-END'))! - (await markAt(page, 'KL-BEGIN'))!;
    await page.evaluate(() => ((window as unknown as { benchMarks: object }).benchMarks = {}));
    // The very characters the full path delivered (CR LF from the PTY included), in the same page.
    const aloneMs = await page.evaluate(() => {
      const all = window.keylessTest.capturedText();
      const body = all.slice(all.indexOf('KL-BEGIN'), all.lastIndexOf('KL-END'));
      window.keylessTest.capture(); // drop the copy
      return window.keylessTest.xtermAlone(body, 32 * 1024);
    });
    runs.push({ fullMs, aloneMs });
  }
  const best = runs.reduce((a, b) => (b.fullMs < a.fullMs ? b : a));
  const fullMBs = text.length / 1e6 / (median(runs.map((r) => r.fullMs)) / 1000);
  const aloneMBs = text.length / 1e6 / (median(runs.map((r) => r.aloneMs)) / 1000);
  return {
    streamMB: round(text.length / 1e6),
    runs,
    fullPathMBps: round(fullMBs),
    xtermAloneMBps: round(aloneMBs),
    ratio: round(fullMBs / aloneMBs, 3),
    bestRun: best,
  };
}

/** Ctrl-C during `yes`: from the key until the prompt is back (all output before it parsed). */
async function ctrlC(world: TerminalWorld) {
  const { page } = world;
  const samples: Array<{ ms: number; charsAfter: number }> = [];
  for (let i = 0; i < CTRL_C_RUNS; i++) {
    await page.keyboard.type('clear; yes\n');
    await page.waitForTimeout(2000);
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
    await page.waitForTimeout(300);
  }
  return { samples, medianMs: round(median(samples.map((s) => s.ms))), maxMs: round(Math.max(...samples.map((s) => s.ms))), medianCharsAfter: median(samples.map((s) => s.charsAfter)) };
}

/** Keystroke echo in an idle tab, without and with another tab flooding (the flooding one on screen). */
async function echoLatency(world: TerminalWorld, idlePane: string, floodPane: string) {
  const { page } = world;
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
  await page.evaluate((p) => window.keylessTest.type('clear; yes\r', p), floodPane);
  await page.waitForTimeout(2000);
  const flooding = await measure();
  await page.evaluate((p) => window.keylessTest.type('\x03', p), floodPane);
  const f = (xs: number[]) => ({ p50: round(pct(xs, 50)), p95: round(pct(xs, 95)), max: round(Math.max(...xs)) });
  return { samples: ECHO_SAMPLES, idle: f(idle), whileAnotherTabFloods: f(flooding) };
}

/** Memory with 20 tabs (10 per host: OpenSSH allows 10 sessions on one connection), idle and all flooding. */
async function memory(world: TerminalWorld) {
  const { page } = world;
  const pid = world.app.process.pid!;
  const before = { backendRss: rssOf(pid), rendererHeap: await jsHeap(page) };
  const have = (await hook.panes(page)).length;
  for (let i = have; i < TABS; i++) {
    await page.getByTestId('host-row').filter({ hasText: i % 2 ? 'bench-b' : 'bench-a' }).getByTestId('connect').click();
  }
  await until(async () => (await hook.panes(page)).filter((p) => p.state === 'connected').length >= TABS, 120_000, `${TABS} connected tabs`);
  await until(async () => {
    const panes = await hook.panes(page);
    const texts = await Promise.all(panes.map((p) => hook.text(page, p.pane)));
    return texts.every((t) => /[$#] ?$/.test(t));
  }, 180_000, 'every prompt');
  await page.waitForTimeout(1000);
  const idle = { backendRss: rssOf(pid), rendererHeap: await jsHeap(page) };

  // Everyone floods at once, through broadcast input.
  await page.getByTestId('broadcast').click();
  await page.getByTestId('broadcast-all').click();
  await page.locator('[data-testid=terminal-pane][data-active=true]:visible .xterm-screen').click();
  await page.keyboard.type('yes\n');
  let peakRss = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000) {
    await page.waitForTimeout(500);
    peakRss = Math.max(peakRss, rssOf(pid));
  }
  const flooding = { backendRss: rssOf(pid), backendRssPeak: peakRss, rendererHeap: await jsHeap(page) };
  await page.keyboard.press('Control+C');
  await page.keyboard.press('Control+Shift+B');
  const stats = await Promise.all((await hook.panes(page)).map((p) => hook.stats(page, p.pane)));
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
  const world = await startWorld({ servers: 2, viewport: { width: 1280, height: 800 } });
  try {
    const { page } = world;
    await addHost(page, 'bench-a', world.sshd[0]!);
    await addHost(page, 'bench-b', world.sshd[1]!);
    await connect(page, 'bench-a');
    const renderer = (await hook.panes(page))[0]!.renderer;
    process.stdout.write('throughput…\n');
    const tp = await throughput(world);
    // `npm run bench -- terminal --only throughput`: the throughput figures alone, printed, not written.
    if (process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'throughput') {
      process.stdout.write(
        `throughput only (load ${round(loadavg()[0]!, 2)}): full path ${tp.fullPathMBps} MB/s, xterm.js alone ${tp.xtermAloneMBps} MB/s, ratio ${round(tp.ratio * 100)} %\n` +
          `  runs, full/alone ms: ${tp.runs.map((r) => `${round(r.fullMs, 0)}/${round(r.aloneMs, 0)}`).join('  ')}\n`,
      );
      return;
    }
    process.stdout.write('Ctrl-C during yes…\n');
    const cc = await ctrlC(world);
    process.stdout.write('echo latency…\n');
    await connect(page, 'bench-b');
    const [floodPane, idlePane] = (await hook.panes(page)).map((p) => p.pane);
    await page.getByTestId('tab-title').first().click(); // the flooding tab is the one on screen
    const echo = await echoLatency(world, idlePane!, floodPane!);
    process.stdout.write(`memory with ${TABS} tabs…\n`);
    const mem = await memory(world);

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage1m: round(loadavg()[0]!, 2), node: process.version },
      chromium: world.page.context().browser()?.version(),
      renderer,
      flowControl: { highWatermark: HIGH_WATERMARK, reserveHigh: RESERVE_HIGH, reserveLow: RESERVE_LOW },
      throughput: tp,
      ctrlC: cc,
      echoLatencyMs: echo,
      memory: mem,
      targets: { throughputRatio: 0.85, ctrlCMs: 250, echoP95Ms: 50 },
      seconds: round((Date.now() - started) / 1000),
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'terminal.json'), JSON.stringify(result, null, 2) + '\n');
    const lines = [
      '',
      `Terminal benchmark (${result.machine.cpus} CPUs, load ${result.machine.loadAverage1m}, Chromium ${result.chromium}, ${renderer} renderer)`,
      `  throughput, ${tp.streamMB} MB through sshd → ssh2 → WebSocket → xterm.js: ${tp.fullPathMBps} MB/s`,
      `  xterm.js alone, same text, same page:                      ${tp.xtermAloneMBps} MB/s`,
      `  ratio:                                                      ${round(tp.ratio * 100)} %   (target ≥ 85 %)`,
      `  Ctrl-C during yes until the prompt is back: median ${cc.medianMs} ms, max ${cc.maxMs} ms, median ${cc.medianCharsAfter} chars after the key   (target < 250 ms)`,
      `  keystroke echo, idle tab:                  p50 ${echo.idle.p50} ms, p95 ${echo.idle.p95} ms`,
      `  keystroke echo while another tab floods:   p50 ${echo.whileAnotherTabFloods.p50} ms, p95 ${echo.whileAnotherTabFloods.p95} ms   (target p95 < 50 ms)`,
      `  memory, ${mem.tabs} tabs idle:     backend RSS ${mem.idle.backendRssMB} MB, renderer JS heap ${mem.idle.rendererHeapMB} MB`,
      `  memory, ${mem.tabs} tabs flooding: backend RSS ${mem.flooding.backendRssMB} MB (peak ${mem.flooding.backendRssPeakMB} MB), renderer JS heap ${mem.flooding.rendererHeapMB} MB`,
      `  max unacknowledged output in any tab: ${mem.maxUnackedAcrossTabs} chars (high watermark ${HIGH_WATERMARK})`,
      `written to ${join('tests', 'bench', 'results', 'terminal.json')}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await world.stop();
  }
}
