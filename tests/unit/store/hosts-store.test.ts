import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveRecordSessions, resolveSettings, type HostEntry, type HostGroup } from '../../../electron/contract';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { HostStore } from '../../../electron/main/store/hosts';

let dir: string;
let store: HostStore;
const file = () => join(dir, 'hosts.json');
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-hosts-'));
  store = new HostStore(dir);
});
afterEach(async () => {
  store.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<KeylessFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KeylessFailure);
    return err as KeylessFailure;
  }
  throw new Error('expected a failure');
}

const web = { kind: 'ssh', name: 'web', host: 'web.example.com', port: 22, user: 'ubuntu', auth: { type: 'agent' } } as const;
const v1 = {
  version: 1,
  hosts: [{ kind: 'ssh', id: 'h1', name: 'old box', host: '10.0.0.5', port: 2222, user: 'admin', auth: { type: 'keyFile', path: '~/.ssh/id_ed25519' } }],
};

describe('hosts.json versions', () => {
  it('reads a version 1 file as version 2 and writes version 2 on the next save, keeping the old text as a backup', async () => {
    const before = JSON.stringify(v1, null, 2);
    writeFileSync(file(), before);
    const tree = await store.tree();
    expect(tree.groups).toEqual([]);
    expect(tree.hosts).toEqual([{ ...v1.hosts[0], groupId: null, tags: [], notes: '', favourite: false }]);
    expect(await store.get('h1')).toEqual(v1.hosts[0]);
    expect(readFileSync(file(), 'utf8')).toBe(before); // reading never rewrites

    await store.saveHost(web);
    const after = JSON.parse(readFileSync(file(), 'utf8'));
    expect(after.version).toBe(2);
    expect(after.hosts.map((h: HostEntry) => h.name)).toEqual(['old box', 'web']);
    expect(readFileSync(join(dir, 'hosts.json.bak.1'), 'utf8')).toBe(before);
  });
});

describe('a hosts.json that cannot be read', () => {
  const cases: Array<[string, () => Promise<void> | void, RegExp]> = [
    ['truncated JSON', () => writeFileSync(file(), '{\n  "version": 2,\n  "hosts": [\n    { "kind": "ssh", "id": "h1"'), /line 4, column \d+: it is not valid JSON/],
    [
      'a wrong type',
      () => writeFileSync(file(), JSON.stringify({ version: 2, hosts: [{ ...web, id: 'h1', port: 'twenty-two' }] })),
      /hosts\[0\] \("web"\)\.port: .*expected number/i,
    ],
    ['an unknown future version', () => writeFileSync(file(), JSON.stringify({ version: 9, hosts: [] })), /version: version 9 was written by a newer Keyless/],
    [
      'a 50 MB file',
      async () => {
        writeFileSync(file(), '');
        await truncate(file(), 50 * 1024 * 1024);
      },
      /it is 50\.0 MB, more than the 10 MB/,
    ],
    ['a folder', () => mkdirSync(file()), /it is a folder, not a file/],
    ['an instance id that is not one', () => writeFileSync(file(), JSON.stringify({ version: 2, hosts: [{ kind: 'ec2', id: 'e1', name: 'x', instanceId: 'i-xyz' }] })), /hosts\[0\] \("x"\)\.instanceId: an instance id/],
    [
      'a host in a group that does not exist',
      () => writeFileSync(file(), JSON.stringify({ version: 2, hosts: [{ ...web, id: 'h1', groupId: 'gone' }] })),
      /hosts\[0\] \("web"\)\.groupId: there is no group with the id gone/,
    ],
  ];

  it.each(cases)('%s: says which file and where, and is left byte for byte as it was', async (_name, make, words) => {
    await make();
    const isDir = _name === 'a folder';
    const before = isDir ? undefined : readFileSync(file());
    const read = await failure(store.tree());
    expect(read.code).toBe('StoreCorrupt');
    expect(read.message).toContain(file());
    expect(read.message).toMatch(words);
    expect(read.detail?.file).toBe(file());
    // Nothing that changes the store gets through, and the file is untouched.
    for (const attempt of [store.saveHost(web), store.saveGroup({ name: 'g' }), store.markUsed('h1'), store.importJson('{"format":"keyless-hosts","version":2,"groups":[],"hosts":[]}')]) {
      expect((await failure(attempt)).code).toBe('StoreCorrupt');
    }
    if (before) expect(readFileSync(file()).equals(before)).toBe(true);
    else expect(existsSync(join(file(), 'hosts.json'))).toBe(false);
  });

  it('offers the newest good backup and restores it, keeping the unreadable file beside it', async () => {
    await store.saveHost({ ...web, id: 'h1' });
    await store.saveHost({ ...web, id: 'h2', name: 'web 2' });
    writeFileSync(file(), '{"version": 2, "hosts": [');
    const err = await failure(store.tree());
    expect(err.detail?.backup).toBe(join(dir, 'hosts.json.bak.1'));
    expect(err.message).toContain('a backup can be restored from');

    const { restoredFrom, keptAs } = await store.restoreBackup();
    expect(restoredFrom).toBe(join(dir, 'hosts.json.bak.1'));
    expect(readFileSync(keptAs, 'utf8')).toBe('{"version": 2, "hosts": [');
    expect((await store.tree()).hosts.map((h) => h.id)).toEqual(['h1']);
  });

  it('restoring is refused while the file reads fine, so no edit is thrown away', async () => {
    await store.saveHost({ ...web, id: 'h1' });
    await store.saveHost({ ...web, id: 'h2' });
    const err = await failure(store.restoreBackup());
    expect(err.message).toMatch(/reads fine; there is nothing to restore/);
    expect((await store.tree()).hosts).toHaveLength(2);
  });

  it('without any backup, says there is none', async () => {
    writeFileSync(file(), 'not json');
    const err = await failure(store.tree());
    expect(err.detail?.backup).toBeNull();
    expect((await failure(store.restoreBackup())).code).toBe('NotFound');
  });
});

describe('two windows or processes editing the same host', () => {
  it('the second save from a stale copy is refused instead of silently undoing the first', async () => {
    const other = new HostStore(dir);
    const loaded = await store.saveHost({ ...web, id: 'h1' });
    // Another process renames it while this editor is open.
    await other.saveHost({ ...loaded, name: 'renamed elsewhere' }, loaded);
    const err = await failure(store.saveHost({ ...loaded, port: 2222 }, loaded));
    expect(err.code).toBe('StoreConflict');
    expect(err.message).toMatch(/web was changed elsewhere .* your changes were not saved/);
    expect((await store.tree()).hosts[0]).toMatchObject({ name: 'renamed elsewhere', port: 22 });
    // Saving from the fresh copy works.
    const fresh = (await store.tree()).hosts[0]!;
    expect(await store.saveHost({ ...fresh, port: 2222 }, fresh)).toMatchObject({ name: 'renamed elsewhere', port: 2222 });
    await other.deleteHost('h1');
    expect((await failure(store.saveHost({ ...fresh, port: 2200 }, fresh))).message).toMatch(/was deleted elsewhere/);
    other.dispose();
  });

  it('a group edited from a stale copy is refused too', async () => {
    const g = await store.saveGroup({ name: 'G' });
    await store.saveGroup({ ...g, settings: { region: 'eu-west-1' } }, g);
    expect((await failure(store.saveGroup({ ...g, name: 'G2' }, g))).code).toBe('StoreConflict');
  });
});

describe('groups and inherited settings', () => {
  const groups: HostGroup[] = [
    { id: 'prod', name: 'Production', parentId: null, settings: { profile: 'prod', region: 'eu-west-1', osUser: 'ubuntu' }, notes: '' },
    { id: 'web', name: 'Web tier', parentId: 'prod', settings: { connectionType: 'eice', region: 'eu-central-1' }, notes: '' },
  ];
  const ec2: HostEntry = { kind: 'ec2', id: 'e1', name: 'web-a', groupId: 'web', tags: [], notes: '', favourite: false, instanceId: 'i-0123456789abcdef0', port: 22, portForwards: [], osUser: 'admin' };

  it('takes each value from the host, else the nearest group, else the default, and says which', () => {
    const eff = resolveSettings(ec2, ec2.groupId, groups);
    expect(eff.osUser).toEqual({ value: 'admin', from: { kind: 'host' } });
    expect(eff.region).toEqual({ value: 'eu-central-1', from: { kind: 'group', groupId: 'web', groupName: 'Web tier' } });
    expect(eff.profile).toEqual({ value: 'prod', from: { kind: 'group', groupId: 'prod', groupName: 'Production' } });
    expect(eff.connectionType.from).toEqual({ kind: 'group', groupId: 'web', groupName: 'Web tier' });
    const loose = resolveSettings({ ...ec2, groupId: null, osUser: undefined }, null, groups);
    expect(loose.osUser).toEqual({ value: 'ec2-user', from: { kind: 'default' } });
    expect(loose.region).toEqual({ value: undefined, from: { kind: 'unset' } });
  });

  it('a plain SSH host without a user connects as its group’s OS user', async () => {
    const g = await store.saveGroup({ name: 'Team', settings: { osUser: 'deploy' } });
    const h = await store.saveHost({ kind: 'ssh', name: 'box', host: '10.0.0.1', auth: { type: 'agent' }, groupId: g.id });
    expect(await store.get(h.id)).toMatchObject({ user: 'deploy', host: '10.0.0.1', port: 22 });
    // Out of the group it would have no user: the move is refused and says why.
    expect((await failure(store.moveHosts([h.id], null))).message).toMatch(/box: set a user here or an OS user on one of its groups/);
    expect((await failure(store.saveHost({ kind: 'ssh', name: 'nouser', host: 'x', auth: { type: 'agent' } }))).detail?.field).toBe('user');
  });

  it('refuses EICE on a port the endpoint does not allow, whether set on the host or inherited', async () => {
    const g = await store.saveGroup({ name: 'Private', settings: { connectionType: 'eice' } });
    const base = { kind: 'ec2', name: 'db', instanceId: 'i-0123456789abcdef0', port: 5432 } as const;
    expect((await failure(store.saveHost({ ...base, connectionType: 'eice' }))).message).toMatch(/ports 22 and 3389/);
    expect((await failure(store.saveHost({ ...base, groupId: g.id }))).message).toMatch(/ports 22 and 3389/);
    // An SSH forward goes through the SSH connection, so a database port is fine under EICE too.
    const ok = await store.saveHost({ ...base, port: 22, portForwards: [{ localPort: 15432, remotePort: 5432 }] });
    await store.moveHosts([ok.id], g.id);
    expect((await store.entry(ok.id)).groupId).toBe(g.id);
    await store.moveHosts([ok.id], null);
    // An endpoint tunnel forward reaches 22 and 3389 only, whatever the host's route.
    const tunnel = await failure(store.saveHost({ ...base, port: 22, portForwards: [{ kind: 'eice', localPort: 0, remotePort: 5432 }] }));
    expect(tunnel.detail?.field).toBe('portForwards.0.remotePort');
    expect(tunnel.message).toMatch(/ports 22 and 3389/);
    const rdp = await store.saveHost({ ...base, port: 3389, groupId: g.id });
    expect(rdp.groupId).toBe(g.id);
  });

  it('saved forwards have a kind (SSH when a file predates kinds) and may ask for any free local port (0)', async () => {
    // A hosts.json written before forwards had a kind: its forwards were SSH forwards.
    const ec2Old = { kind: 'ec2', id: 'h9', name: 'old-ec2', instanceId: 'i-0123456789abcdef0', portForwards: [{ localPort: 15432, remoteHost: 'db.internal', remotePort: 5432 }] };
    writeFileSync(file(), JSON.stringify({ version: 2, groups: [], hosts: [ec2Old] }));
    expect(await store.entry('h9')).toMatchObject({ portForwards: [{ kind: 'ssh', localPort: 15432, remoteHost: 'db.internal', remotePort: 5432 }] });
    const base = await store.entry('h9');
    if (base.kind !== 'ec2') throw new Error('expected the EC2 host');
    const saved = await store.saveHost({ ...base, portForwards: [...base.portForwards, { kind: 'eice', localPort: 0, remotePort: 3389 }] }, base);
    if (saved.kind !== 'ec2') throw new Error('expected the EC2 host');
    expect(saved.portForwards[1]).toEqual({ kind: 'eice', localPort: 0, remoteHost: 'localhost', remotePort: 3389 });
    // Written and read back as such.
    const onDisk = JSON.parse(readFileSync(file(), 'utf8')) as { hosts: Array<{ portForwards: unknown[] }> };
    expect(onDisk.hosts[0]!.portForwards).toEqual([
      { kind: 'ssh', localPort: 15432, remoteHost: 'db.internal', remotePort: 5432 },
      { kind: 'eice', localPort: 0, remoteHost: 'localhost', remotePort: 3389 },
    ]);
    expect((await failure(store.saveHost({ ...saved, portForwards: [{ kind: 'tcp' as 'ssh', localPort: 1, remotePort: 22 }] }, saved))).code).toBe('InvalidArguments');
  });

  it('records sessions when the host says so, else as the nearest group says, else not; files without the choice still load', async () => {
    // A hosts.json written before the choice existed reads as "not recorded".
    writeFileSync(file(), JSON.stringify({ version: 2, groups: [{ id: 'g1', name: 'Old', parentId: null, settings: {} }], hosts: [{ ...web, id: 'h0', groupId: 'g1' }] }));
    expect(await store.recordingChoice('h0')).toEqual({ record: false, name: 'web' });
    const top = await store.saveGroup({ name: 'Audited', settings: { recordSessions: true } });
    const sub = await store.saveGroup({ name: 'Sub', parentId: top.id });
    const inherits = await store.saveHost({ ...web, name: 'inherits', groupId: sub.id });
    const optsOut = await store.saveHost({ ...web, name: 'opts out', groupId: sub.id, recordSessions: false });
    const optsIn = await store.saveHost({ ...web, name: 'opts in', recordSessions: true });
    expect(await store.recordingChoice(inherits.id)).toEqual({ record: true, name: 'inherits' });
    expect(await store.recordingChoice(optsOut.id)).toEqual({ record: false, name: 'opts out' });
    expect(await store.recordingChoice(optsIn.id)).toEqual({ record: true, name: 'opts in' });
    expect(await store.recordingChoice('nope')).toBeUndefined();
    const tree = await store.tree();
    expect(resolveRecordSessions(inherits, sub.id, tree.groups).from).toEqual({ kind: 'group', groupId: top.id, groupName: 'Audited' });
    expect(resolveRecordSessions({}, null, tree.groups)).toEqual({ value: false, from: { kind: 'default' } });
    // The choice is kept on disk and survives a reload.
    expect(JSON.parse(readFileSync(file(), 'utf8')).groups.find((g: HostGroup) => g.id === top.id).settings).toEqual({ recordSessions: true });
    const again = new HostStore(dir);
    expect(await again.recordingChoice(inherits.id)).toEqual({ record: true, name: 'inherits' });
    again.dispose();
  });

  it('an EC2 host is not opened as a plain SSH session: the error says why', async () => {
    const h = await store.saveHost({ kind: 'ec2', name: 'i1', instanceId: 'i-0123456789abcdef0', port: 22 });
    const err = await failure(store.get(h.id));
    expect(err.code).toBe('HostNotConnectable');
    expect(err.message).toMatch(/EC2 instance \(i-0123456789abcdef0\)/);
  });

  it('refuses a group nested inside itself, and deleting a group keeps what was in it', async () => {
    const a = await store.saveGroup({ name: 'A' });
    const b = await store.saveGroup({ name: 'B', parentId: a.id });
    const c = await store.saveGroup({ name: 'C', parentId: b.id });
    expect((await failure(store.saveGroup({ ...a, parentId: c.id }))).message).toMatch(/inside itself/);
    const h = await store.saveHost({ ...web, groupId: b.id });
    await store.deleteGroup(b.id);
    const tree = await store.tree();
    expect(tree.hosts.find((x) => x.id === h.id)?.groupId).toBe(a.id);
    expect(tree.groups.find((x) => x.id === c.id)?.parentId).toBe(a.id);
  });
});

describe('recents, export and import', () => {
  it('keeps the most recent first, once each', async () => {
    const a = await store.saveHost(web);
    const b = await store.saveHost({ ...web, name: 'b' });
    await store.markUsed(a.id, 1);
    await store.markUsed(b.id, 2);
    await store.markUsed(a.id, 3);
    expect((await store.tree()).recents).toEqual([{ hostId: a.id, at: 3 }, { hostId: b.id, at: 2 }]);
    await store.deleteHost(a.id);
    expect((await store.tree()).recents).toEqual([{ hostId: b.id, at: 2 }]);
  });

  it('exports a group with its parents and hosts; importing it elsewhere twice gives the same store', async () => {
    const top = await store.saveGroup({ name: 'Top', settings: { region: 'eu-west-1' } });
    const sub = await store.saveGroup({ name: 'Sub', parentId: top.id });
    await store.saveHost({ ...web, groupId: sub.id });
    await store.saveHost({ ...web, name: 'outside' });
    const json = await store.exportJson({ groupIds: [sub.id] });
    const parsed = JSON.parse(json);
    expect(parsed.groups.map((g: HostGroup) => g.name).sort()).toEqual(['Sub', 'Top']);
    expect(parsed.hosts.map((h: HostEntry) => h.name)).toEqual(['web']);
    expect(json).not.toMatch(/passphrase|PRIVATE KEY/);

    const other = new HostStore(join(dir, 'other'));
    expect(await other.importJson(json)).toEqual({ added: 3, updated: 0, conflicts: [] });
    const once = readFileSync(join(dir, 'other', 'hosts.json'), 'utf8');
    expect(await other.importJson(json)).toEqual({ added: 0, updated: 0, conflicts: [] });
    expect(readFileSync(join(dir, 'other', 'hosts.json'), 'utf8')).toBe(once);
    other.dispose();
  });

  it('refuses an import that is not a Keyless export, saying what is wrong', async () => {
    expect((await failure(store.importJson('{"hosts": []}'))).message).toMatch(/format: .*expected a Keyless hosts export/);
    expect((await failure(store.importJson('nope'))).message).toMatch(/not valid JSON/);
    const bad = JSON.stringify({ format: 'keyless-hosts', version: 2, groups: [], hosts: [{ ...web, id: 'h1', groupId: 'missing' }] });
    expect((await failure(store.importJson(bad))).message).toMatch(/no group with the id missing/);
    expect(existsSync(file())).toBe(false);
  });
});

describe('edits made outside the app', () => {
  it('are noticed and reported', async () => {
    await store.saveHost({ ...web, id: 'h1' });
    let changes = 0;
    store.onDidChange(() => changes++);
    await new Promise((r) => setTimeout(r, 100));
    const doc = JSON.parse(readFileSync(file(), 'utf8'));
    doc.hosts[0].name = 'renamed by hand';
    await writeFile(file(), JSON.stringify(doc));
    await expect.poll(() => changes, { timeout: 3000 }).toBeGreaterThan(0);
    expect((await store.tree()).hosts[0]?.name).toBe('renamed by hand');
  });
});
