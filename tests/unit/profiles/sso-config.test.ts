import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../electron/main/base/log';
import { createAwsServices } from '../../../electron/main/inventory/aws-handlers';
import { listProfiles } from '../../../electron/main/profiles/profile-files';
import { addSsoProfile, backupPathOf, checkNewSession } from '../../../electron/main/profiles/sso-config';
import { ContractServer, type Handlers } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Prompts } from '../../../electron/main/rpc/prompts';

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

  it('counts a section with no settings as taken: the AWS CLI would refuse a config holding its header twice', async () => {
    // The SDK's parser leaves empty sections out; botocore's keeps them and fails on a duplicate.
    const config = `[profile dev-admin]\n\n[sso-session corp]\n\n[default]\nregion = eu-west-1\n`;
    await writeFile(env.AWS_CONFIG_FILE!, config);
    await expect(addSsoProfile(newProfile, env)).rejects.toMatchObject({ code: 'AwsProfileExists', detail: { profile: 'dev-admin' } });
    await expect(addSsoProfile({ ...newProfile, profile: 'other' }, env)).rejects.toMatchObject({ code: 'AwsProfileExists', detail: { profile: 'corp' } });
    await expect(checkNewSession('corp', newProfile.startUrl, newProfile.ssoRegion, env)).rejects.toMatchObject({ code: 'AwsProfileExists', detail: { profile: 'corp' } });
    expect(await readFile(env.AWS_CONFIG_FILE!, 'utf8')).toBe(config);
    expect(existsSync(backupPathOf(env.AWS_CONFIG_FILE!))).toBe(false);
    // Another name and session go in, each header once.
    await addSsoProfile({ ...newProfile, profile: 'other', session: 'corp2' }, env);
    const text = await readFile(env.AWS_CONFIG_FILE!, 'utf8');
    for (const header of ['[profile dev-admin]', '[sso-session corp]', '[profile other]', '[sso-session corp2]']) expect(text.split(header).length - 1, header).toBe(1);
  });

  it('refuses an AWS config that is a FIFO instead of hanging on it', async () => {
    execFileSync('mkfifo', [env.AWS_CONFIG_FILE!]);
    await expect(addSsoProfile(newProfile, env)).rejects.toMatchObject({ code: 'FileRefused' });
  });
});

describe('values that would change what the AWS config means are refused at the writer', () => {
  const INJECTION = 'https://x.awsapps.com/start\n[profile pwn]\ncredential_process = id';
  const CREDENTIALS = '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n';

  async function files() {
    return { config: await readFile(env.AWS_CONFIG_FILE!), credentials: await readFile(env.AWS_SHARED_CREDENTIALS_FILE!) };
  }

  beforeEach(async () => {
    await writeFile(env.AWS_CONFIG_FILE!, ORIGINAL);
    await writeFile(env.AWS_SHARED_CREDENTIALS_FILE!, CREDENTIALS);
  });

  // Straight to the writer, past the contract's schema: the writer must hold on its own.
  const hostile: Array<[string, Partial<typeof newProfile> & { output?: string }, string]> = [
    ['a start URL carrying a new profile that runs a command', { startUrl: INJECTION }, 'sso_start_url'],
    ['a carriage return in the start URL', { startUrl: 'https://x.awsapps.com/start\r[profile pwn]' }, 'sso_start_url'],
    ['a Unicode line separator in the start URL', { startUrl: 'https://x.awsapps.com/start\u2028credential_process = id' }, 'sso_start_url'],
    ['NEL (a C1 control) in the start URL', { startUrl: 'https://x.awsapps.com/start\u0085credential_process = id' }, 'sso_start_url'],
    ['a tab in the role name', { roleName: 'Admin\tx' }, 'sso_role_name'],
    ['a newline in the role name', { roleName: 'Admin\ncredential_process = id' }, 'sso_role_name'],
    ['a newline in the account id', { accountId: '123456789012\ncredential_process = id' }, 'sso_account_id'],
    ['a newline in the region', { region: 'eu-west-1\ncredential_process = id' }, 'region'],
    ['a newline in the SSO region', { ssoRegion: 'eu-west-1\ncredential_process = id' }, 'sso_region'],
    ['a newline in the output format', { output: 'json\ncredential_process = id' }, 'output'],
    ['a NUL in the session name', { session: 'corp\u0000' }, 'sso_session'],
    ['a bracket closing the profile header early', { profile: 'dev] [profile pwn' }, 'profile dev] [profile pwn'],
    ['a newline in the profile name', { profile: 'dev\n[profile pwn]\ncredential_process = id\n[profile x' }, 'section'],
  ];
  it.each(hostile)('%s: a typed refusal naming the field, both files byte-identical, no backup', async (_what, over, field) => {
    const before = await files();
    const err = await addSsoProfile({ ...newProfile, ...over } as typeof newProfile, env).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AwsConfigValueUnsafe', detail: { field } });
    expect(await files()).toEqual(before);
    expect(existsSync(backupPathOf(env.AWS_CONFIG_FILE!))).toBe(false);
    expect((await listProfiles(env)).profiles.map((p) => p.name)).not.toContain('pwn');
  });

  it('through the contract: the channel refuses a start URL with a newline (InvalidArguments), and so does its handler called past the schema', async () => {
    const saved = { config: process.env.AWS_CONFIG_FILE, credentials: process.env.AWS_SHARED_CREDENTIALS_FILE };
    process.env.AWS_CONFIG_FILE = env.AWS_CONFIG_FILE;
    process.env.AWS_SHARED_CREDENTIALS_FILE = env.AWS_SHARED_CREDENTIALS_FILE;
    const aws = createAwsServices({ home: join(dir, 'keyless'), log: silentLogger, prompts: new Prompts(), backgroundRefreshMs: 0 });
    try {
      const before = await files();
      const { bridge } = connectInMemory(new ContractServer(aws.handlers as Handlers, silentLogger));
      const viaContract = await bridge.invoke('aws.sso.createProfile', { ...newProfile, startUrl: INJECTION });
      expect(viaContract).toMatchObject({ ok: false, error: { code: 'InvalidArguments' } });
      const direct = await Promise.resolve()
        .then(() => aws.handlers['aws.sso.createProfile']({ ...newProfile, startUrl: INJECTION }, { peer: undefined as never, signal: new AbortController().signal }))
        .catch((e: unknown) => e);
      expect(direct).toMatchObject({ code: 'AwsConfigValueUnsafe', detail: { field: 'sso_start_url' } });
      expect(await files()).toEqual(before);
    } finally {
      aws.dispose();
      for (const [k, v] of [['AWS_CONFIG_FILE', saved.config], ['AWS_SHARED_CREDENTIALS_FILE', saved.credentials]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('discovering accounts for a new profile refuses, before any sign-in, a session name the config gives another start URL', async () => {
    await writeFile(env.AWS_CONFIG_FILE!, `${ORIGINAL}\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n`);
    const saved = { config: process.env.AWS_CONFIG_FILE, credentials: process.env.AWS_SHARED_CREDENTIALS_FILE, home: process.env.HOME };
    Object.assign(process.env, { AWS_CONFIG_FILE: env.AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE: env.AWS_SHARED_CREDENTIALS_FILE, HOME: dir });
    const aws = createAwsServices({ home: join(dir, 'keyless'), log: silentLogger, prompts: new Prompts(), backgroundRefreshMs: 0 });
    try {
      const { bridge } = connectInMemory(new ContractServer(aws.handlers as Handlers, silentLogger));
      // The sign-in would have replaced corp's cached token (the AWS CLI's too) with another instance's.
      const answer = await bridge.invoke('aws.sso.discover', { requestId: 'r1', session: 'corp', startUrl: 'https://other.awsapps.com/start', ssoRegion: 'eu-west-1' });
      expect(answer).toMatchObject({ ok: false, error: { code: 'AwsProfileExists', detail: { profile: 'corp' } } });
      expect(existsSync(join(dir, '.aws', 'sso', 'cache'))).toBe(false);
    } finally {
      aws.dispose();
      for (const [k, v] of [['AWS_CONFIG_FILE', saved.config], ['AWS_SHARED_CREDENTIALS_FILE', saved.credentials], ['HOME', saved.home]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('a profile may be called constructor or toString (names, not methods of the parsed file)', async () => {
    await writeFile(env.AWS_CONFIG_FILE!, ORIGINAL);
    for (const profile of ['constructor', 'toString']) await addSsoProfile({ ...newProfile, profile }, env);
    expect((await listProfiles(env)).profiles.map((p) => p.name)).toEqual(expect.arrayContaining(['constructor', 'toString']));
  });

  it('stores the start URL in its parsed, normalised form, and reuses a session written the other way', async () => {
    await addSsoProfile({ ...newProfile, startUrl: 'https://CORP.awsapps.com:443/start' }, env);
    const after = await readFile(env.AWS_CONFIG_FILE!, 'utf8');
    expect(after).toContain('\nsso_start_url = https://corp.awsapps.com/start\n');
    await addSsoProfile({ ...newProfile, profile: 'second', startUrl: 'https://corp.awsapps.com/start' }, env);
    expect((await readFile(env.AWS_CONFIG_FILE!, 'utf8')).match(/\[sso-session corp\]/g)).toHaveLength(1);
  });
});
