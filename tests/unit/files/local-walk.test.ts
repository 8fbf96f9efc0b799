import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { walkLocal } from '../../../electron/main/files/local-files';

const dir = mkdtempSync(join(tmpdir(), 'keyless-walk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('sending a folder follows its links that stay inside it, and never one that leads out (creds -> ~/.aws)', async () => {
  const secrets = join(dir, 'home', '.aws');
  mkdirSync(secrets, { recursive: true });
  writeFileSync(join(secrets, 'credentials'), '[default]\naws_secret_access_key = not-for-hosts\n');
  const proj = join(dir, 'home', 'proj');
  mkdirSync(join(proj, 'src'), { recursive: true });
  writeFileSync(join(proj, 'src', 'app.sh'), 'echo hi');
  writeFileSync(join(dir, 'home', 'outside.txt'), 'outside');
  symlinkSync(secrets, join(proj, 'creds'));
  symlinkSync(join(dir, 'home', 'outside.txt'), join(proj, 'notes.txt'));
  symlinkSync('src', join(proj, 'current'));
  symlinkSync('src/app.sh', join(proj, 'run.sh'));
  // The picked folder itself may be reached through a link: what counts is where it really is.
  symlinkSync(proj, join(dir, 'proj-link'));

  const tree = await walkLocal(Buffer.from(join(dir, 'proj-link')), Buffer.from('proj'), new AbortController().signal);
  const sent = tree.files.map((f) => f.parts.map((p) => p.toString()).join('/')).sort();
  expect(sent).toEqual(['proj/current/app.sh', 'proj/run.sh', 'proj/src/app.sh']);
  expect(tree.problems.map((p) => [p.detail?.path, p.detail?.reason]).sort()).toEqual([
    [join(dir, 'proj-link', 'creds'), 'symlinkOutside'],
    [join(dir, 'proj-link', 'notes.txt'), 'symlinkOutside'],
  ]);
});
