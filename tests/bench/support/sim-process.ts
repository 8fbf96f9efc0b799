import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { startSimulator } from '../../sim/index';

const CHILD = fileURLToPath(new URL('./sim-child.ts', import.meta.url));

export interface SimulatorProcess {
  /** The simulator's own port (API calls made without the link) and the delay link's. */
  port: number;
  linkPort: number;
  configFile: string;
  credentialsFile: string;
  endpoints: Array<{ id: string; dnsName: string }>;
  /** Tunnel peaks per endpoint since the start, and the simulator process's CPU seconds so far. */
  stats(): Promise<{ peaks: Record<string, number>; cpuS: number }>;
  /** The process's id (its sshds are its children). */
  pid: number;
  /** The tunnel's added latency each way from now on (API calls keep theirs). */
  setLinkLatency(ms: number): Promise<void>;
  /** An instance's sshd's recent log. */
  sshdLog(instanceId: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the simulator (see sim-child.ts) in its own Node process, with `latencyMs` on every API call and each tunnel direction. */
export async function simulatorProcess(dir: string, spec: { options: Parameters<typeof startSimulator>[0]; latencyMs: number; region: string }): Promise<SimulatorProcess> {
  const specFile = join(dir, 'sim-spec.json');
  await writeFile(specFile, JSON.stringify({ ...spec, awsDir: join(dir, 'aws') }));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, specFile], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the simulator process ended');
    return JSON.parse(value as string) as T;
  };
  const ready = await next<Omit<SimulatorProcess, 'stats' | 'stop' | 'pid' | 'setLinkLatency' | 'sshdLog'>>();
  const ask = <T>(line: string): Promise<T> => {
    child.stdin!.write(`${line}\n`);
    return next<T>();
  };
  return {
    ...ready,
    pid: child.pid!,
    stats: () => ask('stats'),
    setLinkLatency: async (ms) => void (await ask(`link ${ms}`)),
    sshdLog: async (instanceId) => (await ask<{ log: string }>(`sshd-log ${instanceId}`)).log,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end('stop\n');
      await exited;
    },
  };
}
