import { getCurrentFuseWire } from '@electron/fuses';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fusesByName, KEYLESS_FUSES, writeFakeElectronBinary } from '../../unit/build/fuse-binary';

const root = process.cwd();
const builtMissing = existsSync(join(root, 'out', 'main', 'app.js')) ? undefined : 'out/ is missing: run `npm run build` first';
if (builtMissing) console.warn(`skipping the packaging test: ${builtMissing}`);

const dir = mkdtempSync(join(tmpdir(), 'keyless-int-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An asar archive's table of contents: after a 16-byte header (Chromium pickles) whose last
 * 32-bit word is the JSON's length, the JSON itself (megabytes with the AWS SDK inside).
 */
function asarToc(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    const length = header.readUInt32LE(12);
    const toc = Buffer.alloc(length);
    return toc.subarray(0, readSync(fd, toc, 0, length, 16)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(builtMissing)('packaging with electron-builder (Linux, unpacked), from an Electron stand-in', () => {
  it('packs the app into app.asar only and leaves the fuses flipped in the executable', { timeout: 300_000 }, async () => {
    // The Electron binary cannot be fetched here: electron-builder copies this folder instead
    // (electronDist), renames `electron` to the app's executable, packs, and flips the fuses.
    const electronDist = join(dir, 'electron-dist');
    mkdirSync(electronDist);
    writeFakeElectronBinary(join(electronDist, 'electron'));
    writeFileSync(join(electronDist, 'LICENSE'), 'stand-in');
    writeFileSync(join(electronDist, 'version'), '45.5.0');
    const output = join(dir, 'dist');
    const cli = join(root, 'node_modules', 'electron-builder', 'cli.js');
    const args = ['--linux', 'dir', `--config.electronDist=${electronDist}`, `--config.directories.output=${output}`, '--config.npmRebuild=false'];
    await promisify(execFile)(process.execPath, [cli, ...args], { cwd: root, timeout: 280_000, maxBuffer: 64 * 1024 * 1024 });

    const app = join(output, 'linux-unpacked');
    expect(fusesByName(await getCurrentFuseWire(join(app, 'keyless')))).toEqual(KEYLESS_FUSES);
    // OnlyLoadAppFromAsar: the code is in app.asar (its table of contents names the entry and the
    // renderer), and there is no loose app folder beside it for the binary to fall back to.
    const asar = join(app, 'resources', 'app.asar');
    const toc = asarToc(asar);
    expect(toc).toContain('"package.json"');
    expect(toc).toMatch(/"main":\{"files":\{[^}]*"app\.js"/);
    expect(toc).toContain('"index.html"');
    expect(existsSync(join(app, 'resources', 'app'))).toBe(false);
  });
});
