import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { candidateOf, parseQuery, queryMatches, queryProblems, type QueryInstance } from '../../../electron/contract';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { HostStore } from '../../../electron/main/store/hosts';

const base: QueryInstance = {
  id: 'i-0aaaaaaaaaaaaaaa1',
  name: 'web-1',
  state: 'running',
  region: 'eu-west-1',
  profile: 'prod',
  account: '111122223333',
  type: 't3.micro',
  az: 'eu-west-1a',
  vpcId: 'vpc-1',
  subnetId: 'subnet-1',
  privateIp: '10.0.0.5',
  publicIp: '',
  platform: 'Linux/UNIX',
  tags: { env: 'prod', Name: 'web-1', role: 'web' },
};
const fleet: QueryInstance[] = [
  base,
  { ...base, id: 'i-0aaaaaaaaaaaaaaa2', name: 'web-2', state: 'stopped', tags: { ...base.tags, Name: 'web-2' } },
  { ...base, id: 'i-0aaaaaaaaaaaaaaa3', name: 'db-1', region: 'us-east-1', tags: { env: 'prod', Name: 'db-1', role: 'db' } },
  { ...base, id: 'i-0aaaaaaaaaaaaaaa4', name: 'web-stage', tags: { env: 'staging', Name: 'web-stage', role: 'web' } },
  { ...base, id: 'i-0aaaaaaaaaaaaaaa5', name: 'untagged', tags: {} },
];
const members = (q: string) => {
  expect(queryProblems(q)).toEqual([]);
  const query = parseQuery(q);
  return fleet.filter((i) => queryMatches(query, candidateOf(i))).map((i) => i.name);
};

describe('smart group filters over the inventory', () => {
  it('the issue’s example: tag, state and region together', () => {
    expect(members('tag:env=prod state:running region:eu-west-1')).toEqual(['web-1']);
  });

  it('the same key twice means either; a minus excludes; * and ? match; case does not matter', () => {
    expect(members('region:eu-west-1 region:us-east-1 tag:role=db')).toEqual(['db-1']);
    expect(members('tag:env=prod -state:stopped')).toEqual(['web-1', 'db-1']);
    expect(members('name:web-*')).toEqual(['web-1', 'web-2', 'web-stage']);
    expect(members('tag:ENV=PR?D type:t3.*')).toEqual(['web-1', 'web-2', 'db-1']);
    expect(members('tag:role')).toEqual(['web-1', 'web-2', 'db-1', 'web-stage']);
    expect(members('-tag:env')).toEqual(['untagged']);
    expect(members('tag:"Name=web-stage"')).toEqual(['web-stage']);
  });

  it('a value without wildcards matches the start of the field; in quotes, the whole of it', () => {
    expect(members('name:web')).toEqual(['web-1', 'web-2', 'web-stage']);
    expect(members('name:"web"')).toEqual([]);
    expect(members('tag:env=prod')).toEqual(['web-1', 'web-2', 'db-1']);
    expect(members('tag:"env=staging"')).toEqual(['web-stage']);
    expect(members('tag:"env=stag"')).toEqual([]);
    // Any other key is a tag key, as in the inventory's filter.
    expect(members('role:db')).toEqual(['db-1']);
  });

  it('a bare word matches names, ids, addresses and tag values, its letters in order', () => {
    expect(members('stage')).toEqual(['web-stage']);
    expect(members('aaaa5')).toEqual(['untagged']);
    expect(members('wbstg')).toEqual(['web-stage']);
  });

  it('says what is wrong with a filter it cannot use', () => {
    expect(queryProblems('tag:=blue')[0]).toMatch(/tag: needs a tag key/);
    expect(queryProblems('   ')[0]).toMatch(/at least one filter/);
  });
});

describe('smart groups in the store', () => {
  let dir: string;
  let store: HostStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-smart-'));
    store = new HostStore(dir);
  });
  afterEach(async () => {
    store.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('are saved, listed, exported and deleted; a bad filter is refused with the reason', async () => {
    const g = await store.saveSmartGroup({ name: 'Prod web', query: 'tag:env=prod tag:role=web state:running' });
    expect((await store.tree()).smartGroups).toEqual([g]);
    expect(JSON.parse(await store.exportJson()).smartGroups).toEqual([g]);
    await expect(store.saveSmartGroup({ name: 'x', query: 'tag:=blue' })).rejects.toMatchObject({ code: 'InvalidArguments', message: expect.stringMatching(/^query: tag: needs a tag key/) });
    await store.deleteSmartGroup(g.id);
    expect((await store.tree()).smartGroups).toEqual([]);
    await expect(store.deleteSmartGroup(g.id)).rejects.toBeInstanceOf(KeylessFailure);
  });
});
