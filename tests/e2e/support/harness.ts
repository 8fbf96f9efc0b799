import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../../out/main/harness.js', import.meta.url));

export interface RunningHarness {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `npm run web` as a user runs it: the built harness in its own process, with the env given. */
export async function startWebApp(env: NodeJS.ProcessEnv): Promise<RunningHarness> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` before the end-to-end tests.`);
  // KEYLESS_CPU_PROF_DIR: a V8 CPU profile of the harness is written there when it exits (benchmarks).
  const profile = env.KEYLESS_CPU_PROF_DIR ? [`--cpu-prof`, `--cpu-prof-dir=${env.KEYLESS_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ENTRY], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the harness printed no URL:\n${out}`)), 15_000);
    const check = () => {
      const m = /running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`the harness exited (${code}):\n${out}`)));
  });
  return {
    url,
    process: child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
