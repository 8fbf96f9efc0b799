/**
 * The Keyless side of `npm run bench -- files`, in a process of its own (pinned to its own core by
 * the benchmark): the whole backend, called through the contract as the renderer calls it, moving
 * the files the benchmark names over an EICE tunnel. Prints one JSON line per operation: wall
 * time, this process's CPU time (and how much of it V8's worker threads used), and its RSS growth
 * over the operation (sampled every 50 ms).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import type { TransferInfo } from '../../../electron/contract';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { createBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { Backend } from '../../../renderer/lib/backend/backend';
import { connectInMemory } from '../../support/memory-transport';
import { v8WorkerSeconds } from './proc-stat';

interface Job {
  target: { region: string; instanceId: string; connectionType: 'eice' };
  remoteDir: string;
  ops: Array<{ name: string; kind: 'upload' | 'download'; local: string; remote?: string }>;
}

const job = JSON.parse(process.env.KEYLESS_BENCH_FILES_JOB!) as Job;
const home = await mkdtemp(join(tmpdir(), 'keyless-bench-files-home-'));
const downloads = join(home, 'downloads');
await mkdir(downloads);
let picks: string[] = [];
const main = await createBackend({
  home,
  transport: 'web',
  version: 'bench',
  systemLocale: 'en',
  log: silentLogger,
  userKnownHosts: [],
  awsCredentials: new SdkCredentialSource(),
  downloadsFolder: downloads,
  chooseFiles: async () => picks,
});
const { bridge } = connectInMemory(new ContractServer(main.handlers, silentLogger));
const backend = new Backend(bridge);
backend.on('prompt', (p) => {
  if (p.kind === 'hostKeyUnknown') void backend.invoke('prompt.answer', { promptId: p.promptId, value: true });
});
const waiting = new Map<string, (t: TransferInfo) => void>();
backend.on('files.transfer', (t) => {
  if (['done', 'failed', 'cancelled', 'skipped'].includes(t.state)) waiting.get(t.transferId)?.(t);
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

// Connected once first, as a Files view would be: the runs measure transfers, not the connect.
const { browserId } = await backend.invoke('files.open', { requestId: 'open', target: job.target });
await backend.invoke('files.mkdir', { browserId, dir: b64(job.remoteDir.replace(/\/[^/]+$/, '')), name: job.remoteDir.split('/').pop()! }).catch(() => undefined);

// Time in garbage collection (main-thread pauses), a large part of what moving bytes costs.
let gcMs = 0;
const gcKinds: Record<string, { n: number; ms: number }> = {};
const KIND: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    const k = KIND[((e as unknown as { detail?: { kind: number } }).detail?.kind ?? 0)] ?? 'other';
    gcKinds[k] ??= { n: 0, ms: 0 };
    gcKinds[k].n++;
    gcKinds[k].ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

for (const op of job.ops) {
  const gc0 = gcMs;
  for (const k of Object.keys(gcKinds)) delete gcKinds[k];
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50);
  const cpu0 = process.cpuUsage();
  const workers0 = v8WorkerSeconds();
  const t0 = performance.now();
  let transferId: string;
  if (op.kind === 'upload') {
    picks = [op.local];
    const { picks: picked } = await backend.invoke('files.pick', { folders: false });
    transferId = (await backend.invoke('files.upload', { target: job.target, dir: b64(job.remoteDir), picks: picked!.map((p) => p.pick), conflict: 'replace' })).transferId;
  } else {
    transferId = (await backend.invoke('files.download', { target: job.target, paths: [b64(op.remote!)], conflict: 'replace' })).transferId;
  }
  const t = await new Promise<TransferInfo>((resolve) => waiting.set(transferId, resolve));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const workers = v8WorkerSeconds() - workers0;
  clearInterval(sampler);
  process.stdout.write(
    JSON.stringify({ name: op.name, state: t.state, error: t.error?.code, bytes: t.bytes, files: t.files, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, gcSeconds: (gcMs - gc0) / 1000, v8WorkerSeconds: workers, gcKinds, rssGrowthMB: (rssMax - rss0) / 1024 / 1024 }) + '\n',
  );
  await rm(join(downloads, op.local.split('/').pop()!), { recursive: true, force: true });
}
await main.close();
await rm(home, { recursive: true, force: true });
process.exit(0);
