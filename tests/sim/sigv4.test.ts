import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { readClaim, signatureMatches, timeProblem, type IncomingSigned } from './sigv4';

// The aws-cli functional test vector (PROTOCOLS.md §3).
const VECTOR =
  'wss://eice-123.ec2-instance-connect-endpoint.us-west-2.amazonaws.com/openTunnel?instanceConnectEndpointId=eice-123&remotePort=22&privateIpAddress=10.0.0.0&maxTunnelDuration=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=access_key%2F20200101%2Fus-west-2%2Fec2-instance-connect%2Faws4_request&X-Amz-Date=20200101T010101Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=3a56740422a5b9aebd22d860b7a30c729e459a6f71a83bc0de3a2b44b7353f28';

function incoming(url: string, extra: Partial<IncomingSigned> = {}): IncomingSigned {
  const u = new URL(url);
  return { method: 'GET', path: u.pathname, rawQuery: u.search.slice(1), headers: { host: u.host }, body: new Uint8Array(), ...extra };
}

describe('SigV4 verification', () => {
  it('accepts the aws-cli presigned openTunnel vector at its own time, and only then', async () => {
    const req = incoming(VECTOR);
    const read = readClaim(req);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.claim.scope).toEqual({ date: '20200101', region: 'us-west-2', service: 'ec2-instance-connect' });
    expect(await signatureMatches(req, read.claim, 'secret_key')).toBe(true);
    expect(timeProblem(read.claim, new Date('2020-01-01T01:01:30Z'))).toBeUndefined();
    expect(timeProblem(read.claim, new Date('2020-01-01T01:02:02Z'))?.kind).toBe('presignExpired');
    // Not before its own date: a second's allowance, not header auth's 15 minutes.
    expect(timeProblem(read.claim, new Date('2020-01-01T01:01:00Z'))).toBeUndefined();
    expect(timeProblem(read.claim, new Date('2020-01-01T01:00:59Z'))).toEqual({
      kind: 'notYetCurrent',
      message: 'Signature not yet current: 20200101T010101Z is still later than 20200101T010100Z (20200101T010059Z + 1 sec.)',
    });
    expect(timeProblem(read.claim, new Date('2020-01-01T00:59:01Z'))?.kind).toBe('notYetCurrent');
    expect(await signatureMatches(req, read.claim, 'other_secret')).toBe(false);
    const tampered = incoming(VECTOR.replace('remotePort=22', 'remotePort=23'));
    expect(await signatureMatches(tampered, read.claim, 'secret_key')).toBe(false);
    const otherHost = incoming(VECTOR.replace('eice-123.ec2', 'eice-124.ec2'));
    expect(await signatureMatches(otherHost, read.claim, 'secret_key')).toBe(false);
  });

  it('verifies header auth with a session token over a signed body, and spots tampering', async () => {
    const body = 'Action=DescribeInstances&Version=2016-11-15';
    const signer = new SignatureV4({
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'sekrit', sessionToken: 'tok' },
      region: 'us-east-1',
      service: 'ec2',
      sha256: Hash.bind(null, 'sha256'),
    });
    const when = new Date('2024-05-01T12:00:00Z');
    const signed = await signer.sign(
      new HttpRequest({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 8080, path: '/', headers: { host: '127.0.0.1:8080', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body }),
      { signingDate: when },
    );
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const req: IncomingSigned = { method: 'POST', path: '/', rawQuery: '', headers, body: Buffer.from(body) };
    const read = readClaim(req);
    if (!read.ok) throw new Error(read.message);
    expect(read.claim.sessionToken).toBe('tok');
    expect(await signatureMatches(req, read.claim, 'sekrit')).toBe(true);
    expect(await signatureMatches({ ...req, body: Buffer.from(body.replace('Describe', 'Xescribe')) }, read.claim, 'sekrit')).toBe(false);
    expect(await signatureMatches({ ...req, headers: { ...headers, 'x-amz-security-token': 'other' } }, { ...read.claim, sessionToken: 'other' }, 'sekrit')).toBe(false);
    expect(timeProblem(read.claim, new Date(when.getTime() + 16 * 60_000))?.message).toMatch(/^Signature expired: 20240501T120000Z is now earlier than/);
    expect(timeProblem(read.claim, new Date(when.getTime() - 16 * 60_000))?.kind).toBe('notYetCurrent');
  });
});
