import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkRegularFile, FileRefusal, READ_LIMITS } from '../base/safe-read';

// The shared AWS config and credentials files: where the SDK and the AWS CLI find them, and the
// check made before the SDK is let read them.

/** The home folder as the SDK and the AWS CLI see it (HOME first, so tests can point it elsewhere). */
function awsHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || env.USERPROFILE || homedir();
}
/** A file named by AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE, with a leading `~/` taken from home as the SDK takes it. */
function awsFile(named: string | undefined, env: NodeJS.ProcessEnv, fallback: string): string {
  if (!named) return join(awsHome(env), '.aws', fallback);
  return named.startsWith('~/') ? join(awsHome(env), named.slice(2)) : named;
}
export const configFilePath = (env: NodeJS.ProcessEnv = process.env): string => awsFile(env.AWS_CONFIG_FILE, env, 'config');
export const credentialsFilePath = (env: NodeJS.ProcessEnv = process.env): string => awsFile(env.AWS_SHARED_CREDENTIALS_FILE, env, 'credentials');

/** Refuses `path` as Keyless refuses any file it reads (a FIFO, a device, …); other errors are the SDK's to meet. */
async function refuseOddFile(path: string, limit: number): Promise<void> {
  await checkRegularFile(path, limit).catch((err: unknown) => {
    if (err instanceof FileRefusal) throw err;
  });
}

/**
 * Both AWS files (and AWS_WEB_IDENTITY_TOKEN_FILE when set) checked as Keyless checks any file it
 * reads, before the SDK reads them: its plain readFile would wait on a FIFO for good, holding one
 * of the process's four file threads (a few such reads stall every file call of the backend), and
 * read a device such as /dev/zero until memory ran out. A FIFO, folder, device, socket or file over
 * the limit is refused (`FileRefused`, naming the file); a missing or unreadable file is left to
 * the SDK, which reads it as empty, as the AWS CLI does.
 */
export async function checkAwsFiles(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await Promise.all([
    refuseOddFile(configFilePath(env), READ_LIMITS.awsConfig),
    refuseOddFile(credentialsFilePath(env), READ_LIMITS.awsConfig),
    ...(env.AWS_WEB_IDENTITY_TOKEN_FILE ? [checkTokenFile(env.AWS_WEB_IDENTITY_TOKEN_FILE)] : []),
  ]);
}

/**
 * A token file (web identity, or an SSO sign-in's cache), checked before the SDK reads it. The SDK
 * reads a web identity token with readFileSync, so a FIFO there would stop the whole backend for
 * good, not one file thread.
 */
export function checkTokenFile(path: string): Promise<void> {
  return refuseOddFile(path, READ_LIMITS.tokenFile);
}
