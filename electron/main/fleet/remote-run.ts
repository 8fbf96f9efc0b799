import type { ClientChannel } from 'ssh2';
import { KeylessFailure } from '../base/errors';
import type { SshConnection } from '../ssh/connection';
import { CappedOutput } from './output';

/**
 * What every run sends as its SSH command, the same bytes whatever the person wrote: a private
 * temporary file (umask 077, mktemp) receives the command or script on the channel's input up to
 * its end, then runs with its input from /dev/null, so a command that reads its input cannot
 * swallow the lines after it. The file goes when the run ends, or is ended by a signal. The
 * person's text never reaches a command line, so nothing in it needs quoting. Written without
 * single quotes so it fits in `sh -c '…'` whatever the login shell is.
 */
export function runWrapper(sudo: boolean): string {
  const run = sudo ? 'sudo -n sh "$f" </dev/null' : 'sh "$f" </dev/null';
  const script = [
    'umask 077',
    'f=$(mktemp "${TMPDIR:-/tmp}/keyless-run.XXXXXXXX") || exit 125',
    'trap "rm -f \\"\\$f\\"" EXIT',
    'trap "rm -f \\"\\$f\\"; exit 143" TERM HUP INT',
    'cat >"$f" || exit 125',
    // With sudo too the file stays owner-only: root reads it anyway, and the command may hold a password.
    run,
  ].join('; ');
  return `sh -c '${script}'`;
}

/** The command as a host's shell should read it: LF line endings, a final newline. */
export function scriptText(command: string): string {
  const lf = command.replace(/\r\n?/g, '\n');
  return lf.endsWith('\n') ? lf : lf + '\n';
}

/** sudo -n's own refusals (a password would be asked, the user may not, a terminal is required). */
const SUDO_REFUSAL = /^sudo: (?:a password is required|a terminal is required|sorry, you must have a tty|.* is not in the sudoers file|.* is not allowed to run sudo|.*may not run sudo)/m;

/** Whether a run with sudo ended because sudo would not run it without asking. */
export function sudoRefusal(exitCode: number | null, stderr: string): string | undefined {
  if (exitCode !== 1) return undefined;
  return SUDO_REFUSAL.exec(stderr)?.[0];
}

export interface RemoteResult {
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  cancelled: boolean;
  stdout: CappedOutput;
  stderr: CappedOutput;
}

/** After the SSH signal, how long the command has to end before its channel is closed anyway. */
export const SIGNAL_GRACE_MS = 2000;

/**
 * Runs one command on a connection without a terminal. Past `timeoutMs`, or when `signal` aborts,
 * the SSH `signal` request (TERM) goes first, so sshd signals the remote process group and the
 * command stops on the host rather than running on unseen, then the channel is closed.
 */
export async function runRemote(
  ssh: SshConnection,
  job: { command: string; sudo: boolean },
  opts: { timeoutMs: number; signal: AbortSignal; onOutput?: () => void },
): Promise<RemoteResult> {
  const stdout = new CappedOutput();
  const stderr = new CappedOutput();
  const channel: ClientChannel = await ssh.exec(Buffer.from(runWrapper(job.sudo)));
  return new Promise<RemoteResult>((resolve) => {
    let exitCode: number | null = null;
    let exitSignal: string | undefined;
    let timedOut = false;
    let cancelled = false;
    let grace: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'cancel') => {
      if (timedOut || cancelled) return;
      if (why === 'timeout') timedOut = true;
      else cancelled = true;
      try {
        channel.signal('TERM');
      } catch {
        /* the channel is already closing */
      }
      grace = setTimeout(() => channel.close(), SIGNAL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onAbort = () => stop('cancel');
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    channel.on('data', (d: Buffer) => {
      stdout.push(d);
      opts.onOutput?.();
    });
    channel.stderr.on('data', (d: Buffer) => {
      stderr.push(d);
      opts.onOutput?.();
    });
    channel.on('exit', (code: number | null, sig?: string) => {
      if (typeof code === 'number') exitCode = code;
      if (sig) exitSignal = sig;
    });
    channel.once('close', () => {
      clearTimeout(timer);
      clearTimeout(grace);
      opts.signal.removeEventListener('abort', onAbort);
      resolve({ exitCode, ...(exitSignal ? { signal: exitSignal } : {}), timedOut, cancelled, stdout, stderr });
    });
    channel.end(Buffer.from(scriptText(job.command)));
  });
}

/** The error a host reports when sudo -n refused to run the command. */
export function sudoRefused(host: string, line: string): KeylessFailure {
  return new KeylessFailure('SudoRefused', `sudo on ${host} would not run the command without a password (${line}). Allow it with NOPASSWD in sudoers, or run without sudo.`, false, { host, message: line, reason: 'command' });
}
