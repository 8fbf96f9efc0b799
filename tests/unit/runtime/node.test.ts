import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nodeVersionWarning, pinnedNodeVersion } from '../../../scripts/node-version.mjs';

/**
 * The app runs on the Node that Electron embeds, so the backend, the harness and these tests run
 * on that Node's major too (.node-version; `.ci/run` installs it from the npm registry).
 */
const root = new URL('../../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const major = (version: string) => version.replace(/^[v^~>=\s]+/, '').split('.')[0];
const require = createRequire(import.meta.url);

describe('the Node Keyless runs on', () => {
  it('is the major Electron embeds, and the tests run on it', () => {
    // Electron's own package types its Node API with @types/node of the Node it embeds.
    const electron = JSON.parse(read('node_modules/electron/package.json')) as { version: string; dependencies: Record<string, string> };
    expect(major(electron.dependencies['@types/node']!), `electron ${electron.version} embeds Node ${electron.dependencies['@types/node']}`).toBe(major(pinnedNodeVersion));
    expect(
      major(process.versions.node),
      `these tests run on Node ${process.versions.node}, not on the pinned Node ${pinnedNodeVersion}: ` +
        'export PATH="$(bash scripts/pinned-node.sh):$PATH", then npm ci (as .ci/run does)',
    ).toBe(major(pinnedNodeVersion));
  });

  it('is named the same way everywhere a person or a tool looks', () => {
    expect(pinnedNodeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(read('.nvmrc').trim()).toBe(pinnedNodeVersion);
    const engines = `^${pinnedNodeVersion}`;
    expect((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node).toBe(engines);
    expect((JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node: string } }> }).packages['']!.engines!.node).toBe(engines);
    expect(read('README.md').includes(`Node ${pinnedNodeVersion}`), `README names Node ${pinnedNodeVersion}`).toBe(true);
    // The types the code is checked against are the pinned major's, not an older Node's.
    expect(major((JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!)).toBe(major(pinnedNodeVersion));
  });

  it('start, web and bench warn on another major, and say how to get the pinned one', () => {
    const warning = nodeVersionWarning('v20.20.2');
    expect(warning).toContain('Node 20.20.2');
    expect(warning).toContain(`Node ${pinnedNodeVersion}`);
    expect(warning).toContain('scripts/pinned-node.sh');
    expect(nodeVersionWarning(`${major(pinnedNodeVersion)}.0.0`)).toBeUndefined();
    // `npm run web` runs this first: it warns on another major, never stops the harness.
    const check = spawnSync(process.execPath, ['scripts/check-node.mjs'], { cwd: root, encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stderr).toBe(nodeVersionWarning() ?? '');
  });
});

describe('native parts built for this Node', () => {
  // ssh2 runs without them (in JavaScript, slower), so a failed build is silent at install time:
  // this is where it shows, with the reason.
  const loadError = (path: string): string | undefined => {
    try {
      require(path);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  };

  it("ssh2's crypto binding (ChaCha20-Poly1305, AES-GCM) loads and ssh2 uses it", () => {
    const binary = require.resolve('ssh2/package.json').replace(/package\.json$/, 'lib/protocol/crypto/build/Release/sshcrypto.node');
    const why = existsSync(binary)
      ? loadError(binary)
      : 'it was not built: npm ci ran node-gyp without a compiler (make, g++, python3) or without Node headers (npm_config_nodedir)';
    expect(why, `ssh2's crypto binding does not load on Node ${process.versions.node}`).toBeUndefined();
    expect((require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable).toBe(true);
  });

  it('cpu-features (ssh2 uses it to order its ciphers) loads and reads this CPU', () => {
    const why = loadError('cpu-features');
    expect(why, `cpu-features does not load on Node ${process.versions.node}`).toBeUndefined();
    const info = (require('cpu-features') as () => { arch: string; flags: Record<string, boolean> })();
    expect(info.arch).toBeTruthy();
    expect(Object.keys(info.flags).length).toBeGreaterThan(0);
  });
});
