import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../../../electron/contract';
import { InventoryCache } from '../../../electron/main/inventory/inventory-cache';
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
});
