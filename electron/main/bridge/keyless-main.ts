import { runCli } from './keyless-cli';

/**
 * The `keyless` command's process: stdin and stdout belong to OpenSSH (ProxyCommand), stderr to
 * the person. SIGHUP (OpenSSH exiting), SIGTERM and SIGINT end the proxy cleanly, so its agent
 * socket is removed.
 */
export async function main(argv: readonly string[], script: string): Promise<void> {
  const hangup = new Promise<void>((resolve) => {
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  // A closed pipe to OpenSSH is its business; the proxy ends through `hangup` or the stream's end.
  process.stdout.on('error', () => {});
  const code = await runCli(argv, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    command: { node: process.execPath, script },
    hangup,
  });
  process.exitCode = code;
  // Nothing may keep the process (a kept-alive HTTPS socket, the SDK's timers): done is done.
  process.stdout.write('', () => process.exit(code));
}

