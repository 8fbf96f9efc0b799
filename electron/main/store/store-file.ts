import { watch, type FSWatcher } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { KeylessFailure, fail } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import { lockFile, writeFileAtomic } from '../base/lazy-packages';
import { FileRefusal, READ_LIMITS, readRegularTextFile } from '../base/safe-read';
import { DocumentProblem } from './hosts-file';

export interface StoreFileOptions<T> {
  path: string;
  /** Parsed JSON to the current document (migrating older versions); throws DocumentProblem. */
  decode(json: unknown): T;
  empty(): T;
  /** How many rolling backups to keep (path.bak.1 is the newest). */
  backups?: number;
  /** A new backup slot is started at most this often; saves in between refresh the newest one. */
  backupEveryMs?: number;
  maxBytes?: number;
  /** How long a lock left by a crashed process keeps others waiting (proper-lockfile's minimum is 2 s). */
  staleLockMs?: number;
}

/** What reading the file found: the document, and the exact text it came from (null: no file yet). */
interface Snapshot<T> {
  doc: T;
  text: string | null;
}

const MiB = 1024 * 1024;

/**
 * A JSON document that several Keyless processes share safely.
 *
 * - Reads refuse anything that does not parse and validate, with the file, line or field, and
 *   never write over it; the person can restore a backup instead.
 * - Every change is a read-modify-write under a cross-process lock (proper-lockfile), re-reading
 *   the file inside the lock so that another process's save is never lost.
 * - Writes go to a temporary file that is fsynced and renamed over the old one (write-file-atomic),
 *   so a crash at any moment leaves either the old or the new document, whole.
 * - The previous good text is kept in rolling backups, path.bak.1 … path.bak.N.
 * - Edits made outside this process are noticed (fs.watch on the folder) and reported.
 */
export class JsonStoreFile<T> implements Disposable {
  readonly path: string;
  private readonly backups: number;
  private readonly backupEveryMs: number;
  private readonly maxBytes: number;
  private readonly staleLockMs: number;
  /** Serialises this process's own updates; the lock file serialises processes. */
  private queue: Promise<unknown> = Promise.resolve();
  private lastText: string | null | undefined;
  private watcher: FSWatcher | undefined;
  private watchTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: StoreFileOptions<T>) {
    this.path = opts.path;
    this.backups = opts.backups ?? 5;
    this.backupEveryMs = opts.backupEveryMs ?? 60_000;
    this.maxBytes = opts.maxBytes ?? READ_LIMITS.hostsFile;
    this.staleLockMs = opts.staleLockMs ?? 10_000;
  }

  backupPath(n: number): string {
    return `${this.path}.bak.${n}`;
  }

  async read(): Promise<T> {
    return (await this.snapshot()).doc;
  }

  /** The document decoded ahead of the first read by `warm`: handed to that read alone, and only if the file still holds the same text. */
  private early: Snapshot<T> | undefined;
  private warming: Promise<void> | undefined;

  /**
   * Reads and decodes the file now, while nothing asks for it (at start, while the page loads),
   * so that the first read finds the work done: checking 1,000 saved hosts against their schema
   * is most of what the backend does before it can answer the first `hosts.list`. A file that
   * cannot be read is left for that read to report.
   */
  warm(): Promise<void> {
    this.warming ??= (async () => {
      try {
        const text = await readRegularTextFile(this.path, this.maxBytes);
        this.early = { doc: this.opts.decode(JSON.parse(text.replace(/^\uFEFF/, ''))), text };
      } catch {
        /* the first read says why */
      }
    })();
    return this.warming;
  }

  /**
   * Applies `edit` to the newest document on disk and saves the result, all under the lock.
   * `edit` mutates the document it is given; whatever it returns is returned.
   */
  update<R>(edit: (doc: T) => R | Promise<R>): Promise<R> {
    const run = this.queue.then(() => this.lockedUpdate(edit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Replaces an unreadable file with the newest backup that reads cleanly; keeps the bad file beside it. */
  restoreBackup(): Promise<{ restoredFrom: string; keptAs: string }> {
    const run = this.queue.then(() =>
      this.withLock(async () => {
        // Only an unreadable file is replaced: a readable one holds edits the backup lacks.
        const readable = await this.snapshot().then(
          () => true,
          (err: unknown) => (err instanceof KeylessFailure && err.code === 'StoreCorrupt' ? false : Promise.reject(err)),
        );
        if (readable) fail('InvalidArguments', `${this.path} reads fine; there is nothing to restore.`, { file: this.path });
        const backup = await this.newestGoodBackup();
        if (!backup) fail('NotFound', `There is no readable backup of ${this.path}.`, { file: this.path });
        const keptAs = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        try {
          await rename(this.path, keptAs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        await writeFileAtomic(this.path, backup.text, { mode: 0o600, fsync: true });
        this.lastText = backup.text;
        this.fire();
        return { restoredFrom: backup.path, keptAs };
      }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Tells `listener` when the document changed, here or anywhere else. */
  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    this.startWatching();
    return { dispose: () => this.listeners.delete(listener) };
  }

  dispose(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.watchTimer);
    this.listeners.clear();
  }

  private async lockedUpdate<R>(edit: (doc: T) => R | Promise<R>): Promise<R> {
    return this.withLock(async () => {
      const { doc, text } = await this.snapshot();
      const result = await edit(doc);
      const next = JSON.stringify(doc, null, 2) + '\n';
      if (next === text) return result;
      if (text !== null) await this.keepBackup(text);
      await writeFileAtomic(this.path, next, { mode: 0o600, fsync: true });
      this.lastText = next;
      this.fire();
      return result;
    });
  }

  private async withLock<R>(fn: () => Promise<R>): Promise<R> {
    let release: () => Promise<void>;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      release = await lockFile(this.path, {
        realpath: false,
        stale: this.staleLockMs,
        retries: { retries: Math.ceil(this.staleLockMs / 100) + 20, factor: 1.2, minTimeout: 5, maxTimeout: 150 },
        // A lock we could not refresh in time may have been taken over; the write under it is
        // still whole (atomic rename), so say so in the log rather than crash.
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        fail(
          'StoreConflict',
          `${this.path} is locked by another Keyless process that did not finish in time (lock: ${this.path}.lock). Try again.`,
          { file: this.path },
          true,
        );
      }
      throw err;
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** Keeps `text` (the document before this save) as path.bak.1, moving older ones down. */
  private async keepBackup(text: string): Promise<void> {
    if (this.backups <= 0) return;
    const newest = await stat(this.backupPath(1)).catch(() => undefined);
    if (newest && Date.now() - newest.mtimeMs >= this.backupEveryMs) {
      for (let n = this.backups - 1; n >= 1; n--) {
        await rename(this.backupPath(n), this.backupPath(n + 1)).catch(() => undefined);
      }
    }
    await writeFileAtomic(this.backupPath(1), text, { mode: 0o600, fsync: true });
  }

  private async newestGoodBackup(): Promise<{ path: string; text: string } | undefined> {
    for (let n = 1; n <= this.backups; n++) {
      const path = this.backupPath(n);
      try {
        const text = await readRegularTextFile(path, this.maxBytes);
        this.opts.decode(JSON.parse(text.replace(/^\uFEFF/, '')));
        return { path, text };
      } catch {
        /* missing or unreadable: try an older one */
      }
    }
    return undefined;
  }

  private async snapshot(): Promise<Snapshot<T>> {
    // A read while the file is being warmed waits for it rather than decoding the file twice.
    if (this.warming) await this.warming;
    let size: number;
    try {
      const st = await stat(this.path);
      if (st.isDirectory()) throw await this.corrupt('it is a folder, not a file', {});
      size = st.size;
    } catch (err) {
      if (err instanceof KeylessFailure) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.lastText = null;
        return { doc: this.opts.empty(), text: null };
      }
      throw await this.corrupt(`it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {});
    }
    if (size > this.maxBytes) {
      throw await this.corrupt(
        `it is ${(size / MiB).toFixed(1)} MB, more than the ${this.maxBytes / MiB} MB a Keyless hosts file can be; it is probably not a Keyless file`,
        {},
      );
    }
    let text: string;
    try {
      text = await readRegularTextFile(this.path, this.maxBytes);
    } catch (err) {
      if (err instanceof FileRefusal) throw await this.corrupt(`it is ${err.whatItIs}`, { reason: err.reason });
      throw await this.corrupt(`it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {});
    }
    const early = this.early;
    this.early = undefined;
    if (early && early.text === text) {
      this.lastText = text;
      return early;
    }
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      const { line, column } = positionOf(text, (err as Error).message);
      throw await this.corrupt(`line ${line}, column ${column}: it is not valid JSON (${(err as Error).message})`, { line, column });
    }
    try {
      const doc = this.opts.decode(json);
      this.lastText = text;
      return { doc, text };
    } catch (err) {
      if (!(err instanceof DocumentProblem)) throw err;
      throw await this.corrupt(`${err.where}: ${err.message}`, { field: err.field });
    }
  }

  private async corrupt(problem: string, detail: Record<string, string | number>): Promise<KeylessFailure> {
    const backup = await this.newestGoodBackup();
    return new KeylessFailure(
      'StoreCorrupt',
      `${this.path}: ${problem}. Keyless has not changed the file${backup ? `; a backup can be restored from ${backup.path}` : ''}.`,
      false,
      { file: this.path, problem, backup: backup?.path ?? null, ...detail },
    );
  }

  private fire(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  private startWatching(): void {
    if (this.watcher) return;
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(this.watchTimer);
        this.watchTimer = setTimeout(() => void this.checkExternalChange(), 60);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      /* no watching on this file system: changes show on the next read */
    }
  }

  private async checkExternalChange(): Promise<void> {
    let text: string | null;
    try {
      text = await readRegularTextFile(this.path, this.maxBytes);
    } catch (err) {
      text = (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
    }
    if (text === this.lastText) return;
    this.lastText = text;
    this.fire();
  }
}

/** The line and column of a JSON.parse error (V8 gives a character position, or says the text ended). */
export function positionOf(text: string, message: string): { line: number; column: number } {
  const m = /position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) : text.length;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return { line, column };
}
