import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { NewSsoProfile } from '../../contract';
import { KeylessFailure } from '../base/errors';
import { READ_LIMITS, readRegularFile } from '../base/safe-read';
import { configFilePath } from '../aws/shared-files';
import { iniProblem, iniSection, refuse } from './ini-text';
import { readAwsFiles } from './profile-files';

/** The backup of the AWS config taken before Keyless changes it (the previous backup is replaced). */
export const backupPathOf = (configFile: string): string => `${configFile}.keyless-backup`;

/**
 * The start URL as the URL parser reads it. The raw text is refused when it holds a control
 * character first: the parser would silently drop a newline that the raw text would write.
 */
function normalisedStartUrl(raw: string): string {
  const problem = iniProblem('value', raw);
  if (problem) refuse('sso_start_url', problem);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    /* refused below */
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new KeylessFailure('InvalidArguments', 'The SSO start URL must be an https address such as https://my-org.awsapps.com/start.', false, { field: 'startUrl' });
  }
  return url.href;
}

/** The same start URL however it was written (case of the host, default port, escapes). */
function sameStartUrl(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return new URL(a).href === b;
  } catch {
    return false;
  }
}

/**
 * Refuses an sso-session name the config already gives another start URL or region: signing in to
 * it would replace that session's cached token (which the AWS CLI shares), and adding it would be
 * refused anyway. Refuses one whose section is there with no settings too (`headers`, see
 * sectionHeaders): adding it would make a second header.
 */
function refuseOtherSession(configFile: Record<string, Record<string, string | undefined>>, headers: Set<string>, session: string, startUrl: string, region: string): void {
  const key = `sso-session.${session}`;
  const existing = Object.hasOwn(configFile, key) ? configFile[key] : undefined;
  if (existing && (!sameStartUrl(existing.sso_start_url, startUrl) || existing.sso_region !== region)) {
    throw new KeylessFailure('AwsProfileExists', `The sso-session "${session}" already exists with another start URL or region; choose another session name.`, false, { profile: session });
  }
  if (!existing && headers.has(`sso-session ${session}`)) {
    throw new KeylessFailure('AwsProfileExists', `The sso-session "${session}" is in your AWS config with no settings; choose another session name.`, false, { profile: session });
  }
}

/**
 * The section headers of an AWS config as the AWS CLI's parser (Python's configparser) reads them:
 * what stands between the `[` that starts a line (after blanks) and the line's last `]`. The SDK's
 * parser leaves out a section with no settings; the CLI keeps it, and refuses the whole file
 * ("Unable to parse config file") when a second section has the same header.
 */
function sectionHeaders(text: string): Set<string> {
  const headers = new Set<string>();
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    const close = line.lastIndexOf(']');
    if (line.startsWith('[') && close > 1) headers.add(line.slice(1, close));
  }
  return headers;
}

/** The AWS config's bytes, checked to be a regular file; undefined when there is none. */
async function configBytes(file: string): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(file, READ_LIMITS.awsConfig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Before the sign-in of a new SSO profile's discovery: the session name must be free or the same session. */
export async function checkNewSession(session: string, startUrl: string, region: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const text = (await configBytes(configFilePath(env)))?.toString('utf8') ?? '';
  const { configFile } = await readAwsFiles(env);
  refuseOtherSession(configFile, sectionHeaders(text), session, normalisedStartUrl(startUrl), region);
}

/**
 * Adds an SSO profile (and its sso-session when the file has none of that name) to the end of the
 * AWS config, as `aws configure sso` does. Every existing byte stays as it was, comments included;
 * the old file is copied beside it first, and the new one replaces it atomically. An existing
 * profile of that name (a section with no settings too), or an sso-session of that name with other
 * settings or none, is refused rather than rewritten.
 */
export async function addSsoProfile(p: NewSsoProfile, env: NodeJS.ProcessEnv = process.env): Promise<{ configFile: string; backupFile: string | null }> {
  const startUrl = normalisedStartUrl(p.startUrl);
  const file = configFilePath(env);
  // Read (and checked to be a regular file) before the SDK's parser reads it.
  const before = await configBytes(file);
  const { configFile, credentialsFile } = await readAwsFiles(env);
  const header = p.profile === 'default' ? 'default' : `profile ${p.profile}`;
  const headers = sectionHeaders(before?.toString('utf8') ?? '');
  // Own keys only: `constructor` or `toString` is a name like any other, not a method of the parsed
  // object. A section of that name with no settings is still a profile to the AWS CLI.
  if (Object.hasOwn(configFile, p.profile) || Object.hasOwn(credentialsFile, p.profile) || headers.has(header) || (p.profile === 'default' && headers.has('profile default'))) {
    throw new KeylessFailure('AwsProfileExists', `A profile named "${p.profile}" already exists in your AWS config; choose another name.`, false, { profile: p.profile });
  }
  refuseOtherSession(configFile, headers, p.session, startUrl, p.ssoRegion);
  const existing = Object.hasOwn(configFile, `sso-session.${p.session}`);
  const mode = before ? (await stat(file)).mode & 0o777 : 0o600;
  let text = iniSection(header, [
    ['sso_session', p.session],
    ['sso_account_id', p.accountId],
    ['sso_role_name', p.roleName],
    ['region', p.region],
    ['output', p.output],
  ]);
  if (!existing) {
    text +=
      '\n' +
      iniSection(`sso-session ${p.session}`, [
        ['sso_start_url', startUrl],
        ['sso_region', p.ssoRegion],
        ['sso_registration_scopes', 'sso:account:access'],
      ]);
  }
  // Appended after a blank line, and after a newline the file may lack at its end.
  let prefix = '';
  if (before && before.length > 0) {
    const eol = before.includes('\r\n') ? '\r\n' : '\n';
    if (eol === '\r\n') text = text.replace(/\n/g, '\r\n');
    prefix = before.subarray(-eol.length).toString() === eol ? eol : eol + eol;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let backupFile: string | null = null;
  if (before) {
    backupFile = backupPathOf(file);
    await copyFile(file, backupFile);
  }
  await writeFileAtomic(file, Buffer.concat([before ?? Buffer.alloc(0), Buffer.from(prefix + text)]), { mode });
  return { configFile: file, backupFile };
}
