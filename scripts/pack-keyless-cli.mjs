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
const skipped = new Set();
const pending = [...new Set(readJson(join(bridge, 'externals.json')).map(packageOf))].map((name) => ({ name, from: root }));
while (pending.length) {
  const { name, from } = pending.pop();
  const dir = locate(name, from);
  if (!dir) {
    skipped.add(name); // an optional or peer dependency not installed here
    continue;
  }
  if (copied.has(dir)) continue;
  copied.add(dir);
  const rel = dir.slice(top.length + 1);
  if (dir.startsWith(top + sep) && !rel.includes(`${sep}node_modules${sep}`)) {
    cpSync(dir, join(out, 'node_modules', rel), { recursive: true });
  }
  const pkg = readJson(join(dir, 'package.json'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) pending.push({ name: dep, from: dir });
}
// A dependency left out would be looked for at run time in every folder above this one (and in
// NODE_PATH), where anybody may have put a package of that name. Only the ones checked to be
// unneeded may be missing, and each gets a stub here that refuses to load, so the search stops.
const MAY_BE_MISSING = new Set([
  'utf-8-validate', // ws's optional peer: Node ≥ 18.14 has buffer.isUtf8, which ws uses instead
  'kerberos', // proxy-agent-negotiate's optional peer, for Negotiate (Kerberos) proxy sign-in only: the app does without it too
]);
const unexpected = [...skipped].filter((n) => !MAY_BE_MISSING.has(n));
if (unexpected.length) {
  process.stderr.write(`Not installed, so not packed (install them, or list them in MAY_BE_MISSING once checked unused): ${unexpected.join(', ')}\n`);
  process.exit(1);
}
for (const name of skipped) {
  const stub = join(out, 'node_modules', name);
  mkdirSync(stub, { recursive: true });
  writeFileSync(join(stub, 'package.json'), JSON.stringify({ name, version: '0.0.0-not-shipped', main: 'index.js' }, null, 2) + '\n');
  writeFileSync(join(stub, 'index.js'), `throw new Error(${JSON.stringify(`${name} is not shipped with the keyless command`)});\n`);
}
// The checkout's own layout: bin/keyless.mjs runs ../out/bridge/keyless.mjs.
cpSync(bridge, join(out, 'out', 'bridge'), { recursive: true });
mkdirSync(join(out, 'bin'));
cpSync(join(root, 'bin', 'keyless.mjs'), join(out, 'bin', 'keyless.mjs'));
writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'keyless-cli', private: true, type: 'module', version: readJson(join(root, 'package.json')).version }, null, 2) + '\n');
writeFileSync(join(out, 'keyless'), '#!/bin/sh\n# The `keyless` command shipped beside the Keyless app; it runs on the Node on PATH.\nexec node "$(dirname "$0")/bin/keyless.mjs" "$@"\n', { mode: 0o755 });
writeFileSync(join(out, 'keyless.cmd'), '@echo off\r\nrem The `keyless` command shipped beside the Keyless app; it runs on the Node on PATH.\r\nnode "%~dp0bin\\keyless.mjs" %*\r\n');
process.stdout.write(`keyless command packed in ${out} (${copied.size} packages)\n`);
