import { readdirSync, readFileSync } from 'node:fs';
import type { RawPage } from './raw-page';

/**
 * Diagnostics for `npm run bench -- terminal` (KEYLESS_BENCH_PROFILE=1, =cpu or =trace): where the
 * time of one measured pass goes, printed, never written to the results. Linux only (/proc).
 */

/** CPU time (ms) of every process, keyed by command (Chromium's by process type) and pid. */
function cpuByCommand(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      let cmd = comm;
      if (comm.startsWith('chrom')) {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        cmd = `chromium ${/--type=([\w-]+)/.exec(args)?.[1] ?? 'browser'} ${/--utility-sub-type=([\w.]+)/.exec(args)?.[1] ?? ''}`;
      }
      out.set(`${cmd}#${pid}`, ticks * 10);
    } catch {
      /* gone */
    }
  }
  return out;
}

let traceEvents: Array<Record<string, unknown>> = [];
let traceDone: (() => void) | undefined;
async function startTrace(page: RawPage): Promise<() => Promise<void>> {
  if (!traceDone) {
    page.on('Tracing.dataCollected', (p) => traceEvents.push(...(p.value as Array<Record<string, unknown>>)));
    page.on('Tracing.tracingComplete', () => traceDone?.());
    traceDone = () => {};
  }
  traceEvents = [];
  await page.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,blink,v8,toplevel,renderer.scheduler', transferMode: 'ReportEvents' });
  return async () => {
    const done = new Promise<void>((r) => (traceDone = r));
    await page.send('Tracing.end');
    await done;
    // The renderer main thread: the thread that ran most FunctionCall time.
    const byThread = new Map<string, number>();
    for (const e of traceEvents) if (e.name === 'FunctionCall' && e.dur) byThread.set(`${e.pid}/${e.tid}`, (byThread.get(`${e.pid}/${e.tid}`) ?? 0) + (e.dur as number));
    const main = [...byThread].sort((a, b) => b[1] - a[1])[0]?.[0];
    const evs = traceEvents.filter((e) => `${e.pid}/${e.tid}` === main && e.ph === 'X' && typeof e.dur === 'number');
    const total = new Map<string, { ms: number; n: number }>();
    for (const e of evs) {
      const t = total.get(e.name as string) ?? { ms: 0, n: 0 };
      t.ms += (e.dur as number) / 1000;
      t.n++;
      total.set(e.name as string, t);
    }
    const top = [...total].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40);
    const pid = main?.split('/')[0];
    const perThread = new Map<string, number>();
    const names = new Map<string, string>();
    for (const e of traceEvents) {
      if (String(e.pid) !== pid) continue;
      if (e.name === 'thread_name') names.set(String(e.tid), String((e.args as { name: string }).name));
      if (e.ph === 'X' && (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'ThreadPool_RunTask' || e.name === 'RunTask')) perThread.set(String(e.tid), (perThread.get(String(e.tid)) ?? 0) + (e.dur as number) / 1000);
    }
    {
      const mainEvs = evs.filter((e) => e.name === 'ThreadControllerImpl::RunTask').sort((a, b) => (a.ts as number) - (b.ts as number));
      const t0 = mainEvs[0]?.ts as number;
      const last = mainEvs.at(-1)!;
      const wall = ((last.ts as number) + (last.dur as number) - t0) / 1000;
      const busy = mainEvs.reduce((a, e) => a + (e.dur as number), 0) / 1000;
      const sum = (n: string) => evs.filter((e) => e.name === n).reduce((a, e) => a + (e.dur as number), 0) / 1000;
      process.stdout.write(`main thread: wall ${wall.toFixed(0)} ms, busy ${busy.toFixed(0)} ms; timers ${sum('TimerFire').toFixed(0)}, mojo ${sum('Receive mojo message').toFixed(0)}, frames ${sum('WebFrameWidgetImpl::UpdateLifecycle').toFixed(0)}+${sum('FireAnimationFrame').toFixed(0)}, ports ${sum('MessagePort::Accept').toFixed(0)}, gc ${(sum('MinorGC') + sum('MajorGC')).toFixed(0)}\n`);
    }
    process.stdout.write(`renderer threads (RunTask ms): ${[...perThread].map(([t, ms]) => `${names.get(t) ?? t}=${ms.toFixed(0)}`).join(', ')}\n`);
    process.stdout.write(`trace, main thread (inclusive ms, count):\n${top.map(([k, v]) => `  ${v.ms.toFixed(1).padStart(8)} ms ${String(v.n).padStart(6)}  ${k}`).join('\n')}\n`);
  };
}

/**
 * Starts measuring what the page and the machine do; the returned function stops and prints it.
 * `mode` 'trace': a DevTools trace of the page's main thread (time per task kind: timers,
 * WebSocket messages, frames, GC). Otherwise: the page's CPU profile (self time per function),
 * the scheduler's view of the busy threads (time run, time waiting for a CPU while runnable),
 * the machine's CPU split and each process's CPU time.
 */
export async function startProfile(page: RawPage, mode: string): Promise<() => Promise<void>> {
  if (mode === 'trace') return startTrace(page);
  // 'cpu': the /proc figures only, without the sampling profiler's own cost in the page.
  const sampling = mode !== 'cpu';
  if (sampling) {
    await page.send('Profiler.enable');
    await page.send('Profiler.setSamplingInterval', { interval: 200 });
    await page.send('Profiler.start');
  }
  const cpu0 = cpuByCommand();
  const mainThreads = () => {
    const out: Array<{ id: string; run: number; wait: number; switches: number }> = [];
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          const renderer = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer');
          if (!renderer && comm !== 'node' && comm !== 'sshd') continue;
          const [run, wait, switches] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
          out.push({ id: `${comm}#${tid}`, run: run! / 1e6, wait: wait! / 1e6, switches: switches! });
        }
      } catch {
        /* gone */
      }
    }
    return out;
  };
  const sched0 = mainThreads();
  const machine = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const m0 = machine();
  const t0 = Date.now();
  return async () => {
    const wall = Date.now() - t0;
    const cpu1 = cpuByCommand();
    if (sampling) {
      const { profile } = (await page.send('Profiler.stop')) as { profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] } };
      const self = new Map<number, number>();
      profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
      const byFn = new Map<string, number>();
      for (const n of profile.nodes) {
        const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
        byFn.set(k, (byFn.get(k) ?? 0) + (self.get(n.id) ?? 0) / 1000);
      }
      const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 30);
      {
        const parent = new Map<number, number>();
        for (const n of profile.nodes as Array<{ id: number; children?: number[] }>) for (const c of n.children ?? []) parent.set(c, n.id);
        const byId = new Map(profile.nodes.map((n) => [n.id, n]));
        const anon = new Map<string, number>();
        for (const n of profile.nodes) {
          if (n.callFrame.functionName || n.callFrame.url || n.callFrame.lineNumber !== 0) continue;
          const chain: string[] = [];
          for (let p = parent.get(n.id); p !== undefined && chain.length < 8; p = parent.get(p)) {
            const f = byId.get(p)!.callFrame;
            chain.push(`${f.functionName || '?'}@${f.url.split('/').pop()}:${f.lineNumber}`);
          }
          const k = chain.join(' < ');
          anon.set(k, (anon.get(k) ?? 0) + (self.get(n.id) ?? 0) / 1000);
        }
        process.stdout.write(`anonymous natives by caller: ${[...anon].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${v.toFixed(1)} ms ${k}`).join(' | ')}\n`);
      }
      process.stdout.write(`page profile (wall ${wall} ms):\n${top.map(([k, v]) => `  ${v.toFixed(1).padStart(8)} ms  ${k}`).join('\n')}\n`);
    }
    process.stdout.write(`pass: wall ${wall} ms\n`);
    const sched1 = mainThreads();
    const m1 = machine().map((v, i) => (v - m0[i]!) * 10);
    process.stdout.write(`  machine: user ${m1[0]} nice ${m1[1]} system ${m1[2]} idle ${m1[3]} iowait ${m1[4]} irq ${m1[5]} softirq ${m1[6]} steal ${m1[7]} (ms over ${wall} ms × 2 CPUs)\n`);
    for (const t of sched1) {
      const b = sched0.find((x) => x.id === t.id);
      if (!b || t.run - b.run < 20) continue;
      process.stdout.write(`  sched ${t.id}: ran ${(t.run - b.run).toFixed(0)} ms, waited runnable ${(t.wait - b.wait).toFixed(0)} ms, ${t.switches - b.switches} switches\n`);
    }
    const used = [...cpu1].map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    process.stdout.write(`process CPU during the run:\n${used.map(([k, v]) => `  ${String(v).padStart(6)} ms  ${k}`).join('\n')}\n`);
  };
}

