#!/usr/bin/env node
// The `keyless` command (the OpenSSH bridge): the main process's connect code on this Node, without
// Electron. It runs the bundle `npm run build` makes (out/bridge/keyless.mjs) when there is one, and
// the TypeScript sources through tsx otherwise (or with KEYLESS_FROM_SOURCE=1).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
