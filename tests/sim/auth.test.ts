import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, startSimulator, type Simulator } from './index';
import { aws, awsEnv } from './support';

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A raw signed request, so a test can sign for the wrong service or tamper after signing. */
async function signedFetch(sim: Simulator, creds: Creds, o: { service: string; region?: string; body: string; target?: string; tamper?: (b: string) => string; at?: Date }) {
  const url = new URL(sim.endpoint);
  const headers: Record<string, string> = { host: url.host, 'content-type': o.target ? 'application/x-amz-json-1.1' : 'application/x-www-form-urlencoded; charset=utf-8' };
  if (o.target) headers['x-amz-target'] = o.target;
  const signer = new SignatureV4({ credentials: creds, region: o.region ?? 'us-east-1', service: o.service, sha256: Hash.bind(null, 'sha256') });
  const req = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers, body: o.body }), { signingDate: o.at ?? new Date() });
  const res = await fetch(sim.endpoint, { method: 'POST', headers: req.headers as Record<string, string>, body: o.tamper ? o.tamper(o.body) : o.body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('SigV4 and credentials against the running simulator', () => {
  let sim: Simulator;
  let admin: Creds;
  beforeAll(async () => {
    const reader = [{ Statement: [{ Effect: 'Allow' as const, Action: ['ec2:Describe*', 'sts:GetCallerIdentity'], Resource: '*' }] }];
    sim = await startSimulator({
      noSshd: true,
      fleet: {
        roles: [
          { arn: `arn:aws:iam::${ACCOUNT_ID}:role/Reader`, policies: reader },
          { arn: `arn:aws:iam::${ACCOUNT_ID}:role/Partner`, policies: reader, externalId: 'keyless-7', mfaRequired: true },
        ],
      },
    });
    admin = sim.principals[0]!;
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const ec2Body = 'Action=DescribeRegions&Version=2016-11-15';

  it('accepts a good signature and rejects a tampered body in the EC2 XML error shape', async () => {
    expect((await signedFetch(sim, admin, { service: 'ec2', body: ec2Body })).status).toBe(200);
    const bad = await signedFetch(sim, admin, { service: 'ec2', body: ec2Body, tamper: (b) => b.replace('Regions', 'Vpcs') });
    expect(bad.status).toBe(403);
    expect(bad.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated does not match/);
    expect(bad.text).toMatch(/<RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
  });

  it('rejects the wrong service, the wrong region and a stale timestamp', async () => {
    const svc = await signedFetch(sim, admin, { service: 'ec2-instance-connect', body: ec2Body });
    expect(svc.text).toContain("<Code>AuthFailure</Code><Message>Credential should be scoped to correct service: 'ec2'.");
    const region = await signedFetch(sim, admin, { service: 'ec2', region: 'ap-nowhere-7', body: ec2Body });
    expect(region.text).toContain('Credential should be scoped to a valid region');
    const stale = await signedFetch(sim, admin, { service: 'ec2', body: ec2Body, at: new Date(Date.now() - 20 * 60_000) });
    expect(stale.text).toMatch(/<Code>RequestExpired<\/Code><Message>Request has expired\. Signature expired: \d{8}T\d{6}Z is now earlier than/);
    const json = await signedFetch(sim, admin, { service: 'ec2-instance-connect', target: 'AWSEC2InstanceConnectService.SendSSHPublicKey', body: '{}', at: new Date(Date.now() + 20 * 60_000) });
    expect(json.status).toBe(403);
    expect(json.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(JSON.parse(json.text)).toMatchObject({ __type: 'InvalidSignatureException', message: expect.stringMatching(/^Signature not yet current/) });
  });

  it('answers unknown keys and wrong secrets per protocol, through the AWS CLI', async () => {
    const stranger = awsEnv({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'nope' });
    const wrongSecret = awsEnv({ accessKeyId: admin.accessKeyId, secretAccessKey: 'not-the-secret' });
    const [ec2, sts, eic, sig] = await Promise.all([
      aws(sim.endpoint, stranger, ['ec2', 'describe-regions']),
      aws(sim.endpoint, stranger, ['sts', 'get-caller-identity']),
      aws(sim.endpoint, stranger, ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', 'i-0123456789abcdef0', '--instance-os-user', 'ec2-user', '--ssh-public-key', 'ssh-ed25519 ' + 'A'.repeat(80)]),
      aws(sim.endpoint, wrongSecret, ['sts', 'get-caller-identity']),
    ]);
    expect(ec2.stderr).toMatch(/\(AuthFailure\).*AWS was not able to validate the provided access credentials/);
    expect(sts.stderr).toMatch(/\(InvalidClientTokenId\).*The security token included in the request is invalid/);
    expect(eic.stderr).toMatch(/\(UnrecognizedClientException\).*The security token included in the request is invalid/);
    expect(sig.stderr).toMatch(/\(SignatureDoesNotMatch\)/);
  });

  it('issues AssumeRole credentials that work, carry their token, and expire', async () => {
    const assumed = await aws(sim.endpoint, awsEnv(admin), ['sts', 'assume-role', '--role-arn', `arn:aws:iam::${ACCOUNT_ID}:role/Reader`, '--role-session-name', 'alice', '--duration-seconds', '900']);
    expect(assumed.code, assumed.stderr).toBe(0);
    const c = assumed.json.Credentials;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(assumed.json.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Reader/alice`);
    const temp = awsEnv({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
    const noToken = awsEnv({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey });
    const [who, describe, denied, missing] = await Promise.all([
      aws(sim.endpoint, temp, ['sts', 'get-caller-identity']),
      aws(sim.endpoint, temp, ['ec2', 'describe-regions']),
      aws(sim.endpoint, temp, ['ec2', 'create-instance-connect-endpoint', '--subnet-id', 'subnet-0123456789abcdef0']),
      aws(sim.endpoint, noToken, ['sts', 'get-caller-identity']),
    ]);
    expect(who.json.Arn).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Reader/alice`);
    expect(describe.code).toBe(0);
    expect(denied.stderr).toMatch(/UnauthorizedOperation.*assumed-role\/Reader\/alice is not authorized to perform: ec2:CreateInstanceConnectEndpoint/);
    expect(missing.stderr).toMatch(/InvalidClientTokenId/);
    sim.admin.setClockSkew(16 * 60_000);
    try {
      const [stsExpired, ec2Expired] = await Promise.all([aws(sim.endpoint, temp, ['sts', 'get-caller-identity']), aws(sim.endpoint, temp, ['ec2', 'describe-regions'])]);
      expect(stsExpired.stderr).toMatch(/\(ExpiredToken\).*The security token included in the request is expired/);
      expect(ec2Expired.stderr).toMatch(/RequestExpired/);
    } finally {
      sim.admin.setClockSkew(0);
    }
    const notTrusted = await aws(sim.endpoint, awsEnv(admin), ['sts', 'assume-role', '--role-arn', `arn:aws:iam::${ACCOUNT_ID}:role/Nope`, '--role-session-name', 'x1']);
    expect(notTrusted.stderr).toMatch(/\(AccessDenied\).*is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role\/Nope/);
  });

  it('enforces a role trust policy’s ExternalId and MFA', async () => {
    const assume = (...extra: string[]) => aws(sim.endpoint, awsEnv(admin), ['sts', 'assume-role', '--role-arn', `arn:aws:iam::${ACCOUNT_ID}:role/Partner`, '--role-session-name', 'partner', ...extra]);
    const [none, noMfa, ok] = await Promise.all([
      assume(),
      assume('--external-id', 'keyless-7'),
      assume('--external-id', 'keyless-7', '--serial-number', `arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin`, '--token-code', '123456'),
    ]);
    expect(none.stderr).toMatch(/AccessDenied/);
    expect(noMfa.stderr).toMatch(/AccessDenied/);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('dates its answers by the service clock, so SDKs can correct their skew', async () => {
    sim.admin.setClockSkew(3600_000);
    try {
      const r = await signedFetch(sim, admin, { service: 'ec2', body: ec2Body, at: new Date(Date.now() + 3600_000) });
      expect(r.status).toBe(200);
      expect(Math.abs(Date.parse(r.headers.get('date')!) - (Date.now() + 3600_000))).toBeLessThan(5000);
    } finally {
      sim.admin.setClockSkew(0);
    }
  });

  it('accepts presigned (query-auth) GetCallerIdentity, as EKS-style tokens use it', async () => {
    const url = new URL(sim.endpoint);
    const signer = new SignatureV4({ credentials: admin, region: 'us-east-1', service: 'sts', sha256: Hash.bind(null, 'sha256') });
    const p = await signer.presign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers: { host: url.host } }), { expiresIn: 60 });
    const qs = new URLSearchParams(p.query as Record<string, string>).toString().replace(/\+/g, '%20');
    const res = await fetch(`${sim.endpoint}/?${qs}`);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain(`<Arn>${sim.principals[0]!.arn}</Arn>`);
  });
});
