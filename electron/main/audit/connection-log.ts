import { open } from 'node:fs/promises';
import { localAuditEntrySchema, type LocalAuditEntry } from '../../contract';
import { JsonLinesFile } from '../base/json-lines';
import type { Logger } from '../base/log';

/** Reading looks at most at the log's last 2 MB: thousands of connections. */
const READ_TAIL_BYTES = 2 * 1024 * 1024;

/**
 * Keyless's own record of the connections it made, one JSON object a line in the data folder:
 * when, which profile, instance and OS user, how, and whether it worked. The entry type has no
 * field for a key, a token or a message from a host, so none can end up here.
 */
export class ConnectionLog {
  private readonly out: JsonLinesFile;

  constructor(
    readonly file: string,
    log?: Logger,
  ) {
    this.out = new JsonLinesFile(file, 'connection audit log', log);
  }

  /** Appends in call order; a failure to write is logged, never thrown at the connection. */
  append(entry: LocalAuditEntry): Promise<void> {
    return this.out.append(localAuditEntrySchema.parse(entry));
  }

  /** Resolves once every line appended so far is written (or its failure logged). */
  flushed(): Promise<void> {
    return this.out.flushed();
  }

  /** Newest first; lines that do not parse (a torn last write, a hand edit) are left out. */
  async read(limit = 500): Promise<LocalAuditEntry[]> {
    await this.out.flushed();
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
