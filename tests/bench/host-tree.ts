/**
 * `npm run bench -- host-tree` (`--quick` for a short proof run): 1,000 saved hosts (20 groups of
 * 40 plus 200 EC2 hosts at the top, every group open) in the sidebar's tree, in Chromium through
 * the browser harness at 1280×800; the tree is scrolled a step per frame, down and back up, and
 * every frame's work (start to rendered) and interval are recorded. Target: at least 95 % of
 * frames under 16.7 ms of work (and the share of frames on time, not dropped, beside it). Prints the
 * figures and writes tests/bench/results/host-tree.json, with the load average (the machine is
 * shared: figures taken under load read slow).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/host-tree.json', import.meta.url));
const FRAME_MS = 1000 / 60;

/** The hosts file: ids as the store makes them (letters and digits), names people use. */
function hostsFile(total: number): unknown {
  const groups = Array.from({ length: 20 }, (_, g) => ({ id: `g${g}`, name: `team-${g} eu-west-1`, parentId: null, settings: { osUser: 'admin' }, notes: '' }));
  const hosts = Array.from({ length: total }, (_, n) =>
    n < 800
      ? { kind: 'ssh', id: `h${n}`, name: `web-${String(n).padStart(4, '0')}`, groupId: `g${n % 20}`, tags: [], notes: '', favourite: n % 97 === 0, host: `10.0.${n >> 8}.${n & 255}`, port: n % 5 ? 22 : 2222, auth: { type: 'agent' } }
      : { kind: 'ec2', id: `h${n}`, name: `app-${n}`, groupId: null, tags: [], notes: '', favourite: false, instanceId: `i-0${n.toString(16).padStart(16, '0')}`, region: 'eu-west-1', port: 22, portForwards: [] },
  );
  return { version: 2, groups, hosts, recents: [], smartGroups: [] };
}

/**
 * One scroll step per frame. For each frame: its interval from the previous one, and its work —
 * from the frame's start (the requestAnimationFrame timestamp) to the first task after its
 * rendering (a message posted in the rAF callback runs once style, layout and paint are done).
 * Intervals are quantised to the display's 16.7 ms, so "under 16.7 ms" of an interval splits
 * on-time frames by jitter; the work is what a frame costs, and a dropped frame is an interval
 * over 1.5 periods.
 */
const SCROLL_IN_PAGE = `async function (frames, scroll) {
  const tree = document.querySelector('[data-testid=host-tree]').parentElement;
  const deltas = [];
  const work = [];
  let dir = 1;
  // Two frames to settle, then one scroll step per frame, turning at either end.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  let last = performance.now();
  for (let k = 0; k < frames; k++) {
    if (tree.scrollTop + tree.clientHeight >= tree.scrollHeight - 1) dir = -1;
    else if (tree.scrollTop <= 0) dir = 1;
    if (scroll) tree.scrollTop += dir * 90;
    const start = await new Promise((r) => requestAnimationFrame((ts) => r(ts)));
    const now = performance.now();
    deltas.push(now - last);
    last = now;
    await new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
    work.push(performance.now() - start);
  }
  return { deltas, work, rows: document.querySelectorAll('[data-testid=host-row]').length, height: tree.scrollHeight };
}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0).toFixed(2);
};

export async function benchHostTree(opts: { quick: boolean }): Promise<void> {
  const { chromiumMissing, launchChromium } = await import('../e2e/support/browser');
  const { startWebApp } = await import('../e2e/support/harness');
  if (chromiumMissing) {
    process.stdout.write(`host-tree: skipped, ${chromiumMissing}\n`);
    return;
  }
  const total = 1000;
  const frames = opts.quick ? 120 : 600;
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-tree-'));
  const data = join(dir, 'keyless');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'hosts.json'), JSON.stringify(hostsFile(total)));
  const app = await startWebApp({ KEYLESS_HOME: data, HOME: join(dir, 'home'), SSH_AUTH_SOCK: '' });
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.url);
    const t0 = Date.now();
    // The tree is windowed: every host is one of its rows (data-rows counts them, group headers too), a few are in the DOM.
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=host-tree]')?.getAttribute('data-rows')) >= n && !!document.querySelector('[data-testid=host-row]'), total, { timeout: 60_000 });
    const firstShowMs = Date.now() - t0;
    const loadBefore = loadavg();
    // The same frame loop without scrolling first: the floor this machine gives any page right now.
    type Frames = { deltas: number[]; work: number[]; rows: number; height: number };
    const idle = await page.evaluate<Frames>(`(${SCROLL_IN_PAGE})(${frames}, false)`);
    const run = await page.evaluate<Frames>(`(${SCROLL_IN_PAGE})(${frames}, true)`);
    const share = (xs: number[], ok: (x: number) => boolean) => +((xs.filter(ok).length / xs.length) * 100).toFixed(1);
    const under = share(run.work, (w) => w < FRAME_MS);
    const result = {
      when: new Date().toISOString(),
      node: process.version,
      quick: opts.quick,
      hosts: total,
      rowsInDom: run.rows,
      scrollHeightPx: run.height,
      frames: run.deltas.length,
      /** Frames whose work (start to rendered) took under 16.7 ms: the target's figure. */
      framesUnder16_7ms: under,
      targetPercent: 95,
      met: under >= 95,
      workP50Ms: pct(run.work, 50),
      workP95Ms: pct(run.work, 95),
      workMaxMs: pct(run.work, 100),
      /** Frames on time (interval under 1.5 display periods): the rest were dropped. */
      framesOnTime: share(run.deltas, (d) => d < 1.5 * FRAME_MS),
      intervalP50Ms: pct(run.deltas, 50),
      intervalP95Ms: pct(run.deltas, 95),
      intervalMaxMs: pct(run.deltas, 100),
      /** The old figure: intervals under 16.7 ms (split by vsync jitter; kept for comparison). */
      intervalsUnder16_7ms: share(run.deltas, (d) => d < FRAME_MS),
      treeShownMs: firstShowMs,
      idleFramesUnder16_7ms: share(idle.work, (w) => w < FRAME_MS),
      idleWorkP50Ms: pct(idle.work, 50),
      idleFramesOnTime: share(idle.deltas, (d) => d < 1.5 * FRAME_MS),
      cores: cpus().length,
      loadavgBefore: loadBefore.map((x) => +x.toFixed(2)),
      loadavgAfter: loadavg().map((x) => +x.toFixed(2)),
    };
    process.stdout.write(
      `host tree, ${total} hosts (${run.rows} rows in the DOM), scrolling ${result.frames} frames: ` +
        `${result.framesUnder16_7ms} % of frames' work under 16.7 ms (target 95 %: ${result.met ? 'met' : 'not met'}), work p50 ${result.workP50Ms} ms, p95 ${result.workP95Ms} ms, max ${result.workMaxMs} ms; ` +
        `${result.framesOnTime} % of frames on time (interval p50 ${result.intervalP50Ms} ms, p95 ${result.intervalP95Ms} ms); ` +
        `the same frames without scrolling: ${result.idleFramesUnder16_7ms} % under 16.7 ms, work p50 ${result.idleWorkP50Ms} ms, ${result.idleFramesOnTime} % on time; ` +
        `load average ${result.loadavgBefore.join(' ')} on ${result.cores} cores\n`,
    );
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await chromium.close();
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
