import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from './log';

/** Past this size a log moves to `<file>.1` (replacing the older one) and starts again. */
export const ROTATE_BYTES = 5 * 1024 * 1024;

/**
 * An owner-only file of JSON lines, appended in call order: the audit logs (connections, fleet
 * runs, uploads). A failure to write is logged (as `what`), never thrown at the caller's work.
 */
export class JsonLinesFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly what: string,
    private readonly log?: Logger,
  ) {}

  append(value: unknown): Promise<void> {
    const line = JSON.stringify(value) + '\n';
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        const size = await stat(this.file).then((s) => s.size, () => 0);
        if (size > ROTATE_BYTES) await rename(this.file, `${this.file}.1`);
        await appendFile(this.file, line, { mode: 0o600 });
      } catch (err) {
        this.log?.warn(`could not append to the ${this.what}`, { error: err instanceof Error ? err.message : String(err) });
      }
    });
    return this.writing;
  }

  /** Resolves once every line appended so far is written (or its failure logged). */
  flushed(): Promise<void> {
    return this.writing;
  }
}
