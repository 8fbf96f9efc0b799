import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateOf, parseQuery, queryMatches, type InventorySnapshot } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend } from '../../../renderer/lib/backend/backend';
import { inventoryCsv } from '../../../renderer/lib/inventory/csv';
import { filterRows, groupLines, setOf, toRow } from '../../../renderer/lib/inventory/inventory-filter';
import type { InstanceSpec } from '../../sim/index';
import { startAwsWorld, type AwsWorld } from '../profiles/aws-world';

let world: AwsWorld;

/** Tag keys that are also the names of what every plain object inherits. */
const ODD_TAGS = JSON.parse('{"Name":"odd-tags","__proto__":"proto-value","constructor":"ctor-value","toString":"🚀 launch"}') as Record<string, string>;

beforeAll(async () => {
  const instances: InstanceSpec[] = [
    { region: 'us-east-1', subnetId: 'subnet-0000000000000f001', tags: ODD_TAGS },
    { region: 'us-east-1', subnetId: 'subnet-0000000000000f001', tags: { Name: 'plain', env: 'prod' } },
  ];
  world = await startAwsWorld({
    regions: ['us-east-1'],
    fleet: {
      vpcs: [{ id: 'vpc-0000000000000f001', region: 'us-east-1', cidr: '10.0.0.0/16', subnets: [{ id: 'subnet-0000000000000f001', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/24' }] }],
      instances,
    },
  });
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

/** A renderer's view of the backend: the real client over the in-memory transport (JSON, as the harness sends it). */
async function renderer(): Promise<{ backend: Backend; close: () => void }> {
  const main: MainBackend = await createBackend({ home: join(world.dir, 'keyless'), transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], inventoryRefreshMs: 0 });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  return { backend: new Backend(bridge), close: () => (peer.dispose(), main.dispose()) };
}

function checkRows(snapshot: InventorySnapshot | null): void {
  const odd = snapshot!.instances.find((i) => i.name === 'odd-tags')!;
  expect(Object.entries(odd.tags)).toEqual(Object.entries(ODD_TAGS));
  const rows = snapshot!.instances.map(toRow);
  const names = (q: string) => filterRows(rows, q).map((r) => r.inst.name);
  // Found by their own tags; an instance without such a tag does not inherit one.
  expect(names('__proto__:proto')).toEqual(['odd-tags']);
  expect(names('constructor:ctor')).toEqual(['odd-tags']);
  expect(names('constructor:')).toEqual(['odd-tags']);
  expect(names('tostring:*launch')).toEqual(['odd-tags']);
  expect(names('-constructor:').sort()).toEqual(['plain']);
  expect(groupLines(rows, { kind: 'tag', key: 'constructor' }, setOf()).filter((l) => l.kind === 'group').map((l) => l.kind === 'group' && l.value)).toEqual(['ctor-value', '']);
  expect(rows.find((r) => r.inst.name === 'odd-tags')!.tagLine).toBe('__proto__=proto-value  constructor=ctor-value  toString=🚀 launch');
  const csv = inventoryCsv(snapshot!.instances);
  // The Tags field holds ';', so it is quoted (one cell where a spreadsheet's list separator is ';').
  expect(csv.split('\r\n').find((l) => l.startsWith('odd-tags,'))!.split(',').at(-1)).toBe('"Name=odd-tags;__proto__=proto-value;constructor=ctor-value;toString=🚀 launch"');
  const query = parseQuery('tag:__proto__=proto-* tag:constructor');
  expect(snapshot!.instances.filter((i) => queryMatches(query, candidateOf(i))).map((i) => i.name)).toEqual(['odd-tags']);
}

describe('tag keys such as __proto__ and constructor, from the simulator to the renderer', () => {
  it('survive the refresh, the contract, the filter, grouping, smart groups and the CSV', async () => {
    const r = await renderer();
    try {
      checkRows(await r.backend.invoke('inventory.refresh', { requestId: 'tags-1', profiles: ['default'], regions: ['us-east-1'] }));
      // The cache is written in the background: wait until it holds this refresh.
      const cacheFile = join(world.dir, 'keyless', 'inventory.json');
      await expect.poll(() => readFile(cacheFile, 'utf8').catch(() => ''), { timeout: 10_000 }).toContain('ctor-value');
    } finally {
      r.close();
    }
  });

  it('survive the inventory cache on disk, read back by the next Keyless', async () => {
    const r = await renderer();
    try {
      checkRows(await r.backend.invoke('inventory.get', {}));
    } finally {
      r.close();
    }
  });
});
