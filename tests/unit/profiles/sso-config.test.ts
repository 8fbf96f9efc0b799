import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listProfiles } from '../../../electron/main/profiles/profile-files';
import { addSsoProfile, backupPathOf } from '../../../electron/main/profiles/sso-config';

const ORIGINAL = `# my AWS config — hand written, keep it
[default]
region = eu-west-1   ; inline comment
output=json

[profile prod]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = default
mfa_serial = arn:aws:iam::111122223333:mfa/me
s3 =
  max_concurrent_requests = 20

# trailing comment without newline`;

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-ssocfg-'));
  env = { HOME: dir, AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const newProfile = {
  profile: 'dev-admin',
  session: 'corp',
  startUrl: 'https://corp.awsapps.com/start',
  ssoRegion: 'eu-west-1',
  accountId: '123456789012',
  roleName: 'AdministratorAccess',
  region: 'eu-central-1',
};

describe('adding an SSO profile to the AWS config', () => {
  it('appends what aws configure sso writes and leaves every other byte, with a backup of the old file', async () => {
    await writeFile(env.AWS_CONFIG_FILE!, ORIGINAL, { mode: 0o640 });
    const result = await addSsoProfile(newProfile, env);
    const after = await readFile(env.AWS_CONFIG_FILE!, 'utf8');
    expect(after.startsWith(ORIGINAL)).toBe(true);
    expect(after.slice(ORIGINAL.length)).toBe(
      '\n\n[profile dev-admin]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = AdministratorAccess\nregion = eu-central-1\n' +
        '\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n',
    );
    expect(result).toEqual({ configFile: env.AWS_CONFIG_FILE, backupFile: backupPathOf(env.AWS_CONFIG_FILE!) });
    expect(await readFile(result.backupFile!, 'utf8')).toBe(ORIGINAL);
    expect((await stat(env.AWS_CONFIG_FILE!)).mode & 0o777).toBe(0o640);

    // The SDK's own loader reads the result as the CLI would.
    const list = await listProfiles(env);
    const p = list.profiles.find((x) => x.name === 'dev-admin')!;
    expect(p).toMatchObject({ kind: 'sso', ssoSession: 'corp', ssoStartUrl: newProfile.startUrl, ssoRegion: 'eu-west-1', ssoAccountId: '123456789012', region: 'eu-central-1' });
    expect(list.profiles.find((x) => x.name === 'prod')).toMatchObject({ kind: 'assumeRole', sourceProfile: 'default', mfaSerial: 'arn:aws:iam::111122223333:mfa/me' });
  });

  it('keeps CRLF line ends and reuses an identical sso-session', async () => {
    const crlf = '[sso-session corp]\r\nsso_start_url = https://corp.awsapps.com/start\r\nsso_region = eu-west-1\r\n';
    await writeFile(env.AWS_CONFIG_FILE!, crlf);
    await addSsoProfile({ ...newProfile, region: undefined }, env);
    const after = await readFile(env.AWS_CONFIG_FILE!, 'utf8');
    expect(after).toBe(crlf + '\r\n[profile dev-admin]\r\nsso_session = corp\r\nsso_account_id = 123456789012\r\nsso_role_name = AdministratorAccess\r\n');
  });

  it('creates the file when there is none, without a backup', async () => {
    const result = await addSsoProfile(newProfile, env);
    expect(result.backupFile).toBeNull();
    expect((await readFile(env.AWS_CONFIG_FILE!, 'utf8')).startsWith('[profile dev-admin]\n')).toBe(true);
    expect((await stat(env.AWS_CONFIG_FILE!)).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite a profile, or an sso-session with other settings, and leaves the file alone', async () => {
    await writeFile(env.AWS_CONFIG_FILE!, ORIGINAL);
    await expect(addSsoProfile({ ...newProfile, profile: 'prod' }, env)).rejects.toMatchObject({ code: 'AwsProfileExists' });
    await addSsoProfile(newProfile, env);
    const once = await readFile(env.AWS_CONFIG_FILE!, 'utf8');
    await expect(addSsoProfile({ ...newProfile, profile: 'other', startUrl: 'https://else.awsapps.com/start' }, env)).rejects.toMatchObject({ code: 'AwsProfileExists' });
    expect(await readFile(env.AWS_CONFIG_FILE!, 'utf8')).toBe(once);
  });
});
