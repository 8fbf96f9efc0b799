import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { inventoryInstanceSchema, inventorySnapshotSchema, reachSchema, type InventoryInstance, type InventorySnapshot } from '../../contract';
import { writeFileAtomic } from '../base/lazy-packages';
import type { Logger } from '../base/log';

const cacheFileSchema = z.object({
  format: z.literal('keyless-inventory'),
  version: z.literal(1),
  snapshot: inventorySnapshotSchema,
  /** What the last refresh covered, so a background refresh can repeat it. */
  last: z.object({ profiles: z.array(z.string()), regions: z.array(z.string()).optional() }),
});
export type InventoryCacheFile = z.infer<typeof cacheFileSchema>;

/** Instances checked per turn of the event loop when the file is read, so a large file does not hold up other calls. */
const INSTANCES_PER_TURN = 2000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const TEXT_FIELDS = ['profile', 'account', 'region', 'id', 'name', 'state', 'type', 'az', 'vpcId', 'subnetId', 'privateIp', 'publicIp', 'imageId', 'imageName', 'platform', 'defaultUser'] as const;
const REACH: ReadonlySet<unknown> = new Set(reachSchema.options);
const INSTANCE_FIELDS: ReadonlySet<string> = new Set(Object.keys(inventoryInstanceSchema.shape));

/**
 * `inventoryInstanceSchema`'s check, made in place on the object JSON.parse gave: what zod accepts
 * and nothing else, with the same result (unknown fields dropped, tags without a prototype), but
 * no copy. Zod's copy of 10,000 instances left the parsed originals as garbage in the old
 * generation and grew V8's young generation for good: about 20 MB more backend RSS at rest
 * (the startup bench). A test holds the two checks to the same verdicts.
 */
export function checkCachedInstance(v: unknown): v is InventoryInstance {
  if (!isRecord(v)) return false;
  for (const k of TEXT_FIELDS) if (typeof v[k] !== 'string') return false;
  if (!REACH.has(v.reach)) return false;
  if (v.endpointId !== null && typeof v.endpointId !== 'string') return false;
  if (v.launchedAt !== null && typeof v.launchedAt !== 'number') return false;
  const tags = v.tags;
  if (!isRecord(tags)) return false;
  for (const k in tags) if (typeof tags[k] !== 'string') return false;
  // JSON.parse makes every key an own property, `__proto__` included: only the prototype goes.
  Object.setPrototypeOf(tags, null);
  for (const k in v) if (!INSTANCE_FIELDS.has(k)) delete v[k];
  return true;
}

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
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    const read = await this.reading;
    // A save while the file was being read is newer than the file.
    if (this.current === undefined) this.current = read;
    return this.current;
  }

  private reading: Promise<InventoryCacheFile | null> | undefined;

  /** The file, checked against its schema: everything but the instances at once, the instances in batches. */
  private async read(): Promise<InventoryCacheFile | null> {
    const unreadable = () => {
      this.log?.warn('inventory cache unreadable; ignored', { file: this.file });
      return null;
    };
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn('inventory cache unreadable; ignored', { file: this.file });
      return null;
    }
    const instances = isRecord(raw) && isRecord(raw.snapshot) && Array.isArray(raw.snapshot.instances) ? (raw.snapshot.instances as unknown[]) : null;
    if (!instances) return unreadable();
    const head = cacheFileSchema.safeParse({ ...(raw as object), snapshot: { ...(raw as { snapshot: object }).snapshot, instances: [] } });
    if (!head.success) return unreadable();
    for (let i = 0; i < instances.length; i++) {
      if (i % INSTANCES_PER_TURN === 0) await new Promise<void>((r) => setTimeout(r, 0));
      if (!checkCachedInstance(instances[i])) return unreadable();
    }
    return { ...head.data, snapshot: { ...head.data.snapshot, instances: instances as InventoryInstance[] } };
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
