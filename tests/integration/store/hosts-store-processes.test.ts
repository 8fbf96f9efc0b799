import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHostsFile } from '../../../electron/main/store/hosts-file';

let work: string;
let saver: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'keyless-store-proc-'));
  // One bundle, so that each of the many child processes starts in tens of milliseconds.
  saver = join(work, 'saver.mjs');
  await build({
    entryPoints: [join(__dirname, 'support', 'saver.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: saver,
    logLevel: 'silent',
    // The bundled CommonJS packages expect these.
    banner: {
      js: "import { createRequire } from 'node:module'; import { fileURLToPath } from 'node:url'; const require = createRequire(import.meta.url); const __filename = fileURLToPath(import.meta.url);",
    },
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function start(args: string[]) {
  const child = spawn(process.execPath, [saver, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the hosts store across processes', () => {
  it('a process killed with SIGKILL at random moments 100 times always leaves a whole file holding its last acknowledged save', async () => {
    const home = join(work, 'crash');
    let lastAck = 0;
    for (let round = 0; round < 100; round++) {
      const p = start(['counter', home]);
      // Let it acknowledge at least one save, then kill it somewhere in the middle of the next ones.
      const deadline = Date.now() + 10_000;
      while (!/^\d+$/m.test(p.out()) && Date.now() < deadline && p.child.exitCode === null) await sleep(2);
      expect(p.err()).toBe('');
      await sleep(Math.random() * 25);
      p.child.kill('SIGKILL');
      await p.exited;
      const acks = p.out().match(/^\d+$/gm)!.map(Number);
      expect(acks[0]).toBe(lastAck + 1); // it carried on from what the file held
      lastAck = acks.at(-1)!;

      const doc = decodeHostsFile(JSON.parse(readFileSync(join(home, 'hosts.json'), 'utf8')));
      const saved = Number(doc.hosts.find((h) => h.id === 'counter')!.name.slice(2));
      // The last acknowledged save, or the one after it if that reached the disk before the kill.
      expect([lastAck, lastAck + 1]).toContain(saved);
      lastAck = saved;
      // The killed process may have held the lock: a later Keyless takes it over once it is stale
      // (tested below); here the test knows the holder is dead, so it clears it to stay fast.
      rmSync(join(home, 'hosts.json.lock'), { recursive: true, force: true });
    }
    // The backups are whole too.
    expect(() => decodeHostsFile(JSON.parse(readFileSync(join(home, 'hosts.json.bak.1'), 'utf8')))).not.toThrow();
  }, 180_000);

  it('two processes adding hosts at the same time both keep every one of their saves', async () => {
    const home = join(work, 'two');
    const a = start(['add', home, 'a', '40']);
    const b = start(['add', home, 'b', '40']);
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(a.err() + b.err()).toBe('');
    const doc = decodeHostsFile(JSON.parse(readFileSync(join(home, 'hosts.json'), 'utf8')));
    const names = new Set(doc.hosts.map((h) => h.name));
    for (let i = 0; i < 40; i++) {
      expect(names).toContain(`a-${i}`);
      expect(names).toContain(`b-${i}`);
    }
    expect(doc.hosts).toHaveLength(80);
  });

  it('a lock left behind by a killed process is taken over once it is stale', async () => {
    const home = join(work, 'stale');
    const p = start(['counter', home]);
    while (!/^\d+$/m.test(p.out())) await sleep(2);
    p.child.kill('SIGKILL');
    await p.exited;
    // Whether or not it died holding the lock, the next process saves (within proper-lockfile's stale time).
    const next = start(['add', home, 'c', '1']);
    expect(await next.exited).toBe(0);
    expect(next.out()).toContain('done');
  }, 30_000);
});
