import { CONFIG_PREFIX_SEPARATOR as SEP, getSSOTokenFilepath, loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';
import type { ParsedIniData, Profile } from '@smithy/types';
import { checkAwsFiles, configFilePath, credentialsFilePath } from '../aws/shared-files';
import type { ProfileKind, ProfileList, ProfileSummary, SsoSessionSummary } from '../../contract';

/** Both files, parsed by the SDK's own loader (re-read from disk: the person may have just edited them). */
export interface AwsFiles {
  configFile: ParsedIniData;
  credentialsFile: ParsedIniData;
}
export async function readAwsFiles(env: NodeJS.ProcessEnv = process.env): Promise<AwsFiles> {
  await checkAwsFiles(env);
  return loadSharedConfigFiles({ filepath: credentialsFilePath(env), configFilepath: configFilePath(env), ignoreCache: true });
}

const s = (v: string | undefined) => (v === undefined || v === '' ? null : v);

/** The kind `fromIni` would resolve, tested in its own order (resolveProfileData). */
export function profileKind(p: Profile): ProfileKind {
  if (p.role_arn && (p.source_profile !== undefined || p.credential_source !== undefined)) return 'assumeRole';
  if (p.aws_access_key_id && p.aws_secret_access_key) return 'static';
  if (p.web_identity_token_file && p.role_arn) return 'webIdentity';
  if (p.credential_process) return 'process';
  if (p.sso_session) return 'sso';
  if (p.sso_start_url || p.sso_account_id || p.sso_region || p.sso_role_name) return 'ssoLegacy';
  if (p.login_session) return 'login';
  return 'unknown';
}

/**
 * The token files `fromIni` reads for `profile` — a web identity token, or an SSO sign-in's cached
 * token in ~/.aws/sso/cache — its own and those along its source_profile chain (a role assumed from
 * such a profile).
 */
export function tokenFilesOf(profile: string, files: AwsFiles): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let name: string | undefined = profile; name !== undefined && !seen.has(name); ) {
    seen.add(name);
    const p: Profile = { ...(files.configFile[name] ?? {}), ...(files.credentialsFile[name] ?? {}) };
    const kind = profileKind(p);
    if (kind === 'webIdentity') out.push(p.web_identity_token_file!);
    if (kind === 'sso') out.push(getSSOTokenFilepath(p.sso_session!));
    if (kind === 'ssoLegacy' && p.sso_start_url) out.push(getSSOTokenFilepath(p.sso_start_url));
    name = kind === 'assumeRole' ? p.source_profile : undefined;
  }
  return out;
}

/**
 * What the environment alone supplies, as the SDK's default chain reads it: access keys
 * (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY) first, then a web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN). Null when it supplies neither.
 */
export function environmentKind(env: NodeJS.ProcessEnv = process.env): 'static' | 'webIdentity' | null {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'static';
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return 'webIdentity';
  return null;
}

/**
 * Whether `profile` gets its credentials from the environment rather than the files: it is the
 * default profile (AWS_PROFILE, else `default`), the environment supplies credentials, and the
 * files give that profile none of its own. The AWS CLI and the SDK's chain do the same.
 */
export function usesEnvironment(profile: string, files: AwsFiles, env: NodeJS.ProcessEnv = process.env): boolean {
  if (profile !== (env.AWS_PROFILE || 'default') || !environmentKind(env)) return false;
  return profileKind({ ...(files.configFile[profile] ?? {}), ...(files.credentialsFile[profile] ?? {}) }) === 'unknown';
}

/** Every profile in either file (credentials-file values win, as in the SDK), and every sso-session. */
export async function listProfiles(env: NodeJS.ProcessEnv = process.env): Promise<ProfileList> {
  const { configFile, credentialsFile } = await readAwsFiles(env);
  const names = new Set<string>();
  const ssoSessions: SsoSessionSummary[] = [];
  for (const key of Object.keys(configFile)) {
    if (key.startsWith(`sso-session${SEP}`)) {
      const v = configFile[key]!;
      ssoSessions.push({ name: key.slice(12), startUrl: s(v.sso_start_url), region: s(v.sso_region), scopes: s(v.sso_registration_scopes) });
    } else if (!key.startsWith(`services${SEP}`)) {
      // A profile's name may hold a dot (`[profile acme.prod]` is the key `acme.prod`): only the
      // other section kinds' prefixes tell them apart.
      names.add(key);
    }
  }
  for (const key of Object.keys(credentialsFile)) names.add(key);
  // The default profile exists when the environment alone supplies its credentials.
  const fromEnv = environmentKind(env);
  const defaultName = env.AWS_PROFILE || 'default';
  if (fromEnv) names.add(defaultName);
  const profiles: ProfileSummary[] = [...names].sort().map((name) => {
    const p: Profile = { ...(configFile[name] ?? {}), ...(credentialsFile[name] ?? {}) };
    const session = p.sso_session ? configFile[`sso-session${SEP}${p.sso_session}`] : undefined;
    const envKind = fromEnv && usesEnvironment(name, { configFile, credentialsFile }, env) ? fromEnv : null;
    if (envKind === 'webIdentity' && !p.role_arn) p.role_arn = env.AWS_ROLE_ARN;
    return {
      name,
      kind: envKind ?? profileKind(p),
      region: s(p.region) ?? s(env.AWS_REGION) ?? s(env.AWS_DEFAULT_REGION),
      sourceProfile: s(p.source_profile),
      credentialSource: s(p.credential_source),
      roleArn: s(p.role_arn),
      mfaSerial: s(p.mfa_serial),
      ssoSession: s(p.sso_session),
      ssoStartUrl: s(session?.sso_start_url ?? p.sso_start_url),
      ssoRegion: s(session?.sso_region ?? p.sso_region),
      ssoAccountId: s(p.sso_account_id),
      ssoRoleName: s(p.sso_role_name),
      endpointUrl: s(p.endpoint_url),
      inConfig: name in configFile,
      inCredentials: name in credentialsFile,
    };
  });
  ssoSessions.sort((a, b) => a.name.localeCompare(b.name));
  return {
    configFile: configFilePath(env),
    credentialsFile: credentialsFilePath(env),
    defaultProfile: env.AWS_PROFILE || 'default',
    profiles,
    ssoSessions,
  };
}
