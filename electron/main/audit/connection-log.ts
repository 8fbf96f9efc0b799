import { appendFile, mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { localAuditEntrySchema, type LocalAuditEntry } from '../../contract';
import type { Logger } from '../base/log';

/** Past this size the log moves to `<file>.1` (replacing the older one) and starts again. */
const ROTATE_BYTES = 5 * 1024 * 1024;
/** Reading looks at most at the log's last 2 MB: thousands of connections. */
const READ_TAIL_BYTES = 2 * 1024 * 1024;

/**
 * Keyless's own record of the connections it made, one JSON object a line in the data folder:
 * when, which profile, instance and OS user, how, and whether it worked. The entry type has no
 * field for a key, a token or a message from a host, so none can end up here.
 */
export class ConnectionLog {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly log?: Logger,
  ) {}

  /** Appends in call order; a failure to write is logged, never thrown at the connection. */
  append(entry: LocalAuditEntry): Promise<void> {
    const line = JSON.stringify(localAuditEntrySchema.parse(entry)) + '\n';
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        const size = await stat(this.file).then((s) => s.size, () => 0);
        if (size > ROTATE_BYTES) await rename(this.file, `${this.file}.1`);
        await appendFile(this.file, line, { mode: 0o600 });
      } catch (err) {
        this.log?.warn('could not append to the connection audit log', { error: err instanceof Error ? err.message : String(err) });
      }
    });
    return this.writing;
  }

  /** Resolves once every line appended so far is written (or its failure logged). */
  flushed(): Promise<void> {
    return this.writing;
  }

  /** Newest first; lines that do not parse (a torn last write, a hand edit) are left out. */
  async read(limit = 500): Promise<LocalAuditEntry[]> {
    await this.writing;
    let text: string;
    try {
      const fh = await open(this.file, 'r');
      try {
        const { size } = await fh.stat();
        const from = Math.max(0, size - READ_TAIL_BYTES);
        const buf = Buffer.alloc(size - from);
        await fh.read(buf, 0, buf.length, from);
        text = buf.toString('utf8');
        if (from > 0) text = text.slice(text.indexOf('\n') + 1);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: LocalAuditEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && entries.length < limit; i--) {
      if (!lines[i]) continue;
      try {
        const parsed = localAuditEntrySchema.safeParse(JSON.parse(lines[i]!));
        if (parsed.success) entries.push(parsed.data);
      } catch {
        /* skipped */
      }
    }
    return entries;
  }
}
