import { exec, type ExecException } from 'node:child_process';
import type { AwsCredentialIdentity } from '@smithy/types';
import { z } from 'zod';
import { KeylessFailure } from '../base/errors';

/** What of a failing process's error output a person is shown (and the log keeps). */
export const STDERR_SHOWN_CHARS = 200;

/**
 * The first line of a program's error output that has anything on it, with control characters
 * (terminal escapes included) removed and at most STDERR_SHOWN_CHARS long. The rest is never
 * shown or logged: credential helpers print tokens, URLs with codes and environment dumps there.
 */
export function firstErrorLine(stderr: string): string {
  const line =
    stderr
      .split(/\r\n|[\n\r\u2028\u2029\u0085]/)
      .map((l) =>
        l
          // A terminal's colour and cursor sequences (ESC [ … final byte) go whole, then any control left.
          .replace(/\p{Cc}\[[0-?]*[ -/]*[@-~]/gu, '')
          .replace(/[\p{Cc}]/gu, '')
          .trim(),
      )
      .find((l) => l !== '') ?? '';
  return line.length > STDERR_SHOWN_CHARS ? line.slice(0, STDERR_SHOWN_CHARS - 1) + '…' : line;
}

function processFailure(profile: string, exitStatus: string | null, stderr: string): KeylessFailure {
  const line = firstErrorLine(stderr);
  const status = exitStatus === null ? '' : ` with exit status ${exitStatus}`;
  return new KeylessFailure(
    'AwsCredentialsMissing',
    `The credential_process of profile "${profile}" failed${status}${line ? `: ${line}` : ' and printed no error'}.`,
    false,
    {
      profile,
      // The words differ by what is known: a status (own process), none (a source profile's, run by the SDK), no output.
      step: exitStatus === null ? 'credentialProcessSource' : line ? 'credentialProcess' : 'credentialProcessSilent',
      exitStatus,
      stderr: line,
    },
  );
}

/**
 * The SDK's failure of a credential_process it ran itself (a role's source profile): its message
 * is Node's "Command failed: <the command line>\n<all of stderr>", with the exit status lost.
 * Undefined for any other error.
 */
export function sdkProcessFailure(message: string, profile: string): KeylessFailure | undefined {
  if (!message.startsWith('Command failed: ')) return undefined;
  const eol = message.indexOf('\n');
  return processFailure(profile, null, eol < 0 ? '' : message.slice(eol + 1));
}

/**
 * How long a credential_process may run: long enough for a helper that opens a browser to sign in
 * and waits for the person, not forever (a hung helper held every call for its profile).
 */
export const CREDENTIAL_PROCESS_TIMEOUT_MS = 120_000;

/** The output the AWS CLI and SDKs accept from a credential_process (Version 1). */
const processOutputSchema = z.object({
  Version: z.literal(1),
  AccessKeyId: z.string().min(1),
  SecretAccessKey: z.string().min(1),
  SessionToken: z.string().optional(),
  // Any date Date.parse reads, as the SDK's provider accepts.
  Expiration: z.string().refine((s) => !Number.isNaN(Date.parse(s))).optional(),
  AccountId: z.string().optional(),
});

/**
 * Runs a profile's own credential_process the way the SDK's provider does (the command line
 * through the shell, the environment inherited), but keeps what the SDK loses: its exit status. The
 * SDK's error carries the command line and all of stderr instead, which reached the renderer and
 * the log. Its output is a secret: it is only parsed, never quoted.
 */
export function runCredentialProcess(profile: string, command: string, accountIdFromProfile?: string, timeoutMs = CREDENTIAL_PROCESS_TIMEOUT_MS): Promise<AwsCredentialIdentity> {
  return new Promise((resolve, reject) => {
    const child = exec(command, { windowsHide: true, maxBuffer: 1 << 20, timeout: timeoutMs }, (err: ExecException | null, stdout: string, stderr: string) => {
      if (err?.killed) {
        const seconds = Math.round(timeoutMs / 1000);
        reject(new KeylessFailure('AwsCredentialsMissing', `The credential_process of profile "${profile}" did not finish within ${seconds} s and was stopped.`, true, { profile, step: 'credentialProcessTimeout', seconds }));
        return;
      }
      if (err) {
        const status = typeof err.code === 'number' ? String(err.code) : (err.signal ?? (typeof err.code === 'string' ? err.code : 'unknown'));
        reject(processFailure(profile, status, stderr));
        return;
      }
      let parsed: z.infer<typeof processOutputSchema> | undefined;
      try {
        parsed = processOutputSchema.parse(JSON.parse(stdout.trim()));
      } catch {
        parsed = undefined;
      }
      const expiration = parsed?.Expiration ? new Date(parsed.Expiration) : undefined;
      if (!parsed || (expiration && expiration.getTime() <= Date.now())) {
        reject(
          new KeylessFailure(
            'AwsCredentialsMissing',
            `The credential_process of profile "${profile}" did not print usable credentials: JSON with "Version": 1, AccessKeyId and SecretAccessKey, and an Expiration still in the future.`,
            false,
            { profile, step: 'credentialProcessOutput' },
          ),
        );
        return;
      }
      const accountId = parsed.AccountId ?? accountIdFromProfile;
      resolve({
        accessKeyId: parsed.AccessKeyId,
        secretAccessKey: parsed.SecretAccessKey,
        ...(parsed.SessionToken ? { sessionToken: parsed.SessionToken } : {}),
        ...(expiration ? { expiration } : {}),
        ...(accountId ? { accountId } : {}),
      });
    });
    // Nobody can type into it here: a helper that reads its input (an MFA code) gets its end at
    // once rather than waiting for good, with every call for the profile waiting behind it.
    child.stdin?.end();
  });
}
