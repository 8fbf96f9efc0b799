import type { ClientChannel } from 'ssh2';
import { KeylessFailure } from '../base/errors';
import type { SshConnection } from '../ssh/connection';
import { CappedOutput, OUTPUT_CAP_BYTES, type OutputBudget } from './output';

/**
 * What runs the command, as the login user or (with sudo) as root, its input the channel's: the
 * command in a process group of its own (setsid, where the host has it) with its input from
 * /dev/null, and beside it a watcher that waits for the channel's input to end. It ends when Keyless
 * stops the run (a cancel, the time limit) or the connection is gone, and the watcher then ends
 * the command's whole group, so nothing goes on running unseen (without a terminal, sshd signals
 * nobody when a channel closes; with sudo, only root can). Ends with the command's status.
 */
const RUNNER = [
  'command -v setsid >/dev/null 2>&1 && g=setsid || g=',
  '$g sh "$1" </dev/null & p=$!',
  // A command put in the background reads /dev/null unless told otherwise: the watcher is given the channel's input back.
  'exec 3<&0',
  '(while read -r _; do :; done; kill -TERM -$p || kill -TERM $p) <&3 >/dev/null 2>&1 & w=$!',
  // The runner's own words ("Terminated" for a stopped job) are not the command's output.
  'exec 3<&- 2>/dev/null',
  'wait $p; s=$?',
  'kill $w',
  'exit $s',
].join('; ');

/** Text for inside double quotes in a shell: `\`, `"`, `$` and backquote escaped. */
const inDoubleQuotes = (text: string) => text.replace(/[\\"$`]/g, (c) => `\\${c}`);

/**
 * What every run sends as its SSH command, the same bytes whatever the person wrote: a private
 * temporary file (umask 077, mktemp) receives the command or script, exactly `bytes` of the
 * channel's input, then RUNNER runs it (through `sudo -n` when asked) while the input stays open.
 * The file goes when the run ends, or is ended by a signal. The person's text never reaches a
 * command line, so nothing in it needs quoting. Written without single quotes so it fits in
 * `sh -c '…'` whatever the login shell is.
 */
export function runWrapper(sudo: boolean, bytes: number): string {
  const script = [
    'umask 077',
    'f=$(mktemp "${TMPDIR:-/tmp}/keyless-run.XXXXXXXX") || exit 125',
    'trap "rm -f \\"\\$f\\"" EXIT',
    'trap "rm -f \\"\\$f\\"; exit 143" TERM HUP INT',
    `head -c ${bytes} >"$f" || exit 125`,
    `[ "$(($(wc -c <"$f")))" = ${bytes} ] || exit 125`,
    // With sudo too the file stays owner-only: root reads it anyway, and the command may hold a password.
    `${sudo ? 'sudo -n ' : ''}sh -c "${inDoubleQuotes(RUNNER)}" sh "$f"`,
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

/** After the stop (the input's end), how long the command has to end before its channel is closed anyway. */
export const SIGNAL_GRACE_MS = 2000;

/**
 * Runs one command on a connection without a terminal. Past `timeoutMs`, or when `signal` aborts,
 * the channel's input ends, and RUNNER on the host ends the command's process group, so the
 * command stops there rather than running on unseen; the channel is closed after SIGNAL_GRACE_MS
 * in any case.
 */
export async function runRemote(
  ssh: SshConnection,
  job: { command: string; sudo: boolean },
  opts: { timeoutMs: number; signal: AbortSignal; onOutput?: () => void; budget?: OutputBudget },
): Promise<RemoteResult> {
  const stdout = new CappedOutput(OUTPUT_CAP_BYTES, opts.budget);
  const stderr = new CappedOutput(OUTPUT_CAP_BYTES, opts.budget);
  const script = Buffer.from(scriptText(job.command));
  const channel: ClientChannel = await ssh.exec(Buffer.from(runWrapper(job.sudo, script.length)));
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
      // The end of the input is what stops the command (RUNNER's watcher). No SSH signal request:
      // sshd sends it to the session's process group, which would end the watcher before it acts
      // and leave the command (in a group of its own) running.
      try {
        channel.end();
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
    // The input stays open while the command runs: its end means "stop" (see RUNNER).
    channel.write(script);
  });
}

/** The error a host reports when sudo -n refused to run the command. */
export function sudoRefused(host: string, line: string): KeylessFailure {
  return new KeylessFailure('SudoRefused', `sudo on ${host} would not run the command without a password (${line}). Allow it with NOPASSWD in sudoers, or run without sudo.`, false, { host, message: line, reason: 'command' });
}
