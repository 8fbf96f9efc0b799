import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACCOUNT_ID, type PrincipalSpec } from './fleet';
import type { SsoService } from './sso';

export interface AwsConfigOptions {
  /** Region of every profile (default us-east-1). */
  region?: string;
  /** Also write an IAM Identity Center profile `sso` (sso-session `sim`). Default true. */
  sso?: boolean;
}
export interface AwsConfigFiles {
  configFile: string;
  credentialsFile: string;
  profiles: string[];
}

const profileName = (p: PrincipalSpec) => p.profile ?? p.arn.split('/').pop()!;

/**
 * An AWS config + credentials pair in `dir` whose profiles all reach the simulator through
 * `endpoint_url` (honoured by the AWS CLI, boto3 and the JS SDK v3 for every service, SSO
 * included): one profile per principal, plus `sso` when asked.
 */
export async function writeAwsConfig(dir: string, endpoint: string, principals: PrincipalSpec[], sso: SsoService, opts: AwsConfigOptions = {}): Promise<AwsConfigFiles> {
  await mkdir(dir, { recursive: true });
  const region = opts.region ?? 'us-east-1';
  const seen = new Set<string>();
  const unique = principals.filter((p) => !seen.has(profileName(p)) && seen.add(profileName(p)));
  const config: string[] = [];
  const credentials: string[] = [];
  const profiles: string[] = [];
  for (const p of unique) {
    const name = profileName(p);
    profiles.push(name);
    config.push(name === 'default' ? '[default]' : `[profile ${name}]`, `region = ${region}`, 'output = json', `endpoint_url = ${endpoint}`, '');
    credentials.push(`[${name}]`, `aws_access_key_id = ${p.accessKeyId}`, `aws_secret_access_key = ${p.secretAccessKey}`, '');
  }
  if (opts.sso !== false && sso.assignments.length) {
    const a = sso.assignments[0]!;
    profiles.push('sso');
    config.push('[profile sso]', 'sso_session = sim', `sso_account_id = ${a.accountId ?? ACCOUNT_ID}`, `sso_role_name = ${a.roleName}`, `region = ${region}`, 'output = json', `endpoint_url = ${endpoint}`, '');
    config.push('[sso-session sim]', `sso_start_url = ${sso.startUrl}`, `sso_region = ${region}`, 'sso_registration_scopes = sso:account:access', '');
  }
  const configFile = join(dir, 'config');
  const credentialsFile = join(dir, 'credentials');
  await writeFile(configFile, config.join('\n'), { mode: 0o600 });
  await writeFile(credentialsFile, credentials.join('\n'), { mode: 0o600 });
  return { configFile, credentialsFile, profiles };
}
