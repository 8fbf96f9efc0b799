import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks a second in /proc's stat files (USER_HZ, 100 on Linux). */
export const TICKS = 100;

/**
 * utime + stime (and, with `reaped`, what reaped children used) in ticks, from a /proc stat file
 * (`/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`); undefined once it is gone.
 */
export function statTicks(path: string, reaped = false): number | undefined {
  try {
    const s = readFileSync(path, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds this process's V8 worker threads have used: the garbage collector's concurrent
 * marking and sweeping (and background compiling), which run beside the main thread and on a
 * pinned process take the same core. Linux only; 0 elsewhere.
 */
export function v8WorkerSeconds(): number {
  let ticks = 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'V8Worker') ticks += statTicks(`/proc/self/task/${tid}/stat`) ?? 0;
    } catch {
      /* gone */
    }
  }
  return ticks / TICKS;
}
