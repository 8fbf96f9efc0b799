import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';

/** The parts of a SigV4 signature a request carries, from its Authorization header or its query. */
export interface SigV4Claim {
  kind: 'header' | 'query';
  accessKeyId: string;
  /** `X-Amz-Date`, e.g. 20200101T010101Z. */
  amzDate: string;
  signingTime: Date;
  scope: { date: string; region: string; service: string };
  signedHeaders: string[];
  signature: string;
  sessionToken?: string;
  /** Query auth only: X-Amz-Expires in seconds. */
  expiresIn?: number;
}

/** An incoming request as the verifier needs it. `rawQuery` is the part after `?`, undecoded. */
export interface IncomingSigned {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export type ClaimResult = { ok: true; claim: SigV4Claim } | { ok: false; reason: 'missing' | 'malformed'; message: string };

/** `a=1&b=2&b=3` into SigV4's own view: percent-decoded, `+` kept literal, repeats as arrays. */
export function parseQuery(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function header(headers: IncomingSigned['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function parseCredential(cred: string): { accessKeyId: string; scope: SigV4Claim['scope'] } | undefined {
  const parts = cred.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return undefined;
  return { accessKeyId: parts[0]!, scope: { date: parts[1]!, region: parts[2]!, service: parts[3]! } };
}

/** Reads the signature claim, without judging it. */
export function readClaim(req: IncomingSigned): ClaimResult {
  const auth = header(req.headers, 'authorization');
  const query = parseQuery(req.rawQuery);
  if (auth) {
    const m = /^AWS4-HMAC-SHA256 (.*)$/.exec(auth.trim());
    if (!m) return { ok: false, reason: 'malformed', message: `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.` };
    const fields = Object.fromEntries(
      m[1]!.split(',').map((kv) => {
        const [k, ...v] = kv.trim().split('=');
        return [k, v.join('=')];
      }),
    ) as Record<string, string | undefined>;
    const cred = fields.Credential ? parseCredential(fields.Credential) : undefined;
    const amzDate = header(req.headers, 'x-amz-date') ?? '';
    const signingTime = parseAmzDate(amzDate);
    if (!cred || !fields.SignedHeaders || !fields.Signature) return { ok: false, reason: 'malformed', message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.` };
    if (!signingTime) return { ok: false, reason: 'malformed', message: `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.` };
    return {
      ok: true,
      claim: {
        kind: 'header',
        accessKeyId: cred.accessKeyId,
        scope: cred.scope,
        amzDate,
        signingTime,
        signedHeaders: fields.SignedHeaders.split(';'),
        signature: fields.Signature,
        sessionToken: header(req.headers, 'x-amz-security-token'),
      },
    };
  }
  if (query['X-Amz-Algorithm'] !== undefined || query['X-Amz-Signature'] !== undefined) {
    const one = (k: string) => (Array.isArray(query[k]) ? undefined : (query[k] as string | undefined));
    const cred = parseCredential(one('X-Amz-Credential') ?? '');
    const amzDate = one('X-Amz-Date') ?? '';
    const signingTime = parseAmzDate(amzDate);
    const expires = Number(one('X-Amz-Expires'));
    if (one('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !cred || !signingTime || !one('X-Amz-SignedHeaders') || !one('X-Amz-Signature') || !Number.isInteger(expires)) {
      return { ok: false, reason: 'malformed', message: 'AWS query-string parameters must include X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.' };
    }
    return {
      ok: true,
      claim: {
        kind: 'query',
        accessKeyId: cred.accessKeyId,
        scope: cred.scope,
        amzDate,
        signingTime,
        signedHeaders: one('X-Amz-SignedHeaders')!.split(';'),
        signature: one('X-Amz-Signature')!,
        sessionToken: one('X-Amz-Security-Token'),
        expiresIn: expires,
      },
    };
  }
  return { ok: false, reason: 'missing', message: 'Request is missing Authentication Token' };
}

const QUERY_AUTH_PARAMS = new Set(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token']);

/**
 * Recomputes the signature with @smithy/signature-v4 from the request as received (only the
 * headers it says it signed) and the secret we hold, and compares. No crypto of our own.
 */
export async function signatureMatches(req: IncomingSigned, claim: SigV4Claim, secretAccessKey: string): Promise<boolean> {
  const signed = new Set(claim.signedHeaders.map((h) => h.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = header(req.headers, name);
    if (v === undefined) return false;
    headers[name] = v;
  }
  // A signed payload hash vouches for the body only if it is the body's hash.
  const claimedHash = headers['x-amz-content-sha256'];
  if (claim.kind === 'header' && claimedHash && /^[0-9a-f]{64}$/.test(claimedHash) && claimedHash !== createHash('sha256').update(req.body).digest('hex')) return false;
  const query = parseQuery(req.rawQuery);
  if (claim.kind === 'query') for (const k of QUERY_AUTH_PARAMS) delete query[k];
  const hostHeader = headers.host ?? '';
  const request = new HttpRequest({
    method: req.method,
    protocol: 'https:',
    hostname: hostHeader.replace(/:\d+$/, ''),
    path: req.path,
    query,
    headers,
    body: claim.kind === 'header' ? req.body : undefined,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: claim.accessKeyId, secretAccessKey, sessionToken: claim.sessionToken },
    region: claim.scope.region,
    service: claim.scope.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  let expected: string | undefined;
  if (claim.kind === 'header') {
    const out = await signer.sign(request, { signingDate: claim.signingTime, signableHeaders: signed });
    expected = /Signature=([0-9a-f]+)/.exec(String(out.headers.authorization ?? out.headers.Authorization))?.[1];
  } else {
    const out = await signer.presign(request, { signingDate: claim.signingTime, expiresIn: claim.expiresIn, signableHeaders: signed });
    expected = String(out.query?.['X-Amz-Signature'] ?? '');
  }
  if (!expected || expected.length !== claim.signature.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(claim.signature));
}

/** SigV4's timestamp form, for messages that quote it. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export type TimeProblem = { kind: 'expired' | 'notYetCurrent' | 'presignExpired'; message: string };

/**
 * How far in the future a presigned URL's X-Amz-Date may be. AWS gives header auth 15 minutes
 * either way, but a presigned URL is good from its X-Amz-Date only: one dated by a clock that
 * runs fast is refused until that moment comes (a URL of 60 seconds, never).
 */
export const PRESIGNED_FUTURE_ALLOWANCE_MS = 1000;

/**
 * Header auth is good for 15 minutes either side of the server's clock; a presigned URL from its
 * X-Amz-Date (a second's allowance) until X-Amz-Expires later. The messages are AWS's.
 */
export function timeProblem(claim: SigV4Claim, now: Date): TimeProblem | undefined {
  const skewMs = 15 * 60_000;
  const t = claim.signingTime.getTime();
  if (claim.kind === 'query') {
    if (now.getTime() > t + (claim.expiresIn ?? 0) * 1000) return { kind: 'presignExpired', message: 'Request has expired' };
    const latest = new Date(now.getTime() + PRESIGNED_FUTURE_ALLOWANCE_MS);
    if (t > latest.getTime()) return { kind: 'notYetCurrent', message: `Signature not yet current: ${claim.amzDate} is still later than ${amzDate(latest)} (${amzDate(now)} + 1 sec.)` };
    return undefined;
  }
  if (t < now.getTime() - skewMs) return { kind: 'expired', message: `Signature expired: ${claim.amzDate} is now earlier than ${amzDate(new Date(now.getTime() - skewMs))} (${amzDate(now)} - 15 min.)` };
  if (t > now.getTime() + skewMs) return { kind: 'notYetCurrent', message: `Signature not yet current: ${claim.amzDate} is still later than ${amzDate(new Date(now.getTime() + skewMs))} (${amzDate(now)} + 15 min.)` };
  return undefined;
}
