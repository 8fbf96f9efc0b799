// Web identity (AssumeRoleWithWebIdentity), MFA codes, opt-in regions and per-region throttling,
// driven through the real AWS CLI as a user would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, OIDC_ISSUER, startSimulator, type Simulator } from './index';
import { aws, awsEnv } from './support';

const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${n}`;
const ADMIN_MFA = `arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin`;

describe('STS identities and region faults against the running simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    const reader = [{ Statement: [{ Effect: 'Allow' as const, Action: ['ec2:Describe*', 'sts:GetCallerIdentity'], Resource: '*' }] }];
    sim = await startSimulator({
      noSshd: true,
      regions: ['us-east-1', 'us-west-2'],
      disabledRegions: ['me-south-1'],
      fleet: {
        roles: [
          { arn: ROLE('Ci'), policies: reader, webIdentity: { subject: 'repo:keyless/*' } },
          { arn: ROLE('Plain'), policies: reader },
          { arn: ROLE('Guarded'), policies: reader, mfaRequired: true, externalId: 'ext-42' },
        ],
      },
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  /** The CLI with no credentials at all: AssumeRoleWithWebIdentity is an unsigned call. */
  const anonymous = (): NodeJS.ProcessEnv => {
    const env = awsEnv({ accessKeyId: 'x', secretAccessKey: 'y' });
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    return env;
  };
  const withToken = (role: string, token: string) =>
    aws(sim.endpoint, anonymous(), ['sts', 'assume-role-with-web-identity', '--role-arn', ROLE(role), '--role-session-name', 'ci-run', '--web-identity-token', token]);

  it('AssumeRoleWithWebIdentity: unsigned, with a token the simulator issued; the credentials work', async () => {
    const token = sim.admin.issueWebIdentityToken({ subject: 'repo:keyless/app:ref:refs/heads/main' });
    expect(token.split('.')).toHaveLength(3);
    const r = await withToken('Ci', token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Ci/ci-run`);
    expect(r.json.AssumedRoleUser.AssumedRoleId).toMatch(/^AROA[A-Z0-9]+:ci-run$/);
    expect(r.json).toMatchObject({ SubjectFromWebIdentityToken: 'repo:keyless/app:ref:refs/heads/main', Audience: 'sts.amazonaws.com', Provider: OIDC_ISSUER });
    const c = r.json.Credentials;
    expect(c.AccessKeyId).toMatch(/^ASIA/);
    expect(Date.parse(c.Expiration) - Date.now()).toBeGreaterThan(55 * 60_000);
    const who = await aws(sim.endpoint, awsEnv({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }), ['sts', 'get-caller-identity']);
    expect(who.json?.Arn, who.stderr).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Ci/ci-run`);
  });

  it('AssumeRoleWithWebIdentity refuses what AWS refuses, in STS words', async () => {
    const [notJwt, expired, foreign, wrongSub, untrusted, forged] = await Promise.all([
      withToken('Ci', 'not-a-token'),
      withToken('Ci', sim.admin.issueWebIdentityToken({ subject: 'repo:keyless/app', ttlSeconds: -60 })),
      withToken('Ci', sim.admin.issueWebIdentityToken({ subject: 'repo:keyless/app', issuer: 'https://token.example.com' })),
      withToken('Ci', sim.admin.issueWebIdentityToken({ subject: 'repo:other/app' })),
      withToken('Plain', sim.admin.issueWebIdentityToken({ subject: 'repo:keyless/app' })),
      withToken('Ci', sim.admin.issueWebIdentityToken({ subject: 'repo:keyless/app' }).replace(/\.[^.]+$/, '.AAAA')),
    ]);
    expect(notJwt.stderr).toMatch(/\(InvalidIdentityToken\).*not a valid JWT/);
    expect(expired.stderr).toMatch(/\(ExpiredTokenException\).*Token expired: current date\/time \d+ must be before the expiration date\/time \d+/);
    expect(foreign.stderr).toMatch(/\(InvalidIdentityToken\).*No OpenIDConnect provider found in your account for https:\/\/token\.example\.com/);
    expect(wrongSub.stderr).toMatch(/\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
    expect(untrusted.stderr).toMatch(/\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
    expect(forged.stderr).toMatch(/\(InvalidIdentityToken\)/);
  });

  it('MFA: the code must be the device’s current one, the serial the caller’s; ExternalId must match', async () => {
    const admin = awsEnv(sim.principals[0]!);
    const assume = (...extra: string[]) => aws(sim.endpoint, admin, ['sts', 'assume-role', '--role-arn', ROLE('Guarded'), '--role-session-name', 'mfa-test', ...extra]);
    sim.admin.setMfaCode(ADMIN_MFA, '246810');
    const [wrongCode, wrongSerial, noMfa, wrongExternal, ok, badFormat] = await Promise.all([
      assume('--external-id', 'ext-42', '--serial-number', ADMIN_MFA, '--token-code', '123456'),
      assume('--external-id', 'ext-42', '--serial-number', `arn:aws:iam::${ACCOUNT_ID}:mfa/someone-else`, '--token-code', '246810'),
      assume('--external-id', 'ext-42'),
      assume('--external-id', 'ext-41', '--serial-number', ADMIN_MFA, '--token-code', '246810'),
      assume('--external-id', 'ext-42', '--serial-number', ADMIN_MFA, '--token-code', '246810'),
      assume('--external-id', 'ext-42', '--serial-number', ADMIN_MFA, '--token-code', '12ab56'),
    ]);
    sim.admin.setMfaCode(ADMIN_MFA, '123456');
    expect(wrongCode.stderr).toMatch(/\(AccessDenied\).*MultiFactorAuthentication failed with invalid MFA one time pass code\./);
    expect(wrongSerial.stderr).toMatch(/\(AccessDenied\).*MultiFactorAuthentication failed, unable to validate MFA code/);
    expect(noMfa.stderr).toMatch(/\(AccessDenied\).*is not authorized to perform: sts:AssumeRole on resource/);
    expect(wrongExternal.stderr).toMatch(/\(AccessDenied\).*is not authorized to perform: sts:AssumeRole on resource/);
    expect(ok.code, ok.stderr).toBe(0);
    expect(badFormat.stderr).toMatch(/ValidationError.*tokenCode/);
  });

  it('an opt-in region the account has not enabled: listed as not-opted-in, EC2 there answers AuthFailure', async () => {
    const admin = awsEnv(sim.principals[0]!);
    const [enabled, all, there] = await Promise.all([
      aws(sim.endpoint, admin, ['ec2', 'describe-regions']),
      aws(sim.endpoint, admin, ['ec2', 'describe-regions', '--all-regions']),
      aws(sim.endpoint, awsEnv(sim.principals[0]!, 'me-south-1'), ['ec2', 'describe-instances']),
    ]);
    expect(enabled.json.Regions.map((r: { RegionName: string }) => r.RegionName)).toEqual(['us-east-1', 'us-west-2']);
    expect(all.json.Regions).toContainEqual(expect.objectContaining({ RegionName: 'me-south-1', OptInStatus: 'not-opted-in' }));
    expect(there.stderr).toMatch(/\(AuthFailure\).*AWS was not able to validate the provided access credentials/);
    sim.admin.setRegionEnabled('me-south-1', true);
    try {
      const after = await aws(sim.endpoint, awsEnv(sim.principals[0]!, 'me-south-1'), ['ec2', 'describe-instances']);
      expect(after.code, after.stderr).toBe(0);
      const listed = await aws(sim.endpoint, admin, ['ec2', 'describe-regions', '--region-names', 'me-south-1']);
      expect(listed.json.Regions).toEqual([expect.objectContaining({ RegionName: 'me-south-1', OptInStatus: 'opted-in' })]);
    } finally {
      sim.admin.setRegionEnabled('me-south-1', false);
    }
  });

  it('throttles one region only: RequestLimitExceeded there, the other region answers', async () => {
    sim.admin.setThrottle('DescribeInstances', 1, 'us-west-2');
    try {
      const [west, east] = await Promise.all([
        aws(sim.endpoint, awsEnv(sim.principals[0]!, 'us-west-2'), ['ec2', 'describe-instances']),
        aws(sim.endpoint, awsEnv(sim.principals[0]!, 'us-east-1'), ['ec2', 'describe-instances']),
      ]);
      expect(west.stderr).toMatch(/\(RequestLimitExceeded\).*Request limit exceeded\./);
      expect(east.code, east.stderr).toBe(0);
    } finally {
      sim.admin.resetFaults();
    }
  });
});
