// Bundles the `keyless` command (electron/main/bridge/keyless-main.ts and the main-process code it
// reuses) into out/bridge/keyless.mjs, so each ProxyCommand and KnownHostsCommand starts without
// transpiling TypeScript. Split at dynamic imports: what only `keyless proxy` needs (ssh2, the
// tunnel) sits in a chunk of its own, so `keyless known-hosts` and `keyless hosts` neither load it
// nor the packages it imports.
//
// Each ssh starts this command twice on its critical path, so what a start loads is chosen here:
// - The small pure-JS packages every command loads (zod, the file-store helpers, the INI parser) are
//   bundled in: one file instead of a hundred-odd separately resolved and loaded modules (zod alone
//   is ~100 files, its locales included). The same versions as node_modules; CommonJS ones get the
//   `require`, `__filename` and `__dirname` they expect (the banner).
// - The big ones, loaded only when the proxy connects (ssh2 and its optional native parts, ws, the
//   AWS SDK), stay in node_modules as the app loads them.
// - The contract's modules are side-effect free (declarations and zod schemas; they import nothing
//   but zod), so esbuild leaves out the ones the bridge does not use: the channel map and the
//   schemas of the other domains are never built.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'out/bridge');
const contractDir = join(root, 'electron', 'contract') + sep;
const BUNDLED = /^(zod|write-file-atomic|proper-lockfile|@smithy\/shared-ini-file-loader)(\/|$)/;

/** @type {import('esbuild').Plugin} */
const startCost = {
  name: 'keyless-start-cost',
  setup(b) {
    // The project's imports of packages: external unless listed above. What a bundled package imports
    // is bundled too, resolved from that package as Node would (proper-lockfile has its own signal-exit).
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED.test(args.path) || args.path.startsWith('node:') || args.importer.includes(`${sep}node_modules${sep}`) ? undefined : { path: args.path, external: true },
    );
    b.onResolve({ filter: /contract/ }, async (args) => {
      if (args.pluginData === 'contract') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'contract' });
      return r.path.startsWith(contractDir) ? { ...r, sideEffects: false } : r;
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { keyless: join(root, 'electron/main/bridge/keyless-main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  plugins: [startCost],
  // What bundled CommonJS code expects of its module scope (write-file-atomic hashes __filename into its temporary names).
  banner: {
    js: [
      "import { createRequire as __keylessCreateRequire } from 'node:module';",
      "import { fileURLToPath as __keylessFileURLToPath } from 'node:url';",
      'const require = __keylessCreateRequire(import.meta.url);',
      'const __filename = __keylessFileURLToPath(import.meta.url);',
      "const __dirname = __keylessFileURLToPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  logLevel: 'warning',
  metafile: true,
});
// The packages the bundle leaves to node_modules: what the shipped command (scripts/pack-keyless-cli.mjs) must carry.
const externals = new Set();
for (const out of Object.values(result.metafile.outputs)) for (const i of out.imports) if (i.external && !isBuiltin(i.path)) externals.add(i.path);
writeFileSync(join(outdir, 'externals.json'), JSON.stringify([...externals].sort(), null, 2) + '\n');
