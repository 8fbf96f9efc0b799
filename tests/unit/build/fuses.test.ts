import { getCurrentFuseWire } from '@electron/fuses';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinuxPackager } from 'electron-builder';
import { afterAll, describe, expect, it } from 'vitest';
import { fusesByName, KEYLESS_FUSES, writeFakeElectronBinary } from './fuse-binary';

const dir = mkdtempSync(join(tmpdir(), 'keyless-unit-fuses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { build: Record<string, unknown> }).build;

describe('Electron fuses in the packaged app', () => {
  it('the build config packs the app into app.asar and sets every fuse @electron/fuses knows', () => {
    expect(build['asar']).toBe(true);
    expect(build['electronFuses']).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("electron-builder's own fuse step, given this config, flips them in a binary: no running as Node, no NODE_OPTIONS or --inspect, only the checked app.asar", async () => {
    const appOutDir = join(dir, 'linux-unpacked');
    const binary = join(appOutDir, 'keyless');
    mkdirSync(appOutDir);
    writeFakeElectronBinary(binary);
    expect(fusesByName(await getCurrentFuseWire(binary))).toMatchObject({ RunAsNode: 'on', OnlyLoadAppFromAsar: 'off' });

    // The step electron-builder runs after packing and before signing (PlatformPackager.doAddElectronFuses),
    // on a Linux packager that holds nothing but this config and the executable's name.
    const packager = Object.create(LinuxPackager.prototype) as LinuxPackager & { doAddElectronFuses(ctx: unknown): Promise<void> };
    Object.defineProperty(packager, 'config', { value: build });
    Object.defineProperty(packager, 'executableName', { value: 'keyless' });
    await packager.doAddElectronFuses({ appOutDir, electronPlatformName: 'linux', packager });

    expect(fusesByName(await getCurrentFuseWire(binary))).toEqual(KEYLESS_FUSES);
  });
});
