// Bundles the `keyless` command (electron/main/bridge/keyless-main.ts and the main-process code it
// reuses) into out/bridge/keyless.mjs, so each ProxyCommand and KnownHostsCommand starts without
// transpiling TypeScript. Packages stay in node_modules (not bundled): the same ones the app loads.
// Split at dynamic imports: what only `keyless proxy` needs (ssh2, the tunnel) sits in a chunk of
// its own, so `keyless known-hosts` and `keyless hosts` neither load it nor the packages it imports.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'out/bridge');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { keyless: join(root, 'electron/main/bridge/keyless-main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  logLevel: 'warning',
});
