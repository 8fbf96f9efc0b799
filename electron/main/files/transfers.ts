import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { ConflictChoice, KeylessError, TransferInfo, TransferState } from '../../contract';
import { KeylessFailure, toKeylessError } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import { OPEN, SftpError, STATUS, type SftpAttrs, type SftpSession } from '../ssh/sftp';
import { localFailure } from './file-errors';
import { localDisplay, localWriter, openLocalForRead, walkLocal } from './local-files';
import { baseName, displayName, isLocalName, isPlainName, keepBothName, temporaryName } from './names';
import { Progress, pump, Slots, type RangeReader, type RangeWriter } from './pump';
import { ensureRemoteDir, failureAt, lstatOrNone, remoteChild, type RemoteSide } from './remote-side';
import { walkRemote } from './remote-walk';
import { sudoUpload } from './sudo-upload';
import { hasGnuTar, tarStream } from './tar-download';

/** Transfers that run at once; the others wait their turn. */
export const TRANSFERS_AT_ONCE = 3;
/** Files of one folder moved at once: many small files are as many round trips, hidden by overlapping them. */
const FILES_AT_ONCE = 16;
/**
 * Requests one transfer keeps in flight, all its files together: with 255 KiB requests this is
 * 8 MiB, four times the SSH channel's 2 MiB window (what bounds one file's throughput over a long
 * round trip), and the most a transfer holds in memory whatever the sizes.
 */
const REQUESTS_IN_FLIGHT = 32;
/** Requests one file keeps in flight: 16 × 255 KiB fills the 2 MiB window twice over. */
const REQUESTS_PER_FILE = 16;
/**
 * Requests one file of a download keeps in flight. Each worker writes its piece to disk before it
 * asks for the next, so at 16 sftp-server ran out of requests and waited: a 1 GiB download with no
 * added latency went at 0.67–0.81× OpenSSH's sftp; at 24, 0.99–1.07×; at 32, 1.03–1.27×, but the
 * backend's RSS grew 64–68 MB over it (60 at 24, 57 at 16; the target is under 64) (`npm run bench
 * -- files --only big --ms 0`). Memory is still bounded by REQUESTS_IN_FLIGHT.
 */
const DOWNLOAD_REQUESTS_PER_FILE = 24;
/**
 * An upload at least this big is written over two SFTP channels of the connection, each half of
 * the file on its own: sshd gives each channel a 2 MiB window, which is all one channel can have
 * in flight, so over a long round trip one channel (and OpenSSH's sftp) is held to 2 MiB a round
 * trip (~17.5 MB/s at 100 ms). Where the server refuses a second channel (MaxSessions), one does it.
 */
const SPLIT_UPLOAD_MIN = 64 * 1024 * 1024;
/** How often progress is sent for a running transfer. */
const PROGRESS_EVERY_MS = 200;
/** The rate is taken over this long. */
const RATE_WINDOW_MS = 5000;
const MAX_PROBLEMS = 200;
/** A download of at least this many files, of at most this size on average, goes as a tar stream where the host has GNU tar. */
const TAR_MIN_FILES = 32;
const TAR_MAX_AVERAGE = 256 * 1024;

export type TransferSource =
  | { kind: 'local'; roots: Array<{ path: Buffer; name: Buffer }> }
  | { kind: 'remote'; side: RemoteSide; paths: Buffer[] }
  | { kind: 'stream'; files: Array<{ name: string; size: number; executable: boolean }>; pull: (file: number, offset: number, length: number, signal: AbortSignal) => Promise<Buffer> };
export type TransferTarget = { kind: 'local'; dir: Buffer } | { kind: 'remote'; side: RemoteSide; dir: Buffer; sudo: boolean };

interface FileJob {
  index: number;
  /** Where it comes from: a local path, a remote path, or the renderer's file number. */
  from: Buffer | number;
  parts: Buffer[];
  size: number;
  mode: number;
  mtime: number;
}
interface Plan {
  files: FileJob[];
  dirs: Buffer[][];
}

type Decision = { kind: 'new' | 'replace' | 'overwrite'; name: Buffer; existingMode?: number } | { kind: 'skip' };

export interface QueueEvents {
  transfer(info: TransferInfo): void;
  queue(summary: { bytes: number; total: number; rate: number; etaS: number | null; active: number; queued: number }): void;
}

/** A transfer: a file, a folder, or several of them, in one direction. */
export class Transfer {
  state: TransferState = 'queued';
  bytes = 0;
  total = -1;
  files = 0;
  fileCount = 0;
  current: string | undefined;
  resumes = 0;
  error: KeylessError | undefined;
  problems: Array<{ display: string; error: KeylessError }> = [];
  conflict: TransferInfo['conflict'];
  via: TransferInfo['via'];
  savedTo: string | undefined;
  /** Files left as they were by an answer (skip). */
  skipped = 0;
  plan: Plan | undefined;
  /** Files moved (or skipped by an answer): a retry does not move them again. */
  readonly completed = new Set<number>();
  abort: AbortController | undefined;
  answer: ((choice: ConflictChoice, all: boolean) => void) | undefined;
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(
    readonly id: string,
    readonly kind: TransferInfo['kind'],
    readonly label: string,
    readonly items: number,
    readonly source: TransferSource,
    readonly target: TransferTarget,
    public policy: 'ask' | ConflictChoice,
  ) {
    this.via = target.kind === 'remote' && target.sudo ? 'sudo' : 'sftp';
  }

  get host(): string {
    return this.source.kind === 'remote' ? this.source.side.label : this.target.kind === 'remote' ? this.target.side.label : '';
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled' || this.state === 'skipped';
  }

  get rate(): number {
    const now = performance.now();
    this.samples = this.samples.filter((s) => now - s.at <= RATE_WINDOW_MS);
    if (this.samples.length < 2) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const ms = last.at - first.at;
    return ms > 0 ? Math.round(((last.bytes - first.bytes) * 1000) / ms) : 0;
  }

  sample(): void {
    this.samples.push({ at: performance.now(), bytes: this.bytes });
  }

  info(): TransferInfo {
    const rate = this.state === 'running' ? this.rate : 0;
    const left = this.total >= 0 ? this.total - this.bytes : -1;
    return {
      transferId: this.id,
      kind: this.kind,
      label: this.label,
      items: this.items,
      host: this.host,
      ...(this.kind === 'copy' && this.target.kind === 'remote' ? { toHost: this.target.side.label } : {}),
      state: this.state,
      bytes: this.bytes,
      total: this.total,
      files: this.files,
      fileCount: this.fileCount,
      rate,
      etaS: rate > 0 && left >= 0 ? Math.ceil(left / rate) : null,
      ...(this.current !== undefined ? { current: this.current } : {}),
      via: this.via,
      resumes: this.resumes,
      ...(this.savedTo ? { savedTo: this.savedTo } : {}),
      ...(this.error ? { error: this.error } : {}),
      problems: this.problems,
      ...(this.conflict ? { conflict: this.conflict } : {}),
    };
  }
}

const cancelled = () => new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);

/** The connection-level failures a new connection can fix (the transfer then goes on where it stopped). */
function needsReconnect(err: unknown): boolean {
  if (err instanceof SftpError) return err.status === STATUS.CONNECTION_LOST || err.status === STATUS.NO_CONNECTION;
  return err instanceof KeylessFailure && err.retryable && err.code !== 'Cancelled';
}

/**
 * A renderer's transfers, run a few at a time. Each runs on SFTP sessions of its own on the pool's
 * connections (the terminals' own, when open), so transfers go on while the person types. A file
 * is written under a temporary name made with O_EXCL in its folder and renamed over the target
 * once whole (`posix-rename@openssh.com` on a host): a cancelled or failed transfer leaves
 * nothing under the final name. A dropped connection is made again by the pool, and the file goes
 * on from the last byte written.
 */
export class TransferQueue implements Disposable {
  private readonly transfers = new Map<string, Transfer>();
  private nextId = 1;
  private disposed = false;
  private timer: NodeJS.Timeout | undefined;
  private dirty = new Set<Transfer>();
  /** An answer given with "apply to all": the rest of the queue asks nothing more. */
  private answerForAll: ConflictChoice | undefined;

  constructor(
    private readonly events: QueueEvents,
    private readonly log: Logger,
  ) {}

  add(kind: TransferInfo['kind'], label: string, items: number, source: TransferSource, target: TransferTarget, policy: 'ask' | ConflictChoice): Transfer {
    const t = new Transfer(`x${this.nextId++}`, kind, label, items, source, target, policy);
    this.transfers.set(t.id, t);
    this.changed(t, true);
    this.schedule();
    return t;
  }

  get(id: string): Transfer {
    const t = this.transfers.get(id);
    if (!t) throw new KeylessFailure('NotFound', 'That transfer is not in the queue.', false, { transferId: id });
    return t;
  }

  list(): TransferInfo[] {
    return [...this.transfers.values()].map((t) => t.info());
  }

  cancel(id: string): void {
    const t = this.get(id);
    if (t.finished) return;
    if (t.state === 'queued') {
      t.state = 'cancelled';
      this.changed(t, true);
      return;
    }
    t.abort?.abort();
  }

  retry(id: string): void {
    const t = this.get(id);
    if (t.state !== 'failed' && t.state !== 'cancelled') return;
    t.state = 'queued';
    t.error = undefined;
    t.problems = [];
    this.changed(t, true);
    this.schedule();
  }

  answerConflict(id: string, choice: ConflictChoice, all: boolean): void {
    const t = this.get(id);
    if (!t.answer) throw new KeylessFailure('NotFound', 'That transfer is not waiting for an answer.', false, { transferId: id });
    if (all) this.answerForAll = choice;
    t.answer(choice, all);
  }

  clear(): void {
    for (const t of [...this.transfers.values()]) if (t.finished) this.transfers.delete(t.id);
    this.summary();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const t of this.transfers.values()) {
      t.abort?.abort();
      this.release(t, true);
    }
  }

  /** Its connections go back to the pool (they linger, then close when nothing else holds them). */
  private release(t: Transfer, forGood = false): void {
    for (const side of [t.source.kind === 'remote' ? t.source.side : undefined, t.target.kind === 'remote' ? t.target.side : undefined]) {
      if (forGood) side?.dispose();
      else side?.idle();
    }
  }

  private schedule(): void {
    if (this.disposed) return;
    const running = [...this.transfers.values()].filter((t) => t.state === 'running' || t.state === 'waiting' || t.state === 'reconnecting').length;
    let free = TRANSFERS_AT_ONCE - running;
    for (const t of this.transfers.values()) {
      if (free <= 0) break;
      if (t.state !== 'queued') continue;
      free--;
      void this.run(t);
    }
  }

  /** Progress goes out a few times a second; a change of state at once. */
  private changed(t: Transfer, now = false): void {
    if (now) {
      this.dirty.delete(t);
      if (!this.disposed) this.events.transfer(t.info());
      this.summary();
      return;
    }
    this.dirty.add(t);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const d of this.dirty) if (!this.disposed) this.events.transfer(d.info());
      this.dirty.clear();
      this.summary();
    }, PROGRESS_EVERY_MS);
  }

  private summary(): void {
    if (this.disposed) return;
    const open = [...this.transfers.values()].filter((t) => !t.finished);
    const bytes = open.reduce((n, t) => n + t.bytes, 0);
    const total = open.reduce((n, t) => n + Math.max(0, t.total), 0);
    const rate = open.reduce((n, t) => n + (t.state === 'running' ? t.rate : 0), 0);
    this.events.queue({
      bytes,
      total,
      rate,
      etaS: rate > 0 ? Math.ceil((total - bytes) / rate) : null,
      active: open.filter((t) => t.state !== 'queued').length,
      queued: open.filter((t) => t.state === 'queued').length,
    });
  }

  private async run(t: Transfer): Promise<void> {
    const abort = new AbortController();
    t.abort = abort;
    t.state = 'running';
    t.via = t.target.kind === 'remote' && t.target.sudo ? 'sudo' : 'sftp';
    t.bytes = 0;
    t.files = 0;
    t.skipped = 0;
    t.sample();
    this.changed(t, true);
    const signal = abort.signal;
    try {
      const plan = (t.plan ??= await this.withReconnect(t, signal, () => this.makePlan(t, signal)));
      t.fileCount = plan.files.length;
      t.total = plan.files.reduce((n, f) => n + f.size, 0);
      for (const f of plan.files) {
        if (!t.completed.has(f.index)) continue;
        t.bytes += f.size;
        t.files++;
      }
      this.changed(t, true);
      await this.withReconnect(t, signal, () => this.makeDirs(t, plan, signal));
      const slots = new Slots(REQUESTS_IN_FLIGHT);
      if (await this.tarFits(t, plan, signal)) {
        try {
          await this.viaTar(t, plan, signal);
        } catch (err) {
          if (signal.aborted) throw cancelled();
          // What the stream did not bring, SFTP does (and names each file's own trouble).
          this.log.info('tar stream ended early; SFTP moves the rest', { transfer: t.id, code: err instanceof KeylessFailure ? err.code : 'error' });
          t.via = 'sftp';
        }
      }
      const todo = plan.files.filter((f) => !t.completed.has(f.index));
      let next = 0;
      let failure: unknown;
      const worker = async () => {
        while (failure === undefined && next < todo.length) {
          const job = todo[next++]!;
          try {
            await this.moveFile(t, job, slots, signal);
            t.completed.add(job.index);
            t.files++;
            this.changed(t);
          } catch (err) {
            if (signal.aborted || needsReconnect(err) || (err instanceof KeylessFailure && err.code === 'Cancelled')) {
              failure ??= err;
              return;
            }
            // One file's trouble is that file's: reported with its name, the rest goes on. A
            // single file's is the transfer's.
            if (plan.files.length === 1) {
              failure ??= err;
              return;
            }
            this.problem(t, err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(FILES_AT_ONCE, todo.length) }, worker));
      if (failure !== undefined) throw failure;
      t.current = undefined;
      t.state = plan.files.length > 0 && t.skipped === plan.files.length ? 'skipped' : 'done';
      if (plan.files.length === 0 && t.problems.length && !plan.dirs.length) {
        t.state = 'failed';
        t.error = t.problems[0]!.error;
      }
    } catch (err) {
      t.current = undefined;
      if (signal.aborted) {
        t.state = 'cancelled';
      } else {
        t.state = 'failed';
        t.error = toKeylessError(err);
        this.log.info('transfer failed', { transfer: t.id, code: t.error.code });
      }
    } finally {
      t.abort = undefined;
      t.conflict = undefined;
      t.answer = undefined;
      this.release(t);
      this.changed(t, true);
      this.schedule();
    }
  }

  private problem(t: Transfer, err: unknown): void {
    const error = toKeylessError(err);
    const display = typeof error.detail?.path === 'string' ? error.detail.path : t.label;
    if (t.problems.length < MAX_PROBLEMS) t.problems.push({ display, error });
    this.changed(t);
  }

  /**
   * Runs `fn`; when the connection drops under it, the pool makes a new one (with backoff and a
   * fresh key) and `fn` runs again, going on from where it stopped.
   */
  private async withReconnect<T>(t: Transfer, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted) throw cancelled();
        if (!needsReconnect(err)) throw err;
        t.state = 'reconnecting';
        this.changed(t, true);
        this.log.info('transfer reconnecting', { transfer: t.id, code: err instanceof KeylessFailure ? err.code : 'connectionLost' });
        const sides = [t.source.kind === 'remote' ? t.source.side : undefined, t.target.kind === 'remote' ? t.target.side : undefined];
        for (const side of sides) if (side) await side.reconnect(signal);
        t.resumes++;
        t.state = 'running';
        this.changed(t, true);
      }
    }
  }

  private async makePlan(t: Transfer, signal: AbortSignal): Promise<Plan> {
    const plan: Plan = { files: [], dirs: [] };
    const add = (files: Array<{ from: Buffer | number; parts: Buffer[]; size: number; mode: number; mtime: number }>) => {
      for (const f of files) plan.files.push({ index: plan.files.length, ...f });
    };
    const src = t.source;
    if (src.kind === 'local') {
      for (const root of src.roots) {
        const tree = await walkLocal(root.path, root.name, signal);
        add(tree.files.map((f) => ({ from: f.path, parts: f.parts, size: f.size, mode: f.mode, mtime: f.mtime })));
        plan.dirs.push(...tree.dirs);
        for (const p of tree.problems) this.problem(t, p);
      }
    } else if (src.kind === 'remote') {
      const sftp = await src.side.session(signal);
      for (const path of src.paths) {
        // The name it gets here: its own, or (for `..`, `.`, a trailing slash) its real path's last name.
        let name = baseName(path);
        if (!isPlainName(name)) {
          name = baseName(
            await sftp.realpath(path).catch((err: unknown) => {
              throw failureAt(src.side, path, err);
            }),
          );
        }
        const nameOk = t.target.kind === 'local' ? isLocalName : isPlainName;
        const tree = await walkRemote(src.side, sftp, path, nameOk(name) ? name : Buffer.from('root'), signal, nameOk);
        add(tree.files.map((f) => ({ from: f.path, parts: f.parts, size: f.size, mode: f.mode, mtime: f.mtime })));
        plan.dirs.push(...tree.dirs);
        for (const p of tree.problems) this.problem(t, p);
      }
    } else {
      const dirs = new Map<string, Buffer[]>();
      src.files.forEach((f, i) => {
        const parts = f.name.split('/').map((p) => Buffer.from(p, 'utf8'));
        for (let d = 1; d < parts.length; d++) dirs.set(f.name.split('/').slice(0, d).join('/'), parts.slice(0, d));
        plan.files.push({ index: i, from: i, parts, size: f.size, mode: f.executable ? 0o755 : 0o644, mtime: 0 });
      });
      plan.dirs.push(...[...dirs.entries()].sort(([a], [b]) => a.length - b.length).map(([, p]) => p));
    }
    return plan;
  }

  private async makeDirs(t: Transfer, plan: Plan, signal: AbortSignal): Promise<void> {
    const dst = t.target;
    if (dst.kind === 'local') {
      // Outer folders first: one that is a symbolic link (downloads/proj → ~/.ssh) is not written
      // through, so nothing lands outside the folder the person sees.
      for (const parts of plan.dirs) {
        const path = localPath(dst.dir, parts);
        if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) {
          throw new KeylessFailure('FileNotRegular', `${localDisplay(path)} is a symbolic link; Keyless does not download through one.`, false, { path: localDisplay(path), reason: 'symlink', side: 'local' });
        }
        await mkdir(path, { recursive: true }).catch((err: unknown) => {
          throw localFailure(err, localDisplay(path));
        });
      }
      const first = plan.files[0] ?? (plan.dirs[0] ? { parts: plan.dirs[0] } : undefined);
      if (first) t.savedTo = localDisplay(localPath(dst.dir, first.parts.slice(0, 1)));
      return;
    }
    if (dst.sudo) return;
    const sftp = await dst.side.session(signal);
    for (const parts of plan.dirs) {
      const path = remoteChild(dst.dir, parts);
      await ensureRemoteDir(sftp, path).catch((err: unknown) => {
        throw failureAt(dst.side, path, err);
      });
    }
  }

  /** A download of many small files from a host with GNU tar goes as one stream. */
  private async tarFits(t: Transfer, plan: Plan, signal: AbortSignal): Promise<boolean> {
    if (t.source.kind !== 'remote' || t.target.kind !== 'local') return false;
    const todo = plan.files.filter((f) => !t.completed.has(f.index));
    if (todo.length < TAR_MIN_FILES) return false;
    if (todo.reduce((n, f) => n + f.size, 0) / todo.length > TAR_MAX_AVERAGE) return false;
    return hasGnuTar(t.source.side, signal);
  }

  private async viaTar(t: Transfer, plan: Plan, signal: AbortSignal): Promise<void> {
    const src = t.source as Extract<TransferSource, { kind: 'remote' }>;
    const root = (t.target as Extract<TransferTarget, { kind: 'local' }>).dir;
    const byPath = new Map<string, FileJob>();
    for (const f of plan.files) if (!t.completed.has(f.index)) byPath.set((f.from as Buffer).toString('latin1'), f);
    t.via = 'tar';
    this.changed(t, true);
    await tarStream(src.side, [...byPath.values()].map((f) => f.from as Buffer), signal, async (path, _mode, size, data) => {
      const job = byPath.get(path.toString('latin1'));
      if (!job || t.completed.has(job.index)) return void data.resume();
      t.current = displayName(Buffer.concat(job.parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p]))));
      if (size !== job.size && t.total >= 0) t.total += size - job.size;
      job.size = size;
      let written = 0;
      const skip = () => {
        t.skipped++;
        t.bytes += job.size;
        data.resume();
      };
      try {
        await this.writeLocal(t, root, job, skip, async (fh, temp) => {
          const writer = localWriter(fh, temp);
          for await (const chunk of data as AsyncIterable<Buffer>) {
            await writer.write(written, chunk);
            written += chunk.length;
            t.bytes += chunk.length;
            t.sample();
            this.changed(t);
          }
        });
      } catch (err) {
        t.bytes -= written;
        data.resume();
        if (needsReconnect(err) || signal.aborted) throw err;
        this.problem(t, err);
        t.completed.add(job.index);
        return;
      }
      t.completed.add(job.index);
      t.files++;
      this.changed(t);
    });
  }

  /** Asks the person (or applies the standing answer) what to do about an existing target. */
  private async decide(t: Transfer, job: FileJob, existing: { size: number; mtime: number; mode: number }, ownerChanges: boolean, exists: (name: Buffer) => Promise<boolean>): Promise<Decision> {
    const name = job.parts[job.parts.length - 1]!;
    let choice: ConflictChoice | undefined = t.policy !== 'ask' ? t.policy : this.answerForAll;
    while (!choice) {
      // One question at a time per transfer.
      const asking = t.answer;
      if (asking) {
        await new Promise((r) => setTimeout(r, 50));
        choice = t.policy !== 'ask' ? t.policy : this.answerForAll;
        continue;
      }
      choice = await new Promise<ConflictChoice>((resolve, reject) => {
        t.state = 'waiting';
        t.conflict = { display: displayName(Buffer.concat(job.parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])))), existing: { size: existing.size, mtime: existing.mtime }, incoming: { size: job.size, mtime: job.mtime }, ownerChanges };
        const onAbort = () => reject(cancelled());
        t.abort?.signal.addEventListener('abort', onAbort, { once: true });
        t.answer = (c, all) => {
          t.abort?.signal.removeEventListener('abort', onAbort);
          if (all) t.policy = c;
          t.answer = undefined;
          t.conflict = undefined;
          t.state = 'running';
          this.changed(t, true);
          resolve(c);
        };
        this.changed(t, true);
      });
    }
    if (choice === 'skip') return { kind: 'skip' };
    if (choice === 'keepBoth') {
      for (let n = 1; n < 10_000; n++) {
        const candidate = keepBothName(name, n);
        if (!(await exists(candidate))) return { kind: 'new', name: candidate };
      }
      throw new KeylessFailure('FileExists', `No free name was found beside ${displayName(name)}.`, false, { path: displayName(name) });
    }
    return { kind: choice, name, existingMode: existing.mode };
  }

  private async moveFile(t: Transfer, job: FileJob, slots: Slots, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw cancelled();
    t.current = displayName(Buffer.concat(job.parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p]))));
    this.changed(t);
    const onBytes = (n: number) => {
      t.bytes += n;
      t.sample();
      this.changed(t);
    };
    const skip = () => {
      t.skipped++;
      t.bytes += job.size;
      if (t.fileCount === 1) t.total = t.bytes;
    };
    if (t.target.kind === 'local') return this.download(t, t.target.dir, job, slots, signal, onBytes, skip);
    if (t.target.sudo) {
      const target = t.target;
      const source = await this.readerFor(t, job, signal);
      try {
        return await sudoUpload({ side: target.side, dir: remoteChild(target.dir, job.parts.slice(0, -1)), name: job.parts[job.parts.length - 1]!, size: job.size, mode: job.mode, reader: source.reader, signal, onBytes });
      } finally {
        await source.close();
      }
    }
    return this.upload(t, t.target, job, slots, signal, onBytes, skip);
  }

  /** The bytes of one file of the transfer's source, opened (again after a reconnect) on demand. */
  private async readerFor(t: Transfer, job: FileJob, signal: AbortSignal): Promise<{ reader: RangeReader; size: number; close(): Promise<void> }> {
    const src = t.source;
    if (src.kind === 'local') {
      const { fh, st, reader } = await openLocalForRead(job.from as Buffer);
      return { reader, size: st.size, close: () => fh.close().catch(() => undefined) };
    }
    if (src.kind === 'stream') {
      const file = job.from as number;
      return { reader: { read: (offset, length) => src.pull(file, offset, length, signal) }, size: job.size, close: async () => {} };
    }
    const sftp = await src.side.session(signal);
    const path = job.from as Buffer;
    const handle = await sftp.open(path, OPEN.READ).catch((err: unknown) => {
      throw failureAt(src.side, path, err);
    });
    const st = await sftp.fstat(handle).catch((err: unknown) => {
      void sftp.close(handle).catch(() => undefined);
      throw failureAt(src.side, path, err);
    });
    return {
      reader: sftpReader(sftp, handle, src.side, path),
      size: st.size ?? job.size,
      close: () => sftp.close(handle).catch(() => undefined),
    };
  }

  private async download(t: Transfer, root: Buffer, job: FileJob, slots: Slots, signal: AbortSignal, onBytes: (n: number) => void, skip: () => void): Promise<void> {
    await this.writeLocal(t, root, job, skip, async (fh, temp) => {
      const progress = new Progress(0);
      const writer = localWriter(fh, temp);
      let identity: { size: number } | undefined;
      await this.withReconnect(t, signal, async () => {
        const source = await this.readerFor(t, job, signal);
        try {
          // A file changed between two connections starts again from its first byte.
          if (identity && identity.size !== source.size) {
            t.bytes -= progress.done;
            progress.done = 0;
            await fh.truncate(0);
          }
          identity ??= { size: source.size };
          if (source.size !== job.size && t.total >= 0) t.total += source.size - job.size;
          job.size = source.size;
          await pump(source.reader, writer, { from: progress.done, size: source.size, chunk: 255 * 1024, inFlight: DOWNLOAD_REQUESTS_PER_FILE, slots, signal, progress, onBytes });
        } finally {
          await source.close();
        }
      });
    });
  }

  /**
   * Writes one file of a download into its place on this computer: the question about an existing
   * file, a temporary name made with O_EXCL beside it, `fill`, the mode, the rename over the target;
   * on any failure the temporary file goes.
   */
  private async writeLocal(t: Transfer, root: Buffer, job: FileJob, skip: () => void, fill: (fh: FileHandle, temp: Buffer) => Promise<void>): Promise<void> {
    const dir = localPath(root, job.parts.slice(0, -1));
    const final = localPath(root, job.parts);
    const existing = await lstat(final).catch(() => undefined);
    let decision: Decision = { kind: 'new', name: job.parts[job.parts.length - 1]! };
    if (existing) {
      if (existing.isDirectory()) throw new KeylessFailure('FileExists', `${localDisplay(final)} is a folder.`, false, { path: localDisplay(final), side: 'local' });
      decision = await this.decide(t, job, { size: existing.size, mtime: Math.floor(existing.mtimeMs / 1000), mode: existing.mode & 0o7777 }, false, async (n) => !!(await lstat(localPath(dir, [n])).catch(() => undefined)));
    }
    if (decision.kind === 'skip') return skip();
    const target = localPath(dir, [decision.name]);
    if (job.parts.length === 1) t.savedTo = localDisplay(target);
    const inPlace = decision.kind === 'overwrite';
    if (inPlace && existing && !existing.isFile()) throw new KeylessFailure('FileNotRegular', `${localDisplay(target)} is not a regular file.`, false, { path: localDisplay(target), reason: existing.isFIFO() ? 'fifo' : 'other', side: 'local' });
    const temp = inPlace ? target : localPath(dir, [temporaryName(decision.name)]);
    let fh: FileHandle;
    try {
      // O_EXCL: the temporary name is new, never somebody's file. In place: O_NONBLOCK, so that a
      // FIFO put there since the lstat fails at once (ENXIO) instead of holding a libuv thread.
      fh = await open(temp, inPlace ? constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0) : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      if (inPlace) {
        const st: Stats = await fh.stat();
        if (!st.isFile()) {
          await fh.close();
          throw new KeylessFailure('FileNotRegular', `${localDisplay(target)} is not a regular file.`, false, { path: localDisplay(target), reason: 'other', side: 'local' });
        }
        await fh.truncate(0);
      }
    } catch (err) {
      throw localFailure(err, localDisplay(temp));
    }
    let ok = false;
    try {
      await fill(fh, temp);
      const mode = decision.kind === 'replace' && decision.existingMode !== undefined ? decision.existingMode : job.mode;
      await fh.chmod(mode).catch(() => undefined);
      await fh.close();
      if (!inPlace) await rename(temp, target).catch((err: unknown) => {
        throw localFailure(err, localDisplay(target));
      });
      ok = true;
    } finally {
      if (!ok) {
        await fh.close().catch(() => undefined);
        if (!inPlace) await unlink(temp).catch(() => undefined);
      }
    }
  }

  private async upload(
    t: Transfer,
    dst: Extract<TransferTarget, { kind: 'remote' }>,
    job: FileJob,
    slots: Slots,
    signal: AbortSignal,
    onBytes: (n: number) => void,
    skip: () => void,
  ): Promise<void> {
    const side = dst.side;
    const dir = remoteChild(dst.dir, job.parts.slice(0, -1));
    const name = job.parts[job.parts.length - 1]!;
    let sftp = await side.session(signal);
    const final = remoteChild(dir, [name]);
    const existing = await lstatOrNone(sftp, final).catch((err: unknown) => {
      throw failureAt(side, final, err);
    });
    let decision: Decision = { kind: 'new', name };
    if (existing) {
      if (((existing.mode ?? 0) & 0o170000) === 0o040000) throw new KeylessFailure('FileExists', `${displayName(final)} is a folder on ${side.label}.`, false, { path: displayName(final), side: 'remote', host: side.label });
      const ownerChanges = side.uid !== undefined && existing.uid !== undefined && existing.uid !== side.uid;
      decision = await this.decide(t, job, { size: existing.size ?? 0, mtime: existing.mtime ?? 0, mode: (existing.mode ?? 0o644) & 0o7777 }, ownerChanges, async (n) => !!(await lstatOrNone(sftp, remoteChild(dir, [n]))));
    }
    if (decision.kind === 'skip') return skip();
    const target = remoteChild(dir, [decision.name]);
    const inPlace = decision.kind === 'overwrite';
    const temp = inPlace ? target : remoteChild(dir, [temporaryName(decision.name)]);
    let handle: Buffer | undefined;
    let handleOf: SftpSession | undefined;
    const progress = new Progress(0);
    let ok = false;
    /**
     * Every write was answered: the bytes are on the host. A connection dropped after that (while
     * the file is closed or renamed) only finishes the file on the new one: opening it again would
     * truncate it (in place) or make a new empty temporary file and rename that over the target.
     */
    let written = false;
    const fail = async (err: unknown, remaining: number): Promise<never> => {
      throw await this.explainRemote(err, side, temp, dir, remaining);
    };
    const mode = decision.kind === 'replace' && decision.existingMode !== undefined ? decision.existingMode : job.mode;
    const rename = (s: SftpSession) => (s.hasPosixRename ? s.posixRename(temp, target) : s.rename(temp, target)).catch((err: unknown) => fail(err, 0));
    try {
      await this.withReconnect(t, signal, async () => {
        sftp = await side.session(signal);
        if (written) {
          if (inPlace || (await lstatOrNone(sftp, temp).catch((err: unknown) => fail(err, 0)))) {
            await sftp.setstat(temp, { mode }).catch(() => undefined);
            if (!inPlace) await rename(sftp);
            return;
          }
          // No temporary file: the rename was made and only its answer was lost.
          if ((await lstatOrNone(sftp, target).catch((err: unknown) => fail(err, 0)))?.size === job.size) return;
          throw new KeylessFailure('SftpFailed', `${displayName(target)} was not found whole on ${side.label} after the connection came back.`, false, { path: displayName(target), side: 'remote', host: side.label, message: 'lost after rename' });
        }
        if (!handle || handleOf !== sftp) {
          // The first open makes the temporary file (O_EXCL: never somebody's file); after a
          // reconnect the same file is opened again and written on from the last byte written.
          const flags = handle ? OPEN.WRITE : inPlace ? OPEN.WRITE | OPEN.CREAT | OPEN.TRUNC : OPEN.WRITE | OPEN.CREAT | OPEN.EXCL;
          handle = await sftp.open(temp, flags, inPlace ? {} : { mode: 0o600 }).catch((err: unknown) => fail(err, job.size));
          handleOf = sftp;
          if (side.uid === undefined) side.uid = (await sftp.fstat(handle).catch(() => ({}) as SftpAttrs)).uid;
        }
        const source = await this.readerFor(t, job, signal);
        // The second half's channel and handle, for a big file (see SPLIT_UPLOAD_MIN).
        let extra: { sftp: SftpSession; handle: Buffer; end(): void } | undefined;
        try {
          const onFail = (err: unknown) => fail(err, job.size - progress.done);
          const chunk = Math.min(sftp.maxWrite, 255 * 1024);
          // Split, each half keeps half the requests in flight: as much in memory as one channel
          // had (a 2 MiB window each), twice the window on the wire.
          const run = (writer: RangeWriter, from: number, size: number, inFlight = REQUESTS_PER_FILE) => (s: AbortSignal) =>
            pump(source.reader, writer, { from, size, chunk, inFlight, slots, signal: s, progress, onBytes });
          const first = sftpWriter(sftp, handle, onFail);
          if (source.size - progress.done >= SPLIT_UPLOAD_MIN) extra = await side.secondSession(signal, temp);
          if (extra) {
            // Progress counts only what is written without a gap, so a resume after a drop starts
            // at the end of the first half's written part and writes the second half again.
            const mid = progress.done + Math.ceil((source.size - progress.done) / 2 / chunk) * chunk;
            const half = REQUESTS_PER_FILE / 2;
            await untilBothDone([run(first, progress.done, mid, half), run(sftpWriter(extra.sftp, extra.handle, onFail), mid, source.size, half)], signal);
          } else {
            await run(first, progress.done, source.size)(signal);
          }
        } finally {
          if (extra) {
            await extra.sftp.close(extra.handle).catch(() => undefined);
            extra.end();
          }
          await source.close();
        }
        written = true;
        await sftp.fsetstat(handle, { mode }).catch(() => undefined);
        const h = handle;
        handle = undefined;
        await sftp.close(h).catch((err: unknown) => fail(err, 0));
        if (!inPlace) await rename(sftp);
      });
      ok = true;
    } finally {
      if (!ok) await this.removeTemporary(side, handle, handleOf, inPlace ? undefined : temp);
    }
  }

  /** After a cancel or a failure: the temporary file goes (the final name was never touched). */
  private async removeTemporary(side: RemoteSide, handle: Buffer | undefined, handleOf: SftpSession | undefined, temp: Buffer | undefined): Promise<void> {
    if (handle && handleOf && !handleOf.isClosed) await handleOf.close(handle).catch(() => undefined);
    if (!temp) return;
    try {
      // A session of its own: the transfer's may be the one that failed.
      const sftp = await side.session(new AbortController().signal);
      await sftp.remove(temp);
    } catch {
      /* the connection is gone: the temporary file stays, under its .keyless-….part name */
    }
  }

  /**
   * sshd's sftp-server answers a full disk with a generic failure: statvfs@openssh.com on the
   * folder tells whether that is what it was.
   */
  private async explainRemote(err: unknown, side: RemoteSide, path: Buffer, dir: Buffer, remaining: number): Promise<KeylessFailure> {
    if (err instanceof KeylessFailure) return err;
    if (err instanceof SftpError && err.status === STATUS.FAILURE) {
      try {
        const sftp = await side.session(new AbortController().signal);
        if (sftp.hasStatVfs) {
          const fs = await sftp.statvfs(dir);
          const free = fs.availableBlocks * (fs.fragmentSize || fs.blockSize);
          if (free < Math.max(remaining, 1) || free < (fs.fragmentSize || fs.blockSize) * 2) {
            return new KeylessFailure('DiskFull', `${side.label} has no space left for ${displayName(path)} (${free} bytes free).`, false, { path: displayName(path), host: side.label, side: 'remote', free });
          }
        }
      } catch {
        /* say what the server said */
      }
    }
    return failureAt(side, path, err);
  }
}

/** A local path under `root` made of name parts (bytes, joined without decoding). */
function localPath(root: Buffer, parts: Buffer[]): Buffer {
  return parts.reduce((p, part) => Buffer.concat([p, p[p.length - 1] === 0x2f ? Buffer.alloc(0) : Buffer.from('/'), part]), root);
}

function sftpReader(sftp: SftpSession, handle: Buffer, side: RemoteSide, path: Buffer): RangeReader {
  return {
    read: (offset, length, into) =>
      sftp.read(handle, offset, length, into).catch((err: unknown) => {
        throw failureAt(side, path, err);
      }),
  };
}

/** Runs each part with a signal of its own: the first failure (or the transfer's cancel) stops the others, and is what is thrown. */
async function untilBothDone(parts: Array<(signal: AbortSignal) => Promise<unknown>>, signal: AbortSignal): Promise<void> {
  const inner = new AbortController();
  const stop = () => inner.abort();
  if (signal.aborted) inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  let failure: { err: unknown } | undefined;
  try {
    await Promise.all(
      parts.map((part) =>
        part(inner.signal).catch((err: unknown) => {
          failure ??= { err };
          inner.abort();
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (failure) throw failure.err;
}

function sftpWriter(sftp: SftpSession, handle: Buffer, fail: (err: unknown) => Promise<never>): RangeWriter {
  return {
    write: async (offset, data, room = 0) => {
      for (let at = 0; at < data.length; at += sftp.maxWrite) {
        const piece = data.subarray(at, Math.min(data.length, at + sftp.maxWrite));
        // The room before the data is before the first piece only.
        await sftp.write(handle, offset + at, piece, at === 0 ? room : 0).catch(fail);
      }
    },
  };
}
