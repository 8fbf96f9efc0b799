#!/usr/bin/env node
// The `keyless` command (the OpenSSH bridge): the main process's connect code on this Node, without
// Electron. It runs the bundle `npm run build` makes (out/bridge/keyless.mjs) when there is one, and
// the TypeScript sources through tsx otherwise (or with KEYLESS_FROM_SOURCE=1).
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The person's own cache folder for V8's compiled code, owner-only: Node's default is under the
 * shared temp folder, where another user could leave compiled code first (Node checks an entry
 * against the source, not who wrote it). Undefined (no cache) when it cannot be made safely.
 */
function ownCompileCacheDir() {
  const base =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'darwin'
      ? join(homedir(), 'Library', 'Caches')
      : process.platform === 'win32'
        ? process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local')
        : join(homedir(), '.cache'));
  const dir = join(base, 'keyless', 'compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const mine = process.getuid === undefined || st.uid === process.getuid();
    if (!st.isDirectory() || !mine || (process.platform !== 'win32' && (st.mode & 0o077) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

// V8's compiled code of the bundle is kept on disk: each ssh starts this command, so its start is
// on ssh's critical path. Code only, no data.
const cacheDir = ownCompileCacheDir();
if (cacheDir) enableCompileCache?.(cacheDir);

const script = fileURLToPath(import.meta.url);
const bundle = new URL('../out/bridge/keyless.mjs', import.meta.url);
let main;
if (!process.env.KEYLESS_FROM_SOURCE && existsSync(bundle)) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../electron/main/bridge/keyless-main.ts'));
}
await main(process.argv.slice(2), script);
