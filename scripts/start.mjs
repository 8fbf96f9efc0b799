#!/usr/bin/env node
// `npm start`: build, then run the Electron app. The Electron binary is not part of `npm install`
// (electron 45 fetches it on first launch); where it is missing and cannot be fetched, say so plainly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { warnIfNotPinnedNode } from './node-version.mjs';

warnIfNotPinnedNode();

const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));

function electronBinary() {
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const rel = readFileSync(pathFile, 'utf8').trim();
  const base = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(electronDir, 'dist');
  const full = join(base, rel);
  return existsSync(full) ? full : undefined;
}

let binary = electronBinary();
if (!binary) {
  process.stdout.write('The Electron binary is not installed yet; trying to fetch it (npx install-electron)…\n');
  spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: ['ignore', 'ignore', 'ignore'], timeout: 120_000 });
  binary = electronBinary();
}
if (!binary) {
  process.stderr.write(
    '\nKeyless cannot start as a desktop app here: the Electron runtime binary is missing from ' +
      'node_modules/electron/dist, and it could not be downloaded (this machine cannot reach the ' +
      'Electron release downloads). On a machine with internet access, run `npx install-electron` ' +
      '(or set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron 45 build) and then `npm start` ' +
      'again. Meanwhile `npm run web` runs the same app, with the same backend, in your browser ' +
      'on 127.0.0.1.\n\n',
  );
  process.exit(1);
}

const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const child = spawn(binary, ['.'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
