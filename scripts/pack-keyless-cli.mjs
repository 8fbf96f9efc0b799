// The `keyless` command as it ships beside the packaged app (electron-builder's extraResources put
// this folder at <resources>/keyless): the bridge bundle `npm run build` made (out/bridge), a
// launcher, and the packages the bundle leaves to node_modules (out/bridge/externals.json) with
// everything they depend on, copied from this checkout's node_modules. The app's own node_modules
// sit inside app.asar, which plain Node cannot read, and the app binary may not run as Node (its
// fuses forbid it), so the command carries its packages and runs on the Node on PATH.
//
//   node scripts/pack-keyless-cli.mjs [--out <dir>]   (default out/keyless-cli)
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(root, 'out', 'keyless-cli');
const bridge = join(root, 'out', 'bridge');
if (!existsSync(join(bridge, 'externals.json'))) {
  process.stderr.write('out/bridge is missing: run `npm run build` first.\n');
  process.exit(1);
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

// Node's resolution from one package folder: its own node_modules (copied with it), then each
// enclosing node_modules up to the checkout's. Only top-level packages are copied on their own.
const top = join(root, 'node_modules');
const copied = new Set();
function locate(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${sep}node_modules`)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
    }
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'node_modules'), { recursive: true });
const pending = [...new Set(readJson(join(bridge, 'externals.json')).map(packageOf))].map((name) => ({ name, from: root }));
while (pending.length) {
  const { name, from } = pending.pop();
  const dir = locate(name, from);
  if (!dir) continue; // an optional or peer dependency not installed here
  if (copied.has(dir)) continue;
  copied.add(dir);
  const rel = dir.slice(top.length + 1);
  if (dir.startsWith(top + sep) && !rel.includes(`${sep}node_modules${sep}`)) {
    cpSync(dir, join(out, 'node_modules', rel), { recursive: true });
  }
  const pkg = readJson(join(dir, 'package.json'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) pending.push({ name: dep, from: dir });
}
cpSync(bridge, join(out, 'bridge'), { recursive: true });
writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'keyless-cli', private: true, type: 'module', version: readJson(join(root, 'package.json')).version }, null, 2) + '\n');
writeFileSync(
  join(out, 'keyless.mjs'),
  `#!/usr/bin/env node
// The \`keyless\` command shipped beside the Keyless app (scripts/pack-keyless-cli.mjs): the OpenSSH
// bridge on the Node on PATH. Its ProxyCommand and KnownHostsCommand lines name this file.
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
enableCompileCache?.();
const { main } = await import('./bridge/keyless.mjs');
await main(process.argv.slice(2), fileURLToPath(import.meta.url));
`,
  { mode: 0o755 },
);
writeFileSync(join(out, 'keyless'), '#!/bin/sh\n# The `keyless` command shipped beside the Keyless app; it runs on the Node on PATH.\nexec node "$(dirname "$0")/keyless.mjs" "$@"\n', { mode: 0o755 });
writeFileSync(join(out, 'keyless.cmd'), '@echo off\r\nrem The `keyless` command shipped beside the Keyless app; it runs on the Node on PATH.\r\nnode "%~dp0keyless.mjs" %*\r\n');
process.stdout.write(`keyless command packed in ${out} (${copied.size} packages)\n`);
