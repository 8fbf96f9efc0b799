import { fileURLToPath } from 'node:url';
import { createLogger } from './base/log';
import { systemLocaleOf } from './base/system-locale';
import { createBackend, defaultHome } from './backend';
import { ContractServer } from './rpc/contract-server';
import { startHarness } from './web/harness-server';

/**
 * `npm run web`: the whole app in a browser. The same backend as the Electron app, served on
 * 127.0.0.1 with a per-run token; for end-to-end tests and machines without the Electron binary.
 */
async function main(): Promise<void> {
  const log = createLogger('web');
  const backend = await createBackend({
    home: defaultHome(),
    transport: 'web',
    version: process.env.npm_package_version ?? '0.0.0',
    systemLocale: systemLocaleOf(process.env),
    log,
    agentSocket: process.env.SSH_AUTH_SOCK,
  });
  const server = new ContractServer(backend.handlers, log);
  const port = process.env.KEYLESS_WEB_PORT ? Number(process.env.KEYLESS_WEB_PORT) : 0;
  const harness = await startHarness({ server, staticDir: fileURLToPath(new URL('../renderer', import.meta.url)), log, port });
  process.stdout.write(`Keyless is running at ${harness.url}\n(only this machine can reach it; the token in the address is new every run)\n`);
  // While the browser loads the page, the saved hosts are read and checked for its first call.
  backend.warm();
  const stop = () => {
    // The audit log's last lines (sessions ended by the stop) are written before the process goes.
    void Promise.all([backend.close(), harness.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`Keyless could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
