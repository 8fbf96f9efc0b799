import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';
import { KeylessFailure } from '../base/errors';

/**
 * A JSON document on disk, validated with zod. A file that is missing reads as `fallback`; a file
 * that fails to parse or validate is never overwritten: reading throws `StoreCorrupt` naming the
 * file and what is wrong, and writing is refused until the person fixes or restores it.
 */
export class JsonFile<T> {
  private corrupt: KeylessFailure | undefined;
  /** Whether this file has been read (and found sound) since it was opened. */
  private checked = false;

  constructor(
    readonly path: string,
    private readonly schema: z.ZodType<T>,
    private readonly fallback: () => T,
  ) {}

  async read(): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.corrupt = undefined;
        this.checked = true;
        return this.fallback();
      }
      throw this.markCorrupt(`${this.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, {});
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw this.markCorrupt(`${this.path} is not valid JSON: ${(err as Error).message}.`, {});
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || '(top level)';
      throw this.markCorrupt(`${this.path}: ${field}: ${issue?.message ?? 'invalid'}.`, { field });
    }
    this.corrupt = undefined;
    this.checked = true;
    return parsed.data;
  }

  async write(value: T): Promise<void> {
    // A write before any read must not replace a file that would have been refused.
    if (!this.checked && !this.corrupt) await this.read();
    if (this.corrupt) throw this.corrupt;
    await writeFileAtomic(this.path, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  }

  private markCorrupt(message: string, detail: Record<string, string>): KeylessFailure {
    this.corrupt = new KeylessFailure('StoreCorrupt', message, false, { file: this.path, ...detail });
    return this.corrupt;
  }
}
