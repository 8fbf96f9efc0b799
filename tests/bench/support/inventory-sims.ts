/**
 * The inventory benchmark's simulators in their own process: they are the service, not the
 * client, so their XML building must not share the client's thread (a user's Keyless does not
 * build AWS's responses either). Started by `startSimulatorHost()` with `fork`; it talks over IPC:
 * it sends `{ ready, sims }` once every simulator listens, then answers `{ id, op }` requests
 * (`setLatency`, `cpu`, `stop`) with `{ id, ok, value? }`. It stops its simulators when the parent
 * goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator } from '../../sim/index';
import { PROFILES, REGIONS, countFor, fleetFor, HEAVY } from './inventory-fleet';

export interface HostedSim {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

type Request = { id: number; op: 'setLatency' | 'cpu' | 'stop'; ms?: number };
interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface SimulatorHost {
  sims: HostedSim[];
  setLatency(ms: number): Promise<void>;
  /** The host process's CPU time so far (user + system, ms). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/** Forks this file and waits until its ten simulators listen. */
export async function startSimulatorHost(): Promise<SimulatorHost> {
  // KEYLESS_SIM_CPU_PROF=<dir>: a V8 CPU profile of the simulators' process is written there when it exits.
  const prof = process.env.KEYLESS_SIM_CPU_PROF;
  const execArgv = ['--import', 'tsx', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--host'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  const sims = await new Promise<HostedSim[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the simulator process exited (${code}) before it was ready`)));
    child.on('message', (m: { ready?: HostedSim[] } & Partial<Reply>) => {
      if (m.ready) return resolve(m.ready);
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'simulator host failed'));
    });
  });
  child.removeAllListeners('exit');
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('the simulator process exited'));
    pending.clear();
  });
  const ask = (req: Omit<Request, 'id'>) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  return {
    sims,
    setLatency: async (ms) => void (await ask({ op: 'setLatency', ms })),
    cpuMs: async () => (await ask({ op: 'cpu' })) as number,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      await ask({ op: 'stop' }).catch(() => {});
      await exited;
    },
  };
}

async function host(): Promise<void> {
  const sims: Simulator[] = [];
  let stopping: Promise<unknown> | undefined;
  const stopAll = () => (stopping ??= Promise.all(sims.map((s) => s.stop())));
  process.on('disconnect', () => void stopAll().finally(() => process.exit(0)));
  for (let a = 0; a < PROFILES; a++) {
    sims.push(await startSimulator({ noSshd: true, regions: REGIONS, fleet: fleetFor(a, countFor(a), a === 0 ? HEAVY : 0) }));
  }
  process.on('message', (m: Request) => {
    const reply = (r: Omit<Reply, 'id'>) => process.send?.({ ...r, id: m.id });
    try {
      if (m.op === 'setLatency') {
        for (const s of sims) s.admin.setLatency('*', m.ms ?? 0);
        reply({ ok: true });
      } else if (m.op === 'cpu') {
        const u = process.cpuUsage();
        reply({ ok: true, value: (u.user + u.system) / 1000 });
      } else if (m.op === 'stop') {
        void stopAll().then(() => {
          reply({ ok: true });
          process.disconnect?.();
          process.exit(0);
        });
      }
    } catch (err) {
      reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  process.send?.({ ready: sims.map((s) => ({ endpoint: s.endpoint, accessKeyId: s.principals[0]!.accessKeyId, secretAccessKey: s.principals[0]!.secretAccessKey })) });
}

if (process.argv.includes('--host') && process.send) void host();
