#!/usr/bin/env node
// The `keyless` command (OpenSSH bridge): runs the main process's connect code on this Node,
// without Electron. From a checkout it runs the TypeScript through tsx.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/main/bridge/keyless-main.ts');
await main(process.argv.slice(2), fileURLToPath(import.meta.url));
