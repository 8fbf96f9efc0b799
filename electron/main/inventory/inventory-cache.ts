import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { inventorySnapshotSchema, type InventorySnapshot } from '../../contract';
import type { Logger } from '../base/log';

const cacheFileSchema = z.object({
  format: z.literal('keyless-inventory'),
  version: z.literal(1),
  snapshot: inventorySnapshotSchema,
  /** What the last refresh covered, so a background refresh can repeat it. */
  last: z.object({ profiles: z.array(z.string()), regions: z.array(z.string()).optional() }),
});
export type InventoryCacheFile = z.infer<typeof cacheFileSchema>;

/**
 * The last inventory on disk: instance facts only (ids, addresses, tags), no credentials, no
 * tokens. A file that does not parse is treated as absent (it is only a cache) and replaced by
 * the next refresh.
 */
export class InventoryCache {
  private current: InventoryCacheFile | null | undefined;

  constructor(
    readonly file: string,
    private readonly log?: Logger,
  ) {}

  async load(): Promise<InventoryCacheFile | null> {
    if (this.current !== undefined) return this.current;
    try {
      const parsed = cacheFileSchema.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      if (!parsed.success) this.log?.warn('inventory cache unreadable; ignored', { file: this.file });
      this.current = parsed.success ? parsed.data : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn('inventory cache unreadable; ignored', { file: this.file });
      this.current = null;
    }
    return this.current;
  }

  /** The last write to disk (writes go one after another, the newest last). */
  private writing: Promise<void> = Promise.resolve();

  /**
   * The new inventory is current at once (`load` returns it); the file follows in the background,
   * so a refresh does not wait for 10,000 rows to be serialized and written. `flushed()` waits for it.
   */
  save(snapshot: InventorySnapshot, last: InventoryCacheFile['last']): Promise<void> {
    const file: InventoryCacheFile = { format: 'keyless-inventory', version: 1, snapshot, last: { profiles: last.profiles, ...(last.regions ? { regions: last.regions } : {}) } };
    this.current = file;
    const write = this.writing.then(async () => {
      await new Promise<void>((r) => setImmediate(r));
      // A newer save replaced this one while it waited: that one writes.
      if (this.current !== file) return;
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, JSON.stringify(file), { mode: 0o600 });
    });
    this.writing = write.catch((err: unknown) => this.log?.warn('inventory cache not written', { file: this.file, error: err instanceof Error ? err.message : String(err) }));
    return write;
  }

  /** Resolves when what was saved so far is on disk (or could not be written, which is logged). */
  flushed(): Promise<void> {
    return this.writing;
  }
}
