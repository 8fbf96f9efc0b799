import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { HostStore } from '../../../electron/main/store/hosts';
import { JsonFile } from '../../../electron/main/store/json-file';
import { SettingsStore } from '../../../electron/main/store/settings';

const schema = z.object({ version: z.literal(1), names: z.array(z.string()) });
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function corruption(p: Promise<unknown>): Promise<KeylessFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KeylessFailure);
    expect((err as KeylessFailure).code).toBe('StoreCorrupt');
    return err as KeylessFailure;
  }
  throw new Error('expected StoreCorrupt');
}

describe('JsonFile', () => {
  it('a missing file reads as the fallback, and write then read round-trips', async () => {
    const f = new JsonFile(join(dir, 'a.json'), schema, () => ({ version: 1 as const, names: [] }));
    expect(await f.read()).toEqual({ version: 1, names: [] });
    await f.write({ version: 1, names: ['web'] });
    expect(await new JsonFile(join(dir, 'a.json'), schema, () => ({ version: 1 as const, names: [] })).read()).toEqual({ version: 1, names: ['web'] });
  });

  const cases: Array<[string, string, string | undefined]> = [
    ['malformed JSON', '{"version": 1, "names": [', undefined],
    ['a wrong type', '{"version": 1, "names": ["ok", 7]}', 'names.1'],
    ['a missing field', '{"version": 1}', 'names'],
    ['an empty file', '', undefined],
  ];
  it.each(cases)('%s: StoreCorrupt naming the file and field; the file is left as it was and writes are refused', async (_what, text, field) => {
    const path = join(dir, 'hosts.json');
    await writeFile(path, text);
    const f = new JsonFile(path, schema, () => ({ version: 1 as const, names: [] }));
    const err = await corruption(f.read());
    expect(err.message).toContain(path);
    expect(err.detail?.file).toBe(path);
    if (field) {
      expect(err.detail?.field).toBe(field);
      expect(err.message).toContain(field);
    }
    await corruption(f.write({ version: 1, names: ['would lose the old file'] }));
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('refuses to overwrite a corrupt file even when nothing read it first', async () => {
    const path = join(dir, 'x.json');
    await writeFile(path, '{"version": 2}');
    const f = new JsonFile(path, schema, () => ({ version: 1 as const, names: [] }));
    await corruption(f.write({ version: 1, names: [] }));
    expect(await readFile(path, 'utf8')).toBe('{"version": 2}');
  });

  it('writes again once the person fixed the file', async () => {
    const path = join(dir, 'y.json');
    await writeFile(path, 'nope');
    const f = new JsonFile(path, schema, () => ({ version: 1 as const, names: [] }));
    await corruption(f.read());
    await writeFile(path, '{"version": 1, "names": []}');
    expect(await f.read()).toEqual({ version: 1, names: [] });
    await f.write({ version: 1, names: ['a'] });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, names: ['a'] });
  });
});

describe('the stores on a corrupt file', () => {
  it('saving a host does not replace a hosts.json it cannot read', async () => {
    const path = join(dir, 'hosts.json');
    const text = '{"version":1,"hosts":[{"kind":"ssh","id":"h1","name":"x","host":"a b","port":22,"user":"u","auth":{"type":"agent"}}]}';
    await writeFile(path, text);
    const hosts = new HostStore(dir);
    const err = await corruption(hosts.save({ kind: 'ssh', name: 'n', host: 'h', port: 22, user: 'u', auth: { type: 'agent' } }));
    expect(err.detail?.field).toBe('hosts.0.host');
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('settings with a wrong language are reported, not reset', async () => {
    const path = join(dir, 'settings.json');
    await writeFile(path, '{"language": "klingon"}');
    const settings = new SettingsStore(dir);
    await corruption(settings.update({ language: 'en' }));
    expect(await readFile(path, 'utf8')).toBe('{"language": "klingon"}');
  });
});

describe('the saved hosts read ahead at start (warm)', () => {
  const doc = (name: string) => JSON.stringify({ version: 2, groups: [], hosts: [{ kind: 'ssh', id: 'h1', name, groupId: null, host: 'a', port: 22, user: 'u', auth: { type: 'agent' }, tags: [], notes: '', favourite: false }], recents: [], smartGroups: [] });

  it('the first read gets what was read ahead; a change made in between is not hidden', async () => {
    const path = join(dir, 'hosts.json');
    await writeFile(path, doc('before'));
    const hosts = new HostStore(dir);
    await hosts.file.warm();
    // Edited by hand (or another Keyless) after the read-ahead: the first read sees the edit.
    await writeFile(path, doc('after'));
    expect((await hosts.tree()).hosts.map((h) => h.name)).toEqual(['after']);

    const again = new HostStore(dir);
    await again.file.warm();
    expect((await again.tree()).hosts.map((h) => h.name)).toEqual(['after']);
    // A save goes through as usual and the next read has it.
    await again.save({ kind: 'ssh', name: 'new', host: 'b', port: 22, user: 'u', auth: { type: 'agent' } });
    expect((await again.tree()).hosts.map((h) => h.name).sort()).toEqual(['after', 'new']);
  });

  it('a file that cannot be read is still reported by the first read', async () => {
    await writeFile(join(dir, 'hosts.json'), '{"version": 2, "hosts": [');
    const hosts = new HostStore(dir);
    await hosts.file.warm();
    await corruption(hosts.tree());
  });
});
