#!/usr/bin/env node
// The `keyless` command (the OpenSSH bridge): the main process's connect code on this Node, without
// Electron. It runs the bundle `npm run build` makes (out/bridge/keyless.mjs) when there is one, and
// the TypeScript sources through tsx otherwise (or with KEYLESS_FROM_SOURCE=1).
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's compiled code of the bundle is kept on disk (Node's cache folder under the temp dir): each
// ssh starts this command twice, so its start is on ssh's critical path. Code only, no data.
enableCompileCache?.();

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
