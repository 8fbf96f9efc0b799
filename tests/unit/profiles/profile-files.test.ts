import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdk } from '../../../electron/main/aws/sdk';
import { listProfiles } from '../../../electron/main/profiles/profile-files';
import { stateAt } from '../../../electron/main/profiles/profile-check';
import { ProfileCredentials } from '../../../electron/main/profiles/profile-credentials';
import { cachedSsoToken } from '../../../electron/main/profiles/sso-login';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-profiles-'));
  env = { HOME: dir, AWS_CONFIG_FILE: join(dir, 'cfg'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'creds'), AWS_PROFILE: 'ops', AWS_REGION: 'ap-northeast-1' };
  await writeFile(
    env.AWS_CONFIG_FILE!,
    `[default]
region = eu-west-1
[profile ops]
role_arn = arn:aws:iam::1:role/Ops
credential_source = Environment
external_id = ext-1
[profile chain]
role_arn = arn:aws:iam::2:role/B
source_profile = ops
[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Read
endpoint_url = http://127.0.0.1:4566
[profile legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Read
[profile proc]
credential_process = /usr/bin/get-creds --json
[profile web]
role_arn = arn:aws:iam::3:role/W
web_identity_token_file = /var/run/token
[profile acme.prod]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
[services nothing]
ec2 =
  endpoint_url = http://x
`,
  );
  await writeFile(env.AWS_SHARED_CREDENTIALS_FILE!, `[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n[keys-only]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `fn` with these variables set in process.env (what the SDK reads), then puts them back. */
async function withProcessEnv(vars: Record<string, string>, fn: () => Promise<unknown>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('profiles from the AWS config and credentials files', () => {
  it('lists every profile of both files with the kind fromIni would resolve, and no secret', async () => {
    const list = await listProfiles(env);
    expect(list.defaultProfile).toBe('ops');
    const kinds = Object.fromEntries(list.profiles.map((p) => [p.name, p.kind]));
    // A name with a dot is a profile like any other (only the sso-session and services sections are not).
    expect(kinds).toEqual({ 'acme.prod': 'sso', chain: 'assumeRole', default: 'static', 'keys-only': 'static', legacy: 'ssoLegacy', ops: 'assumeRole', proc: 'process', sso: 'sso', web: 'webIdentity' });
    const by = (n: string) => list.profiles.find((p) => p.name === n)!;
    expect(by('default')).toMatchObject({ region: 'eu-west-1', inConfig: true, inCredentials: true });
    expect(by('keys-only')).toMatchObject({ region: 'ap-northeast-1', inConfig: false, inCredentials: true });
    expect(by('ops')).toMatchObject({ credentialSource: 'Environment', roleArn: 'arn:aws:iam::1:role/Ops' });
    expect(by('chain')).toMatchObject({ sourceProfile: 'ops' });
    expect(by('sso')).toMatchObject({ ssoStartUrl: 'https://corp.awsapps.com/start', ssoRegion: 'eu-west-1', endpointUrl: 'http://127.0.0.1:4566' });
    expect(by('legacy')).toMatchObject({ ssoSession: null, ssoStartUrl: 'https://old.awsapps.com/start' });
    expect(list.ssoSessions).toEqual([{ name: 'corp', startUrl: 'https://corp.awsapps.com/start', region: 'eu-west-1', scopes: 'sso:account:access' }]);
    expect(JSON.stringify(list)).not.toMatch(/secret|AKIA/);
  });

  it('the default profile gets its credentials from the environment only when the files give it none', async () => {
    const web = { AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/token', AWS_ROLE_ARN: 'arn:aws:iam::4:role/Env' };
    // AWS_PROFILE names a profile the files lack: it appears, as a web identity from the environment.
    const missing = await listProfiles({ ...env, ...web, AWS_PROFILE: 'pod' });
    expect(missing.profiles.find((p) => p.name === 'pod')).toMatchObject({ kind: 'webIdentity', roleArn: 'arn:aws:iam::4:role/Env', inConfig: false, inCredentials: false });
    // A default profile with credentials of its own keeps them (ops assumes a role).
    const own = await listProfiles({ ...env, ...web });
    expect(own.profiles.find((p) => p.name === 'ops')).toMatchObject({ kind: 'assumeRole', roleArn: 'arn:aws:iam::1:role/Ops' });
    // Keys in the environment come first, as in the SDK's chain.
    const keys = await listProfiles({ ...env, ...web, AWS_PROFILE: 'pod', AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'x' });
    expect(keys.profiles.find((p) => p.name === 'pod')?.kind).toBe('static');
    expect(JSON.stringify(keys)).not.toContain('AKIAENV');
    // Without them, no such profile.
    expect((await listProfiles({ ...env, AWS_PROFILE: 'pod' })).profiles.some((p) => p.name === 'pod')).toBe(false);
  });

  it('calls credentials expiring within 15 minutes "expiring"', () => {
    const now = 1_000_000_000;
    expect(stateAt(null, now)).toBe('valid');
    expect(stateAt(now + 16 * 60_000, now)).toBe('valid');
    expect(stateAt(now + 5 * 60_000, now)).toBe('expiring');
    expect(stateAt(now - 1, now)).toBe('expired');
  });
});

describe('AWS files that are not regular files', () => {
  it('a FIFO as the AWS config is refused at once, naming it, and the backend\'s other file calls go on', async () => {
    const fifo = join(dir, 'config-fifo');
    execFileSync('mkfifo', [fifo]);
    const fifoEnv = { ...env, AWS_CONFIG_FILE: fifo };
    // Before, each list waited on the FIFO for good on one of libuv's four file threads: after four,
    // no file call of the process ever finished.
    for (let i = 0; i < 5; i++) await expect(listProfiles(fifoEnv)).rejects.toMatchObject({ code: 'FileRefused', detail: { path: fifo, reason: 'fifo' } });
    expect((await readFile(env.AWS_CONFIG_FILE!, 'utf8')).length).toBeGreaterThan(0);
  });

  it('a device as the credentials file is refused instead of read until memory runs out, and a folder is named as one', async () => {
    await expect(listProfiles({ ...env, AWS_SHARED_CREDENTIALS_FILE: '/dev/zero' })).rejects.toMatchObject({ code: 'FileRefused', detail: { path: '/dev/zero', reason: 'device' } });
    const folder = join(dir, 'config-folder');
    await mkdir(folder);
    await expect(listProfiles({ ...env, AWS_CONFIG_FILE: folder })).rejects.toMatchObject({ code: 'FileRefused', detail: { path: folder, reason: 'directory' } });
  });

  it('a missing file is an empty one, and a path starting ~/ is taken from home, as the SDK and the AWS CLI take them', async () => {
    const list = await listProfiles({ ...env, AWS_CONFIG_FILE: '~/cfg', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') });
    expect(list.configFile).toBe(join(dir, 'cfg'));
    expect(list.profiles.map((p) => p.name)).toContain('acme.prod');
  });

  it('the SDK\'s clients and credential providers are not loaded while the AWS config is a FIFO', async () => {
    const fifo = join(dir, 'sdk-fifo');
    execFileSync('mkfifo', [fifo]);
    await withProcessEnv({ AWS_CONFIG_FILE: fifo }, async () => {
      await expect(sdk.credentialProviders()).rejects.toMatchObject({ code: 'FileRefused', detail: { reason: 'fifo' } });
      await expect(sdk.ec2()).rejects.toMatchObject({ code: 'FileRefused', detail: { reason: 'fifo' } });
    });
  });

  it('a web identity token file that is a FIFO is refused before the SDK reads it (synchronously: the whole backend would stop), along a role chain and from the environment', async () => {
    const token = join(dir, 'token-fifo');
    execFileSync('mkfifo', [token]);
    const config = join(dir, 'web-config');
    await writeFile(config, `[profile web]\nrole_arn = arn:aws:iam::3:role/W\nweb_identity_token_file = ${token}\n[profile chained]\nrole_arn = arn:aws:iam::4:role/C\nsource_profile = web\n`);
    await withProcessEnv({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') }, async () => {
      const refused = { code: 'FileRefused', detail: { path: token, reason: 'fifo' } };
      await expect(new ProfileCredentials().credentials('web')).rejects.toMatchObject(refused);
      await expect(new ProfileCredentials().credentials('chained')).rejects.toMatchObject(refused);
    });
    await withProcessEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: token }, () => expect(sdk.credentialProviders()).rejects.toMatchObject({ code: 'FileRefused', detail: { reason: 'fifo' } }));
  });

  it('an SSO sign-in\'s cached token that is a FIFO is refused before the SDK reads it', async () => {
    const home = join(dir, 'sso-home');
    const cached = join(home, '.aws', 'sso', 'cache', `${createHash('sha1').update('corp').digest('hex')}.json`);
    await mkdir(join(home, '.aws', 'sso', 'cache'), { recursive: true });
    execFileSync('mkfifo', [cached]);
    await withProcessEnv({ HOME: home, AWS_CONFIG_FILE: env.AWS_CONFIG_FILE!, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') }, async () => {
      await expect(new ProfileCredentials().credentials('sso')).rejects.toMatchObject({ code: 'FileRefused', detail: { path: cached, reason: 'fifo' } });
      // The Profiles view's own look at the sign-in: no token (signing in replaces the file).
      expect(await cachedSsoToken({ session: 'corp', startUrl: 'https://corp.awsapps.com/start' })).toBeUndefined();
    });
  });
});
