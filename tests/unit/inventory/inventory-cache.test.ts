import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inventoryInstanceSchema, type InventorySnapshot } from '../../../electron/contract';
import { checkCachedInstance, InventoryCache } from '../../../electron/main/inventory/inventory-cache';
import { inst } from './instance-fixture';

const snap = (n: number): InventorySnapshot => ({ fetchedAt: n, scopes: [], instances: [inst({ id: `i-000000000000000${n}` })], endpoints: [], vpcs: [], subnets: [] });

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the inventory cache file', () => {
  it('is current at once, reaches the disk in the background, the newest save last', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-cache-'));
    const file = join(dir, 'sub', 'inventory.json');
    const cache = new InventoryCache(file);
    void cache.save(snap(1), { profiles: ['a'] });
    void cache.save(snap(2), { profiles: ['a', 'b'], regions: ['us-east-1'] });
    expect((await cache.load())?.snapshot.fetchedAt).toBe(2);
    await cache.flushed();
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as { snapshot: InventorySnapshot; last: unknown };
    expect(onDisk.snapshot.fetchedAt).toBe(2);
    expect(onDisk.last).toEqual({ profiles: ['a', 'b'], regions: ['us-east-1'] });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // A fresh reader (the next start) sees what was written.
    expect((await new InventoryCache(file).load())?.snapshot.instances[0]?.id).toBe('i-0000000000000002');
  });

  it('a write that fails is reported by its promise and does not stop later ones', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-cache-'));
    const blocked = new InventoryCache(join(dir, 'file-not-dir', 'inventory.json'));
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'file-not-dir'), 'x'));
    await expect(blocked.save(snap(1), { profiles: ['a'] })).rejects.toThrow();
    await blocked.flushed();
    expect((await blocked.load())?.snapshot.fetchedAt).toBe(1);
  });
  it('a file with one malformed instance among thousands is ignored whole, and a good one is read with every instance checked', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-cache-'));
    const file = join(dir, 'inventory.json');
    const instances = Array.from({ length: 2500 }, (_, n) => inst({ id: `i-${String(n).padStart(17, '0')}` }));
    const body = (list: unknown[]) => JSON.stringify({ format: 'keyless-inventory', version: 1, snapshot: { ...snap(1), instances: list }, last: { profiles: ['a'] } });
    // Past the first batch: the instances are checked in batches, and a bad one late in the file still counts.
    await writeFile(file, body(instances.map((x, n) => (n === 2200 ? { ...x, privateIp: 42 } : x))));
    expect(await new InventoryCache(file).load()).toBeNull();
    await writeFile(file, body(instances.map((x, n) => (n === 10 ? { ...x, unknownField: 'dropped' } : x))));
    const read = await new InventoryCache(file).load();
    expect(read?.snapshot.instances.map((x) => x.id)).toEqual(instances.map((x) => x.id));
    expect(read?.snapshot.instances[10]).not.toHaveProperty('unknownField');
  });

  it('a refresh saved while the file is still being read is not replaced by the older file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-cache-'));
    const file = join(dir, 'inventory.json');
    await writeFile(file, JSON.stringify({ format: 'keyless-inventory', version: 1, snapshot: snap(1), last: { profiles: ['a'] } }));
    const cache = new InventoryCache(file);
    const reading = cache.load();
    void cache.save(snap(2), { profiles: ['a'] });
    expect((await reading)?.snapshot.fetchedAt).toBe(2);
    expect((await cache.load())?.snapshot.fetchedAt).toBe(2);
    await cache.flushed();
  });

  it('checks each cached instance as the contract schema does, without copying it', () => {
    const good = inst({ id: 'i-0123456789abcdef0' });
    const variants: unknown[] = [
      good,
      { ...good, unknownField: 'dropped' },
      { ...good, endpointId: 'eice-1', launchedAt: null },
      { ...good, tags: JSON.parse('{"__proto__":"p","constructor":"c"}') as unknown },
      { ...good, privateIp: 42 },
      { ...good, reach: 'teleport' },
      { ...good, endpointId: 7 },
      { ...good, launchedAt: '2024' },
      { ...good, tags: { Name: 3 } },
      { ...good, tags: ['a'] },
      { ...good, tags: null },
      Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'az')),
      null,
      [good],
      'i-1',
    ];
    for (const v of variants) {
      const copy = structuredClone(v);
      const zod = inventoryInstanceSchema.safeParse(copy);
      expect(checkCachedInstance(v), JSON.stringify(v)).toBe(zod.success);
      if (zod.success) {
        // The same instance as zod's copy: unknown fields gone, the tags' keys own, no prototype to find `constructor` on.
        expect(v).toEqual(zod.data);
        expect(Object.getPrototypeOf((v as { tags: object }).tags)).toBeNull();
        expect(Object.keys((v as { tags: object }).tags)).toEqual(Object.keys(zod.data.tags));
      }
    }
  });
});
