/**
 * `npm run bench -- inventory`: a full inventory refresh of 10 profiles × 17 regions, 10,000
 * instances in all, the simulator adding 50 ms to every call, against (a) the same calls made one
 * after another and (b) the slowest single region's calls alone (the floor; target ≤ 1.3×). Then,
 * in Chromium through the browser harness, the time per filter keystroke over 10,000 rows and
 * the frame times while scrolling. Prints the figures and writes tests/bench/results/inventory.json.
 *
 * Each profile is its own simulated account (its own simulator), so the 10,000 instances are
 * spread over accounts as in a real fleet rather than seen ten times.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../electron/main/base/log';
import { FleetInventory } from '../../electron/main/inventory/fleet-inventory';
import { InventoryCache } from '../../electron/main/inventory/inventory-cache';
import { ProfileCredentials } from '../../electron/main/profiles/profile-credentials';
import type { InventorySnapshot } from '../../electron/contract';
import { startSimulator, type InstanceSpec, type Simulator, type VpcSpec } from '../sim/index';

const REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1',
  'eu-north-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1', 'sa-east-1',
];
const PROFILES = 10;
const TOTAL = 10_000;
/** The heaviest scope: three pages of DescribeInstances at MaxResults 1000. */
const HEAVY = 2_500;
const LATENCY_MS = 50;
const RESULTS = fileURLToPath(new URL('./results/inventory.json', import.meta.url));

function fleetFor(account: number, count: number, heavy: number) {
  const vpcs: VpcSpec[] = REGIONS.map((r, k) => ({
    id: `vpc-0${(account * 100 + k).toString(16).padStart(16, '0')}`,
    region: r,
    cidr: '10.0.0.0/16',
    subnets: [{ id: `subnet-0${(account * 100 + k).toString(16).padStart(16, '0')}`, availabilityZone: `${r}a`, cidr: '10.0.0.0/18' }],
  }));
  const instances: InstanceSpec[] = [];
  for (let n = 0; n < count; n++) {
    const k = n < heavy ? 0 : 1 + ((n - heavy) % (REGIONS.length - 1));
    instances.push({
      region: REGIONS[k]!,
      subnetId: vpcs[k]!.subnets[0]!.id,
      ...(n % 3 ? {} : { publicIp: `54.${account}.${(n >> 8) & 255}.${n & 255}` }),
      tags: { Name: `a${account}-node-${n}`, env: ['prod', 'staging', 'dev'][n % 3]!, team: `team-${n % 7}` },
    });
  }
  return { vpcs, instances, endpoints: [{ region: REGIONS[0]!, subnetId: vpcs[0]!.subnets[0]!.id, state: 'create-complete' as const }] };
}

const step = (msg: string) => process.stderr.write(`  … ${msg}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** `npm run bench -- inventory --browser-only`: the Chromium half again, over a synthetic 10,000-instance snapshot. */
export async function benchInventoryBrowserOnly(): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-inv-'));
  try {
    const instances = Array.from({ length: TOTAL }, (_, n) => ({
      profile: `account-${n % PROFILES}`, account: String(100000000000 + (n % PROFILES)), region: REGIONS[n % REGIONS.length]!, id: `i-0${n.toString(16).padStart(16, '0')}`,
      name: `a${n % PROFILES}-node-${n}`, state: n % 11 ? 'running' : 'stopped', type: 't3.micro', az: `${REGIONS[n % REGIONS.length]!}a`, vpcId: 'vpc-01', subnetId: 'subnet-01',
      privateIp: `10.0.${(n >> 8) & 255}.${n & 255}`, publicIp: n % 3 ? '' : `54.1.${(n >> 8) & 255}.${n & 255}`, imageId: 'ami-01', imageName: 'al2023-ami', platform: 'Linux/UNIX',
      defaultUser: 'ec2-user', reach: n % 3 ? ('endpoint' as const) : ('public' as const), endpointId: null, launchedAt: null,
      tags: { Name: `a${n % PROFILES}-node-${n}`, env: ['prod', 'staging', 'dev'][n % 3]!, team: `team-${n % 7}` },
    }));
    const browser = await benchBrowser({ fetchedAt: Date.now(), scopes: [], instances, endpoints: [], vpcs: [], subnets: [] }, dir);
    let previous: Record<string, unknown> = {};
    try {
      previous = JSON.parse(await readFile(RESULTS, 'utf8')) as Record<string, unknown>;
    } catch {
      /* first run */
    }
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(RESULTS, JSON.stringify({ ...previous, browserWhen: new Date().toISOString(), browser }, null, 2) + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchInventory(opts: { browser?: boolean } = {}): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-bench-inv-'));
  const sims: Simulator[] = [];
  const saved = { HOME: process.env.HOME, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE: process.env.AWS_SHARED_CREDENTIALS_FILE };
  try {
    // Accounts: the first holds the heavy region; the rest share the remaining instances.
    const rest = TOTAL - HEAVY - 200;
    for (let a = 0; a < PROFILES; a++) {
      const count = a === 0 ? HEAVY + 200 : Math.floor(rest / (PROFILES - 1)) + (a <= rest % (PROFILES - 1) ? 1 : 0);
      sims.push(await startSimulator({ noSshd: true, regions: REGIONS, fleet: fleetFor(a, count, a === 0 ? HEAVY : 0) }));
    }
    const config: string[] = [];
    const credentials: string[] = [];
    const profiles = sims.map((s, a) => {
      const p = s.principals[0]!;
      const name = `account-${a}`;
      config.push(`[profile ${name}]`, 'region = us-east-1', `endpoint_url = ${s.endpoint}`, '');
      credentials.push(`[${name}]`, `aws_access_key_id = ${p.accessKeyId}`, `aws_secret_access_key = ${p.secretAccessKey}`, '');
      return name;
    });
    await mkdir(join(dir, 'home', '.aws'), { recursive: true });
    process.env.HOME = join(dir, 'home');
    process.env.AWS_CONFIG_FILE = join(dir, 'home', '.aws', 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'home', '.aws', 'credentials');
    await writeFile(process.env.AWS_CONFIG_FILE, config.join('\n'));
    await writeFile(process.env.AWS_SHARED_CREDENTIALS_FILE, credentials.join('\n'));

    step('simulators up');
    const credentialsSource = new ProfileCredentials();
    const make = (max?: number) => new FleetInventory({ credentials: credentialsSource, cache: new InventoryCache(join(dir, `cache-${max ?? 'x'}-${Math.random()}.json`)), log: silentLogger, maxConcurrentCalls: max });
    const signal = new AbortController().signal;
    const all = { profiles, regions: REGIONS };

    // Warm: credentials loaded, SDK modules compiled, sockets open — as in a running app.
    await make().refresh(all, { signal });
    step('warm-up refresh done');
    for (const s of sims) s.admin.setLatency('*', LATENCY_MS);

    const floorRuns: number[] = [];
    for (let k = 0; k < 3; k++) floorRuns.push((await timed(() => make().refresh({ profiles: [profiles[0]!], regions: [REGIONS[0]!] }, { signal }))).ms);
    const floor = Math.min(...floorRuns);
    step(`floor runs ${floorRuns.map(Math.round).join(', ')} ms`);

    const fullRuns: Array<{ ms: number; value: InventorySnapshot }> = [];
    for (let k = 0; k < 3; k++) fullRuns.push(await timed(() => make().refresh(all, { signal })));
    const best = fullRuns.reduce((a, b) => (a.ms <= b.ms ? a : b));
    const snap = best.value;
    const calls = snap.scopes.reduce((n, s) => n + s.calls, 0);
    const failed = snap.scopes.filter((s) => s.status !== 'ok').length;

    step(`full runs ${fullRuns.map((r) => Math.round(r.ms)).join(', ')} ms; now the same calls one after another`);
    const sequential = await timed(() => make(1).refresh(all, { signal }));

    const main = {
      profiles: PROFILES,
      regions: REGIONS.length,
      scopes: snap.scopes.length,
      failedScopes: failed,
      instances: snap.instances.length,
      calls,
      latencyPerCallMs: LATENCY_MS,
      fullRefreshMs: Math.round(best.ms),
      fullRefreshRunsMs: fullRuns.map((r) => Math.round(r.ms)),
      sequentialMs: Math.round(sequential.ms),
      floorMs: Math.round(floor),
      floorRunsMs: floorRuns.map(Math.round),
      ratioToFloor: +(best.ms / floor).toFixed(2),
      speedupOverSequential: +(sequential.ms / best.ms).toFixed(1),
      targetRatio: 1.3,
    };
    process.stdout.write(
      `inventory refresh: ${main.instances} instances, ${main.scopes} profile×region scopes, ${calls} calls at ${LATENCY_MS} ms\n` +
        `  full refresh     ${main.fullRefreshMs} ms  (runs ${main.fullRefreshRunsMs.join(', ')})\n` +
        `  one after another ${main.sequentialMs} ms  (${main.speedupOverSequential}× slower)\n` +
        `  floor (slowest region alone) ${main.floorMs} ms → full refresh is ${main.ratioToFloor}× the floor (target ≤ 1.3×)\n`,
    );

    const result: Record<string, unknown> = { when: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, main, browser: 'skipped' };
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
    if (opts.browser !== false) {
      result.browser = await benchBrowser(snap, dir);
      await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n');
    }
    process.stdout.write(`written to ${RESULTS}\n`);
    return result;
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  }
}


// Page code as plain JavaScript text: the TypeScript loader would add helpers the page lacks.
/** Types into the filter one keystroke at a time: time until the DOM shows the result, and until the next frame. */
const KEYSTROKES_IN_PAGE = `async function (text) {
  const input = document.querySelector('[data-testid=inventory-filter]');
  const count = document.querySelector('[data-testid=inventory-count]');
  const macrotask = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const queries = [];
  for (let k = 1; k <= text.length; k++) queries.push(text.slice(0, k));
  queries.push('env:prod', 'env:prod team:team-3', 'state:running 54.');
  const out = [];
  for (const query of queries) {
    await frame();
    const t0 = performance.now();
    input.value = query;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await macrotask();
    const t1 = performance.now();
    await frame();
    out.push({ query, updateMs: t1 - t0, frameMs: performance.now() - t0, shown: count.textContent || '' });
  }
  input.value = '';
  input.dispatchEvent(new Event('input', { bubbles: true }));
  return out;
}`;

/** Scrolls five rows a frame for 240 frames, recording the interval between frames; then jumps to the end. */
const SCROLL_IN_PAGE = `async function () {
  const vp = document.querySelector('[data-testid=inventory-table]');
  const deltas = [];
  let last = performance.now();
  for (let k = 0; k < 240; k++) {
    vp.scrollTop += 140;
    await new Promise((r) => requestAnimationFrame(() => r()));
    const now = performance.now();
    deltas.push(now - last);
    last = now;
  }
  vp.scrollTop = vp.scrollHeight;
  const t0 = performance.now();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
  return { deltas, jumpMs: performance.now() - t0, rowsInDom: document.querySelectorAll('[data-testid=inventory-row]').length };
}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0).toFixed(2);
};

/** The filter and the scroll over the same 10,000 rows, in Chromium through the browser harness. */
async function benchBrowser(snapshot: InventorySnapshot, dir: string): Promise<Record<string, unknown> | string> {
  const { chromiumMissing, launchChromium } = await import('../e2e/support/browser');
  const { startWebApp } = await import('../e2e/support/harness');
  if (chromiumMissing) return `skipped: ${chromiumMissing}`;
  const data = join(dir, 'keyless');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'inventory.json'), JSON.stringify({ format: 'keyless-inventory', version: 1, snapshot, last: { profiles: ['account-0'] } }));
  const app = await startWebApp({ KEYLESS_HOME: data, HOME: join(dir, 'home') });
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
    await page.getByTestId('view-inventory').click();
    await page.getByTestId('inventory-count').filter({ hasText: `${snapshot.instances.length}` }).waitFor();
    await page.getByTestId('inventory-row').first().waitFor();
    const rowsInDom = await page.getByTestId('inventory-row').count();

    const typed = 'a3-node-12';
    const keystrokes = await page.evaluate<Array<{ query: string; updateMs: number; frameMs: number; shown: string }>>(`(${KEYSTROKES_IN_PAGE})(${JSON.stringify(typed)})`);
    await page.waitForTimeout(200);
    const scroll = await page.evaluate<{ deltas: number[]; jumpMs: number; rowsInDom: number }>(`(${SCROLL_IN_PAGE})()`);
    const update = keystrokes.map((k) => k.updateMs);
    const result = {
      rows: snapshot.instances.length,
      rowsInDom,
      keystroke: { p50Ms: pct(update, 50), p95Ms: pct(update, 95), maxMs: pct(update, 100), frameP50Ms: pct(keystrokes.map((k) => k.frameMs), 50), targetMs: 16 },
      keystrokes: keystrokes.map((k) => ({ query: k.query, updateMs: +k.updateMs.toFixed(2), shown: k.shown })),
      scrollFrames: { frames: scroll.deltas.length, p50Ms: pct(scroll.deltas, 50), p95Ms: pct(scroll.deltas, 95), maxMs: pct(scroll.deltas, 100), rowsInDomWhileScrolling: scroll.rowsInDom, jumpToEndMs: +scroll.jumpMs.toFixed(1) },
    };
    process.stdout.write(
      `Chromium, ${result.rows} rows (${rowsInDom} in the DOM):\n` +
        `  filter keystroke → DOM updated: p50 ${result.keystroke.p50Ms} ms, p95 ${result.keystroke.p95Ms} ms, max ${result.keystroke.maxMs} ms (target < 16 ms)\n` +
        `  scrolling, frame interval: p50 ${result.scrollFrames.p50Ms} ms, p95 ${result.scrollFrames.p95Ms} ms, max ${result.scrollFrames.maxMs} ms over ${result.scrollFrames.frames} frames\n`,
    );
    return result;
  } finally {
    await chromium.close();
    await app.stop();
  }
}
