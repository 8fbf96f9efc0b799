/**
 * `npm run bench -- startup` (--quick: one run instead of five): the browser harness started with
 * 1,000 saved hosts (20 groups) and a cached inventory of 10,000 instances. Chromium is already
 * open (as a browser is when one runs `npm run web`); the clock starts when the harness process is
 * spawned. Figures: until the harness serves (its URL printed), until the host tree is painted
 * (the first host row in the DOM, timed in the first task after that frame's rendering), until
 * the first keystroke is accepted (a key sent over DevTools as soon as the tree is seen painted,
 * timed in the page's keydown listener), and at rest (5 s later) the backend's RSS and the page's
 * JS heap after a garbage collection. Each run also gives its phases, in ms from process start:
 * backend serving, page navigated, page received, bundle run, DOMContentLoaded, hosts received,
 * App mounted, first host row in the DOM, painted (the page's `keyless:*` performance marks).
 * Writes tests/bench/results/startup(-quick).json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostsFileV2Schema } from '../../electron/main/store/hosts-file';
import { startWebApp } from '../e2e/support/harness';
import { openRawPage } from './support/raw-page';
import { syntheticSnapshot } from './support/synthetic-inventory';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 5;
const HOSTS = 1000;
const GROUPS = 20;
const REST_MS = 5000;
const OUT = join(process.cwd(), 'tests', 'bench', 'results', QUICK ? 'startup-quick.json' : 'startup.json');

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMB = (pid: number) => round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

/** The data folder: hosts.json (checked against its schema) and the inventory cache. */
function dataFolder(dir: string): string {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const snapshot = syntheticSnapshot();
  const groups = Array.from({ length: GROUPS }, (_, g) => ({ id: `g${g}`, name: `group-${g}`, parentId: null, settings: {}, notes: '' }));
  const hosts = Array.from({ length: HOSTS }, (_, n) => {
    const inst = snapshot.instances[n]!;
    return n % 4
      ? { kind: 'ec2', id: `h${n}`, name: `host-${n}`, groupId: `g${n % GROUPS}`, instanceId: inst.id, profile: inst.profile, region: inst.region, port: 22, portForwards: [], tags: [], notes: '', favourite: false }
      : { kind: 'ssh', id: `h${n}`, name: `ssh-${n}`, groupId: `g${n % GROUPS}`, host: `10.1.${n >> 8}.${n & 255}`, port: 22, user: 'admin', auth: { type: 'agent' }, tags: [], notes: '', favourite: false };
  });
  const file = hostsFileV2Schema.parse({ version: 2, groups, hosts, recents: [], smartGroups: [] });
  writeFileSync(join(data, 'hosts.json'), JSON.stringify(file));
  writeFileSync(join(data, 'inventory.json'), JSON.stringify({ format: 'keyless-inventory', version: 1, snapshot, last: { profiles: ['account-0'] } }));
  return data;
}

// Runs in the page before its own scripts: when the first host row is in the DOM, the first task
// after that frame's rendering records the time; the first keydown records its time. Epoch ms.
const OBSERVER = `(() => {
  const w = window;
  w.__startup = {};
  const seen = () => {
    if (w.__startup.rowAt || !document.querySelector('[data-testid=host-row]')) return false;
    w.__startup.rowAt = Date.now();
    requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = () => (w.__startup.paintedAt = Date.now()); c.port2.postMessage(0); });
    return true;
  };
  new MutationObserver((_, obs) => { if (seen()) obs.disconnect(); }).observe(document, { childList: true, subtree: true });
  addEventListener('keydown', () => { w.__startup.keyAt ??= Date.now(); }, { capture: true });
})();`;

/** The AWS SDK packages the backend loads at their first use (electron/main/aws/sdk.ts), not at start: what each would add, alone in a fresh Node (RSS after a GC, ms to load). */
const SDK_PACKAGES = ['@aws-sdk/client-ec2', '@aws-sdk/client-ec2-instance-connect', '@aws-sdk/client-sts', '@aws-sdk/client-sso', '@aws-sdk/client-sso-oidc', '@aws-sdk/credential-providers'];
function sdkShare(): Record<string, { rssMB: number; loadMs: number }> {
  const one = (pkgs: string[]) =>
    JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '-e', `const r0 = process.memoryUsage().rss; const t0 = performance.now(); for (const p of ${JSON.stringify(pkgs)}) require(p); const ms = performance.now() - t0; gc(); process.stdout.write(JSON.stringify({ rssMB: Math.round((process.memoryUsage().rss - r0) / 1048576), loadMs: Math.round(ms) }))`], { encoding: 'utf8' }),
    ) as { rssMB: number; loadMs: number };
  const out: Record<string, { rssMB: number; loadMs: number }> = {};
  for (const p of SDK_PACKAGES) out[p] = one([p]);
  out.all = one(SDK_PACKAGES);
  return out;
}

export async function benchStartup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-startup-'));
  const page = await openRawPage('about:blank', { width: 1280, height: 800 });
  const loadAtStart = loadavg().map((x) => round(x, 2));
  try {
    const data = dataFolder(dir);
    await page.send('Page.enable');
    await page.send('Page.addScriptToEvaluateOnNewDocument', { source: OBSERVER });
    const runs: Array<{ servingMs: number; hostTreePaintedMs: number; firstKeystrokeMs: number; hostRowsInDom: number; phases: Record<string, number | null>; backendRssMB: number; pageHeapMB: number }> = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = Date.now();
      const app = await startWebApp({ KEYLESS_HOME: data, HOME: dir, SSH_AUTH_SOCK: '' });
      try {
        const servingMs = Date.now() - t0;
        await page.send('Page.navigate', { url: app.url });
        let s: { paintedAt?: number; rowAt?: number; keyAt?: number } = {};
        const deadline = Date.now() + 120_000;
        while (!s.paintedAt) {
          if (Date.now() > deadline) throw new Error('the host tree was not painted within 120 s');
          await sleep(10);
          s = await page.evaluate(() => (window as unknown as { __startup?: typeof s }).__startup ?? {});
        }
        // The first keystroke: `/` (the host search's shortcut), as a real key event.
        await page.send('Input.dispatchKeyEvent', { type: 'keyDown', key: '/', code: 'Slash', text: '/', windowsVirtualKeyCode: 191 });
        await page.send('Input.dispatchKeyEvent', { type: 'keyUp', key: '/', code: 'Slash', windowsVirtualKeyCode: 191 });
        while (!s.keyAt) {
          if (Date.now() > deadline) throw new Error('the first keystroke was not accepted within 120 s');
          await sleep(10);
          s = await page.evaluate(() => (window as unknown as { __startup?: typeof s }).__startup ?? {});
        }
        const rows = await page.evaluate(() => document.querySelectorAll('[data-testid=host-row]').length);
        // Where the time went, each phase from process start (epoch ms in the page, as t0 is).
        const at = await page.evaluate(() => {
          const epoch = (ms: number | undefined) => (ms === undefined ? undefined : performance.timeOrigin + ms);
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
          const mark = (name: string) => epoch(performance.getEntriesByName(name)[0]?.startTime);
          return {
            navigated: epoch(0),
            pageReceived: epoch(nav?.responseEnd),
            bundleRun: mark('keyless:bundle-run'),
            domContentLoaded: epoch(nav?.domContentLoadedEventEnd),
            hostsReceived: mark('keyless:hosts-received'),
            mounted: mark('keyless:mount'),
          };
        });
        const phase = (x: number | undefined) => (x === undefined ? null : Math.round(x - t0));
        const phases = {
          backendServingMs: servingMs,
          pageNavigatedMs: phase(at.navigated),
          pageReceivedMs: phase(at.pageReceived),
          bundleRunMs: phase(at.bundleRun),
          domContentLoadedMs: phase(at.domContentLoaded),
          hostsReceivedMs: phase(at.hostsReceived),
          mountedMs: phase(at.mounted),
          hostRowInDomMs: phase(s.rowAt),
          hostTreePaintedMs: s.paintedAt! - t0,
        };
        await sleep(REST_MS);
        await page.send('HeapProfiler.collectGarbage');
        const { usedSize } = (await page.send('Runtime.getHeapUsage')) as { usedSize: number };
        const run = {
          servingMs,
          hostTreePaintedMs: s.paintedAt! - t0,
          firstKeystrokeMs: s.keyAt! - t0,
          hostRowsInDom: rows,
          phases,
          backendRssMB: rssMB(app.process.pid!),
          pageHeapMB: round(usedSize / 1024 / 1024),
        };
        runs.push(run);
        process.stdout.write(`  run ${r + 1}: serving ${run.servingMs} ms, host tree painted ${run.hostTreePaintedMs} ms, first keystroke ${run.firstKeystrokeMs} ms; at rest backend RSS ${run.backendRssMB} MB, page heap ${run.pageHeapMB} MB\n    phases (ms from process start): ${Object.entries(phases).map(([k, v]) => `${k.replace(/Ms$/, '')} ${v}`).join(', ')}\n`);
      } finally {
        await page.send('Page.navigate', { url: 'about:blank' });
        await app.stop();
      }
    }
    const m = (k: Exclude<keyof (typeof runs)[number], 'phases'>) => median(runs.map((x) => x[k]));
    const phaseMedians = Object.fromEntries(Object.keys(runs[0]!.phases).map((k) => [k, median(runs.map((x) => x.phases[k] ?? NaN))]));
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((x) => round(x, 2)), node: process.version },
      quick: QUICK,
      loadNote: 'taken on a machine shared with other work: see machine.loadAverage*',
      what: `browser harness, ${HOSTS} saved hosts in ${GROUPS} groups, cached inventory of ${syntheticSnapshot().instances.length} instances; Chromium already open`,
      runs,
      median: { servingMs: m('servingMs'), hostTreePaintedMs: m('hostTreePaintedMs'), firstKeystrokeMs: m('firstKeystrokeMs'), backendRssMB: m('backendRssMB'), pageHeapMB: m('pageHeapMB'), phases: phaseMedians },
      targets: { hostTreePaintedMs: 800, backendRssMB: 120 },
      // What loading the AWS SDK lazily could save: its packages alone in a fresh Node (shared parts counted once in `all`).
      awsSdkAtStartup: sdkShare(),
    };
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(
      `Start-up (${result.machine.cpus} CPUs, load ${loadAtStart.join(' ')}), median of ${RUNS}:\n` +
        `  host tree painted ${result.median.hostTreePaintedMs} ms (target < 800 ms), first keystroke accepted ${result.median.firstKeystrokeMs} ms, serving ${result.median.servingMs} ms\n` +
        `  at rest: backend RSS ${result.median.backendRssMB} MB (target < 120 MB), page JS heap ${result.median.pageHeapMB} MB\n` +
        `  the AWS SDK packages (loaded at first use, not at start), alone: ${result.awsSdkAtStartup.all!.rssMB} MB RSS, ${result.awsSdkAtStartup.all!.loadMs} ms to load\n` +
        `written to ${OUT}\n`,
    );
  } finally {
    await page.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
