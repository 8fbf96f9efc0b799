// Bundles the `keyless` command (electron/main/bridge/keyless-main.ts and the main-process code it
// reuses) into out/bridge/keyless.mjs, so each ProxyCommand and KnownHostsCommand starts without
// transpiling TypeScript. Packages stay in node_modules (not bundled): the same ones the app loads.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'electron/main/bridge/keyless-main.ts')],
  outfile: join(root, 'out/bridge/keyless.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  logLevel: 'warning',
});
