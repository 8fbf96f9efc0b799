import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostExport, ImportResolution, SshHostEntry } from '../../../electron/contract';
import { silentLogger } from '../../../electron/main/base/log';
import type { PeerContext } from '../../../electron/main/rpc/contract-server';
import { createHostHandlers } from '../../../electron/main/store/host-handlers';
import { HostStore } from '../../../electron/main/store/hosts';
import { importedId } from '../../../electron/main/store/ssh-config-import';

let dir: string;
let store: HostStore;
const file = () => join(dir, 'data', 'hosts.json');
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-import-'));
  store = new HostStore(join(dir, 'data'));
});
afterEach(async () => {
  store.dispose();
  await rm(dir, { recursive: true, force: true });
});

const ssh = (id: string, name: string, host: string, over: Partial<SshHostEntry> = {}): SshHostEntry => ({
  kind: 'ssh',
  id,
  name,
  host,
  port: 22,
  user: 'ops',
  auth: { type: 'agent' },
  groupId: null,
  tags: [],
  notes: '',
  favourite: false,
  ...over,
});
const exportOf = (e: Partial<HostExport>): string => JSON.stringify({ format: 'keyless-hosts', version: 2, groups: [], hosts: [], smartGroups: [], ...e });
const choose = (choice: ImportResolution['choice'], ...ids: string[]): ImportResolution[] => ids.map((id) => ({ kind: 'host', id, choice }));

describe('a JSON import that would replace saved entries', () => {
  beforeEach(async () => {
    await store.saveHost(ssh('web', 'web', '10.0.0.1'));
    await store.saveHost(ssh('db', 'db', '10.0.0.2'));
  });
  // A shared export that repoints the saved alias web, repeats db unchanged and brings a new host.
  const hostile = exportOf({ hosts: [ssh('web', 'web', '203.0.113.66', { user: 'root' }), ssh('db', 'db', '10.0.0.2'), ssh('new', 'new', '10.0.0.3')] });

  it('writes nothing and lists the conflicts, saved and imported side by side', async () => {
    const before = readFileSync(file());
    const r = await store.importJson(hostile);
    expect(r).toEqual({
      added: 0,
      updated: 0,
      conflicts: [
        {
          kind: 'host',
          id: 'web',
          existing: { name: 'web', address: '10.0.0.1:22', user: 'ops', detail: 'ssh-agent' },
          incoming: { name: 'web', address: '203.0.113.66:22', user: 'root', detail: 'ssh-agent' },
        },
      ],
    });
    expect(readFileSync(file()).equals(before)).toBe(true);
    // A resolution for another entry does not settle it.
    expect((await store.importJson(hostile, choose('replace', 'db'))).conflicts).toHaveLength(1);
    expect(readFileSync(file()).equals(before)).toBe(true);
  });

  it('keep: the saved host stays, the rest is imported', async () => {
    expect(await store.importJson(hostile, choose('keep', 'web'))).toEqual({ added: 1, updated: 0, conflicts: [] });
    const hosts = (await store.tree()).hosts;
    expect(hosts.map((h) => [h.id, h.kind === 'ssh' && h.host])).toEqual([['web', '10.0.0.1'], ['db', '10.0.0.2'], ['new', '10.0.0.3']]);
  });

  it('replace: the imported host takes its place', async () => {
    expect(await store.importJson(hostile, choose('replace', 'web'))).toEqual({ added: 1, updated: 1, conflicts: [] });
    expect((await store.entry('web')).kind === 'ssh' && (await store.entry('web'))).toMatchObject({ host: '203.0.113.66', user: 'root' });
  });

  it('keep both: the imported host is added under a new id beside the saved one', async () => {
    expect(await store.importJson(hostile, choose('both', 'web'))).toEqual({ added: 2, updated: 0, conflicts: [] });
    const webs = (await store.tree()).hosts.filter((h) => h.name === 'web');
    expect(webs.map((h) => h.kind === 'ssh' && h.host).sort()).toEqual(['10.0.0.1', '203.0.113.66']);
    expect(webs.find((h) => h.kind === 'ssh' && h.host === '203.0.113.66')!.id).not.toBe('web');
  });

  it('importing the same file again asks nothing and changes nothing', async () => {
    const own = await store.exportJson();
    const once = readFileSync(file(), 'utf8');
    expect(await store.importJson(own)).toEqual({ added: 0, updated: 0, conflicts: [] });
    expect(readFileSync(file(), 'utf8')).toBe(once);
  });

  it('a group kept both ways takes the imported hosts and subgroups of the import with it; ids such as __proto__ are ids like any other', async () => {
    await store.saveGroup({ id: 'team', name: 'Team', settings: { profile: 'prod' } });
    await store.saveHost(ssh('__proto__', 'odd', '10.0.0.9'));
    const json = exportOf({
      groups: [
        { id: 'team', name: 'Team', parentId: null, settings: { profile: 'attacker' }, notes: '' },
        { id: 'sub', name: 'Sub', parentId: 'team', settings: {}, notes: '' },
      ],
      hosts: [ssh('inside', 'inside', '10.0.1.1', { groupId: 'team' }), ssh('__proto__', 'odd', '10.6.6.6')],
    });
    const first = await store.importJson(json);
    expect(first.conflicts.map((c) => [c.kind, c.id, c.existing.detail, c.incoming.detail])).toEqual([
      ['group', 'team', 'prod', 'attacker'],
      ['host', '__proto__', 'ssh-agent', 'ssh-agent'],
    ]);
    await store.importJson(json, [{ kind: 'group', id: 'team', choice: 'both' }, ...choose('keep', '__proto__')]);
    const { groups, hosts } = await store.tree();
    const copy = groups.find((g) => g.name === 'Team' && g.id !== 'team')!;
    expect(groups.find((g) => g.id === 'team')!.settings).toEqual({ profile: 'prod' });
    expect(copy.settings).toEqual({ profile: 'attacker' });
    expect(groups.find((g) => g.id === 'sub')!.parentId).toBe(copy.id);
    expect(hosts.find((h) => h.id === 'inside')!.groupId).toBe(copy.id);
    expect(hosts.find((h) => h.id === '__proto__')).toMatchObject({ host: '10.0.0.9' });
  });
});

describe('importing ~/.ssh/config again', () => {
  const ctx = { peer: {} as PeerContext, signal: new AbortController().signal } as never;
  let home: string;
  const config = (webAddress: string) => writeFileSync(join(home, '.ssh', 'config'), `Host web\n  HostName ${webAddress}\n  User deploy\n\nHost db\n  HostName 10.0.0.2\n`);
  beforeEach(() => {
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
  });

  it('is silent when nothing changed, and keeps the group, tags, notes, favourite and recording given in Keyless', async () => {
    const { handlers } = createHostHandlers(store, { home, log: silentLogger });
    config('10.0.0.1');
    expect(await handlers['hosts.importSshConfig']({}, ctx)).toMatchObject({ added: 2, updated: 0, conflicts: [] });
    const g = await store.saveGroup({ name: 'Mine' });
    const web = await store.entry(importedId('web'));
    await store.saveHost({ ...web, groupId: g.id, tags: ['prod'], notes: 'the front', favourite: true, recordSessions: true });
    const once = readFileSync(file(), 'utf8');
    expect(await handlers['hosts.importSshConfig']({}, ctx)).toMatchObject({ added: 0, updated: 0, conflicts: [] });
    expect(readFileSync(file(), 'utf8')).toBe(once);
  });

  it('a changed HostName is a conflict: nothing written until chosen, then kept or replaced', async () => {
    const { handlers } = createHostHandlers(store, { home, log: silentLogger });
    config('10.0.0.1');
    await handlers['hosts.importSshConfig']({}, ctx);
    const once = readFileSync(file(), 'utf8');
    config('203.0.113.66');
    const asked = await handlers['hosts.importSshConfig']({}, ctx);
    expect(asked).toMatchObject({ added: 0, updated: 0, conflicts: [{ kind: 'host', id: importedId('web'), existing: { address: '10.0.0.1:22' }, incoming: { address: '203.0.113.66:22' } }] });
    expect(readFileSync(file(), 'utf8')).toBe(once);
    expect(await handlers['hosts.importSshConfig']({ resolutions: choose('keep', importedId('web')) }, ctx)).toMatchObject({ added: 0, updated: 0, conflicts: [] });
    expect(readFileSync(file(), 'utf8')).toBe(once);
    expect(await handlers['hosts.importSshConfig']({ resolutions: choose('replace', importedId('web')) }, ctx)).toMatchObject({ updated: 1, conflicts: [] });
    expect(await store.entry(importedId('web'))).toMatchObject({ host: '203.0.113.66' });
  });
});
