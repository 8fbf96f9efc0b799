import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileCheck } from '../../../electron/contract';
import { silentLogger } from '../../../electron/main/base/log';
import { createAwsServices, type AwsServices } from '../../../electron/main/inventory/aws-handlers';
import { Prompts } from '../../../electron/main/rpc/prompts';
import { ACCOUNT_ID } from '../../sim/index';
import { ROLE, run, startAwsWorld, writeCredentialProcess, writeWebIdentityToken, type AwsWorld } from './aws-world';
import { fakePeer } from './fake-peer';

let world: AwsWorld;
let aws: AwsServices;
let prompts: Prompts;

beforeAll(async () => {
  world = await startAwsWorld();
  const e = world.sim.endpoint;
  await world.addConfig(`[profile hop1]
role_arn = ${ROLE('Hop1')}
source_profile = default
region = us-east-1
endpoint_url = ${e}

[profile chain]
# two hops: default (keys) → Hop1 → Hop2
role_arn = ${ROLE('Hop2')}
source_profile = hop1
external_id = keyless-test
region = us-west-2
endpoint_url = ${e}

[profile mfa]
role_arn = ${ROLE('MfaRole')}
source_profile = default
mfa_serial = arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin
region = us-east-1
endpoint_url = ${e}

[profile proc]
credential_process = ${await writeCredentialProcess(world)}
region = us-east-1
endpoint_url = ${e}

[profile soon]
# credentials that lapse in ten minutes
credential_process = ${await writeCredentialProcess(world, { name: 'soon', ttlMs: 10 * 60_000 })}
region = us-east-1
endpoint_url = ${e}

[profile web]
role_arn = ${ROLE('WebRole')}
web_identity_token_file = ${await writeWebIdentityToken(world, 'web')}
role_session_name = keyless-web
region = us-west-2
endpoint_url = ${e}

[profile web-chain]
# a web identity as the first hop of a role chain (CI assuming a deploy role)
role_arn = ${ROLE('Hop2')}
source_profile = web
region = us-west-2
endpoint_url = ${e}

[profile env-role]
role_arn = ${ROLE('Hop1')}
credential_source = Environment
region = us-east-1
endpoint_url = ${e}

[profile web-expired]
role_arn = ${ROLE('WebRole')}
web_identity_token_file = ${await writeWebIdentityToken(world, 'web-expired', { ttlSeconds: -120 })}
region = us-west-2
endpoint_url = ${e}

[profile partner]
role_arn = ${ROLE('PartnerRole')}
source_profile = default
external_id = partner-ext
region = us-east-1
endpoint_url = ${e}

[profile partner-wrong]
role_arn = ${ROLE('PartnerRole')}
source_profile = default
external_id = not-the-partner-ext
region = us-east-1
endpoint_url = ${e}
`);
  await world.addExpiredProfile('stale');
  prompts = new Prompts();
  aws = createAwsServices({ home: join(world.dir, 'keyless'), log: silentLogger, prompts, backgroundRefreshMs: 0 });
});
afterAll(async () => {
  aws?.dispose();
  await world?.stop();
});

async function check(profile: string, peer = fakePeer()): Promise<ProfileCheck> {
  return aws.handlers['aws.profiles.check']({ requestId: `check-${profile}`, profile }, peer.call());
}

describe('AWS profiles against the simulator', () => {
  it('lists the profiles of the config and credentials files with their kinds', async () => {
    const list = await aws.handlers['aws.profiles.list']({}, fakePeer().call());
    const kinds = Object.fromEntries(list.profiles.map((p) => [p.name, p.kind]));
    expect(kinds).toMatchObject({ default: 'static', nobody: 'static', hop1: 'assumeRole', chain: 'assumeRole', mfa: 'assumeRole', proc: 'process', sso: 'sso', stale: 'static', web: 'webIdentity', partner: 'assumeRole' });
    expect(list.ssoSessions.map((s) => s.name)).toEqual(['sim']);
  });

  it('static keys: account, ARN, long-term', async () => {
    const c = await check('default');
    expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/sim-admin`, expiresAt: null });
  });

  it('a two-hop assume-role chain, through the profile endpoint_url, with its expiry', async () => {
    const c = await check('chain');
    expect(c.state).toBe('valid');
    expect(c.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/Hop2/`));
    expect(c.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('mfa_serial: asks the renderer for a code (once for many callers), then assumes the role', async () => {
    const peer = fakePeer();
    const asked: unknown[] = [];
    peer.on('prompt', (p) => {
      asked.push(p);
      prompts.answer(peer.peer, p.promptId, '123456');
    });
    // A caller who cannot ask (the connect engine before any check) is told why; two checks at once ask once.
    const [silent, first, second] = await Promise.allSettled([
      aws.credentials.credentials('mfa'),
      aws.handlers['aws.profiles.check']({ requestId: 'mfa-1', profile: 'mfa' }, peer.call()),
      aws.handlers['aws.profiles.check']({ requestId: 'mfa-1', profile: 'mfa' }, peer.call()),
    ]);
    expect(silent).toMatchObject({ status: 'rejected', reason: { code: 'AwsMfaRequired' } });
    const a = (first as PromiseFulfilledResult<ProfileCheck>).value;
    expect((second as PromiseFulfilledResult<ProfileCheck>).value.arn).toBe(a.arn);
    const b = await aws.credentials.credentials('mfa');
    expect(asked).toEqual([expect.objectContaining({ kind: 'mfa', requestId: 'mfa-1', profile: 'mfa', mfaSerial: `arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin`, retry: false })]);
    expect(a.arn).toMatch(/assumed-role\/MfaRole\//);
    expect(b.accessKeyId).toBeTruthy();
    // Cached: no second question.
    expect((await check('mfa')).state).toBe('valid');
    expect(asked).toHaveLength(1);
  });

  it('mfa_serial: declining the prompt fails the check without a stack trace', async () => {
    aws.credentials.invalidate('mfa');
    const peer = fakePeer();
    peer.on('prompt', (p) => prompts.answer(peer.peer, p.promptId, null));
    const c = await check('mfa', peer);
    expect(c.state).toBe('error');
    expect(c.error?.code).toBe('Cancelled');
  });

  it('mfa_serial: a wrong code is refused by STS; the prompt comes back saying so, and the right code then works', async () => {
    aws.credentials.invalidate('mfa');
    const peer = fakePeer();
    const asked: { retry: boolean }[] = [];
    const answers = ['000000', '123456'];
    peer.on('prompt', (p) => {
      asked.push(p as { retry: boolean });
      prompts.answer(peer.peer, p.promptId, answers.shift() ?? null);
    });
    const c = await check('mfa', peer);
    expect(asked.map((a) => a.retry)).toEqual([false, true]);
    expect(c.state).toBe('valid');
    expect(c.arn).toMatch(/assumed-role\/MfaRole\//);
  });

  it('mfa_serial: wrong every time — after three tries the check says AWS refused the MFA code, in its words', async () => {
    aws.credentials.invalidate('mfa');
    const peer = fakePeer();
    let prompts_ = 0;
    peer.on('prompt', (p) => {
      prompts_++;
      prompts.answer(peer.peer, p.promptId, '999999');
    });
    const c = await check('mfa', peer);
    expect(prompts_).toBe(3);
    expect(c.state).toBe('error');
    expect(c.error).toMatchObject({ code: 'AwsAccessDenied', message: expect.stringContaining('MultiFactorAuthentication failed with invalid MFA one time pass code.') });
  });

  it('external_id: the role is assumed with the one its trust policy names, and refused with another', async () => {
    const ok = await check('partner');
    expect(ok).toMatchObject({ state: 'valid', account: ACCOUNT_ID });
    expect(ok.arn).toMatch(/assumed-role\/PartnerRole\//);
    const wrong = await check('partner-wrong');
    expect(wrong.state).toBe('error');
    expect(wrong.error).toMatchObject({ code: 'AwsAccessDenied', detail: { action: 'sts:AssumeRole', resource: ROLE('PartnerRole') } });
    expect(wrong.error?.message).toContain(`is not authorized to perform: sts:AssumeRole on resource: ${ROLE('PartnerRole')}`);
  });

  it('web identity profile (web_identity_token_file + role_arn): the SDK assumes the role with the token; account and ARN shown', async () => {
    const c = await check('web');
    expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID, arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/WebRole/keyless-web` });
    expect(c.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    // The AWS CLI reads the same profile the same way.
    const cli = await run('aws', ['sts', 'get-caller-identity', '--profile', 'web', '--output', 'json'], { env: { ...process.env, ...world.env }, timeout: 60_000 });
    expect((JSON.parse(cli.stdout) as { Arn: string }).Arn).toBe(c.arn);
  });

  it('web identity as the source of a role chain', async () => {
    const c = await check('web-chain');
    expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID });
    expect(c.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/Hop2/`));
  });

  it('credential_source = Environment: the role is assumed with the keys in the environment', async () => {
    const admin = world.sim.principals[0]!;
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey });
    try {
      const c = await check('env-role');
      expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID });
      expect(c.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/Hop1/`));
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
    // Without keys in the environment there is nothing to assume the role with.
    aws.credentials.invalidate('env-role');
    const none = await check('env-role');
    expect(none.state).toBe('error');
    expect(none.error?.code).toBe('AwsCredentialsMissing');
  });

  it('web identity with an expired token reads "expired"', async () => {
    const c = await check('web-expired');
    expect(c.state).toBe('expired');
    expect(c.error?.code).toBe('AwsCredentialsExpired');
  });

  it('web identity from the environment (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): listed as the default profile and resolved', async () => {
    const vars = {
      AWS_PROFILE: 'from-env',
      AWS_WEB_IDENTITY_TOKEN_FILE: await writeWebIdentityToken(world, 'env', { subject: 'system:serviceaccount:ci:runner' }),
      AWS_ROLE_ARN: ROLE('WebRole'),
      AWS_ROLE_SESSION_NAME: 'env-session',
      AWS_ENDPOINT_URL_STS: world.sim.endpoint,
    };
    Object.assign(process.env, vars);
    try {
      const list = await aws.handlers['aws.profiles.list']({}, fakePeer().call());
      expect(list.defaultProfile).toBe('from-env');
      expect(list.profiles.find((p) => p.name === 'from-env')).toMatchObject({ kind: 'webIdentity', roleArn: ROLE('WebRole'), inConfig: false, inCredentials: false });
      const c = await check('from-env');
      expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID, arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/WebRole/env-session` });
    } finally {
      for (const k of Object.keys(vars)) delete process.env[k];
      aws.credentials.invalidate('from-env');
    }
    // Without those variables the profile is gone again.
    const after = await aws.handlers['aws.profiles.list']({}, fakePeer().call());
    expect(after.profiles.some((p) => p.name === 'from-env')).toBe(false);
  });

  it('credentials that lapse within 15 minutes read "expiring", with their expiry', async () => {
    const c = await check('soon');
    expect(c.state).toBe('expiring');
    expect(c.expiresAt! - Date.now()).toBeGreaterThan(8 * 60_000);
    expect(c.expiresAt! - Date.now()).toBeLessThan(11 * 60_000);
  });

  it('credential_process', async () => {
    const c = await check('proc');
    expect(c).toMatchObject({ state: 'valid', arn: `arn:aws:iam::${ACCOUNT_ID}:user/sim-admin` });
    expect(c.expiresAt).toBeGreaterThan(Date.now());
  });

  it('expired session credentials read "expired", with words to act on', async () => {
    const c = await check('stale');
    expect(c.state).toBe('expired');
    expect(c.error?.code).toBe('AwsCredentialsExpired');
  });

  it('an unknown profile is refused by name', async () => {
    await expect(check('no-such-profile')).rejects.toMatchObject({ code: 'AwsProfileUnknown' });
  });

  it('SSO: "sign in again" without a token; device flow approved by the test; then the AWS CLI uses the same sign-in', async () => {
    expect((await check('sso')).state).toBe('signInRequired');
    const peer = fakePeer();
    const codes: string[] = [];
    peer.on('aws.sso.device', (d) => {
      codes.push(d.userCode);
      expect(d.browserOpened).toBe(false);
      expect(d.verificationUri).toMatch(/^https:\/\//);
      world.sim.admin.approveDeviceCode(d.userCode);
    });
    const result = await aws.handlers['aws.sso.login']({ requestId: 'sso-1', profile: 'sso' }, peer.call());
    expect(codes).toHaveLength(1);
    const cacheFile = join(world.home, '.aws', 'sso', 'cache', `${createHash('sha1').update('sim').digest('hex')}.json`);
    expect(result.cacheFile).toBe(cacheFile);
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(cached).sort()).toEqual(['accessToken', 'clientId', 'clientSecret', 'expiresAt', 'refreshToken', 'region', 'registrationExpiresAt', 'startUrl'].sort());
    expect(cached.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const c = await check('sso');
    expect(c).toMatchObject({ state: 'valid', account: ACCOUNT_ID });
    expect(c.arn).toMatch(/assumed-role\/AWSReservedSSO_AdministratorAccess_[0-9a-f]+\/sim\.user$/);
    expect(c.expiresAt).toBe(Date.parse(cached.expiresAt!));

    // The AWS CLI finds the same token in the shared cache: no new sign-in.
    const pending = world.sim.admin.pendingUserCodes().length;
    const cli = await run('aws', ['sts', 'get-caller-identity', '--profile', 'sso', '--output', 'json'], { env: { ...process.env, ...world.env }, timeout: 60_000 });
    const id = JSON.parse(cli.stdout) as { Account: string; Arn: string };
    expect(id.Account).toBe(ACCOUNT_ID);
    expect(id.Arn).toMatch(/assumed-role\/AWSReservedSSO_AdministratorAccess_[0-9a-f]+\/sim\.user$/);
    expect(world.sim.admin.pendingUserCodes().length).toBe(pending);
  });

  it('SSO: a sign-in that lapses within 15 minutes reads "expiring", one that lapsed "sign in again"', async () => {
    const cacheFile = join(world.home, '.aws', 'sso', 'cache', `${createHash('sha1').update('sim').digest('hex')}.json`);
    const original = await readFile(cacheFile, 'utf8');
    const token = JSON.parse(original) as Record<string, string>;
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await writeFile(cacheFile, JSON.stringify({ ...token, expiresAt: at(10 * 60_000) }));
      aws.credentials.invalidateAll();
      const soon = await check('sso');
      expect(soon).toMatchObject({ state: 'expiring', account: ACCOUNT_ID });
      expect(soon.expiresAt! - Date.now()).toBeLessThan(11 * 60_000);
      // Lapsed, with no refresh token to renew it: the person must sign in again.
      await writeFile(cacheFile, JSON.stringify({ ...token, refreshToken: undefined, expiresAt: at(-60_000) }));
      aws.credentials.invalidateAll();
      expect((await check('sso')).state).toBe('signInRequired');
    } finally {
      await writeFile(cacheFile, original);
      aws.credentials.invalidateAll();
    }
  });

  it('SSO: a new profile from the app — sign in to a new session, list accounts, write the config as aws configure sso does', async () => {
    const before = await readFile(world.configFile, 'utf8');
    const peer = fakePeer();
    peer.on('aws.sso.device', (d) => world.sim.admin.approveDeviceCode(d.userCode));
    const sessions = (await aws.handlers['aws.profiles.list']({}, peer.call())).ssoSessions;
    const sim = sessions.find((s) => s.name === 'sim')!;
    const { accounts } = await aws.handlers['aws.sso.discover']({ requestId: 'sso-2', session: 'corp', startUrl: sim.startUrl!, ssoRegion: sim.region! }, peer.call());
    expect(accounts).toEqual([expect.objectContaining({ accountId: ACCOUNT_ID, roles: ['AdministratorAccess'] })]);
    const result = await aws.handlers['aws.sso.createProfile'](
      { profile: 'corp-admin', session: 'corp', startUrl: sim.startUrl!, ssoRegion: sim.region!, accountId: ACCOUNT_ID, roleName: 'AdministratorAccess', region: 'us-west-2' },
      peer.call(),
    );
    const after = await readFile(world.configFile, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(existsSync(result.backupFile!)).toBe(true);
    expect(await readFile(result.backupFile!, 'utf8')).toBe(before);
    // The endpoint override the simulator needs is a setting like any other; add it and the new profile works.
    await world.addConfig(`[profile corp-admin-sim]\nsso_session = corp\nsso_account_id = ${ACCOUNT_ID}\nsso_role_name = AdministratorAccess\nregion = us-west-2\nendpoint_url = ${world.sim.endpoint}`);
    aws.credentials.invalidateAll();
    expect(await check('corp-admin-sim')).toMatchObject({ state: 'valid', account: ACCOUNT_ID });
  });
});
