// Files to many hosts take a local path typed in the renderer: a page that went wrong must not be
// able to send the person's keys and credentials (hidden folders, the home folder) to hosts.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseSecretPlaces } from '../../../electron/main/fleet/fleet-upload';

let dir = '';
let home = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-places-'));
  home = join(dir, 'home', 'me');
  await mkdir(join(home, '.aws'), { recursive: true });
  await writeFile(join(home, '.aws', 'credentials'), '[default]\n');
  await mkdir(join(home, 'scripts'));
  await writeFile(join(home, 'scripts', 'deploy.sh'), 'echo hi\n');
  await symlink(join(home, '.aws', 'credentials'), join(home, 'scripts', 'innocent.txt'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const refusal = (path: string) => refuseSecretPlaces(path, home).then(() => undefined, (e: { code?: string; detail?: { reason?: string } }) => `${e.code}:${e.detail?.reason}`);

describe('what files to many hosts will not send', () => {
  it('sends an ordinary file or folder', async () => {
    expect(await refusal(join(home, 'scripts', 'deploy.sh'))).toBeUndefined();
    expect(await refusal(join(home, 'scripts'))).toBeUndefined();
  });
  it('refuses a hidden folder, a file inside one, and a link that leads into one', async () => {
    expect(await refusal(join(home, '.aws'))).toBe('FileRefused:hidden');
    expect(await refusal(join(home, '.aws', 'credentials'))).toBe('FileRefused:hidden');
    expect(await refusal(join(home, 'scripts', 'innocent.txt'))).toBe('FileRefused:hidden');
  });
  it('refuses the home folder and every folder holding it', async () => {
    expect(await refusal(home)).toBe('FileRefused:holdsHome');
    expect(await refusal(join(dir, 'home'))).toBe('FileRefused:holdsHome');
    expect(await refusal('/')).toBe('FileRefused:holdsHome');
  });
});
