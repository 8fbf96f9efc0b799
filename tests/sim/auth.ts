import type { IncomingMessage } from 'node:http';
import { readClaim, signatureMatches, timeProblem, type IncomingSigned, type SigV4Claim } from './sigv4';
import { ApiError, type Identity, type World } from './state';

/** How a protocol words each authentication failure. */
export type Protocol = 'ec2' | 'query' | 'json' | 'tunnel';
type Failure = 'missing' | 'malformed' | 'unknownKey' | 'badSignature' | 'expiredToken' | 'time' | 'presignExpired' | 'scope';

const SIGNATURE_MESSAGE = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const EXPIRED_TOKEN = 'The security token included in the request is expired';

function failure(protocol: Protocol, kind: Failure, message?: string): ApiError {
  if (protocol === 'ec2') {
    switch (kind) {
      case 'missing': return new ApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', 401);
      case 'malformed': return new ApiError('IncompleteSignature', message ?? 'Incomplete signature', 400);
      case 'unknownKey': return new ApiError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
      case 'badSignature': return new ApiError('SignatureDoesNotMatch', SIGNATURE_MESSAGE, 403);
      case 'expiredToken': return new ApiError('RequestExpired', 'Request has expired.', 400);
      case 'time': return new ApiError('RequestExpired', `Request has expired. ${message ?? ''}`.trim(), 400);
      case 'presignExpired': return new ApiError('RequestExpired', 'Request has expired.', 400);
      case 'scope': return new ApiError('AuthFailure', message!, 401);
    }
  }
  if (protocol === 'query') {
    switch (kind) {
      case 'missing': return new ApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
      case 'malformed': return new ApiError('IncompleteSignature', message ?? 'Incomplete signature', 400);
      case 'unknownKey': return new ApiError('InvalidClientTokenId', INVALID_TOKEN, 403);
      case 'badSignature': return new ApiError('SignatureDoesNotMatch', SIGNATURE_MESSAGE, 403);
      case 'expiredToken': return new ApiError('ExpiredToken', EXPIRED_TOKEN, 400);
      case 'time': case 'presignExpired': return new ApiError('SignatureDoesNotMatch', message ?? 'Request has expired', 403);
      case 'scope': return new ApiError('SignatureDoesNotMatch', message!, 403);
    }
  }
  switch (kind) {
    case 'missing': return new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
    case 'malformed': return new ApiError('IncompleteSignatureException', message ?? 'Incomplete signature', 400);
    case 'unknownKey': return new ApiError('UnrecognizedClientException', INVALID_TOKEN, protocol === 'tunnel' ? 403 : 400);
    case 'badSignature': return new ApiError('InvalidSignatureException', SIGNATURE_MESSAGE, 403);
    case 'expiredToken': return new ApiError('ExpiredTokenException', EXPIRED_TOKEN, protocol === 'tunnel' ? 403 : 400);
    case 'time': case 'presignExpired': return new ApiError('InvalidSignatureException', message ?? 'Request has expired', 403);
    case 'scope': return new ApiError('InvalidSignatureException', message!, 403);
  }
}

export interface Authenticated {
  identity: Identity;
  region: string;
  claim: SigV4Claim;
}

export function toSigned(req: IncomingMessage, body: Uint8Array): IncomingSigned {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), rawQuery: q < 0 ? '' : url.slice(q + 1), headers: req.headers, body };
}

/**
 * SigV4 as AWS checks it: a readable claim, a key we issued, its session token (present, equal,
 * unexpired), a scope for a region of ours and for this service, a fresh timestamp, then the
 * signature itself. Throws the protocol's own error.
 */
export async function authenticate(w: World, signed: IncomingSigned, service: string, protocol: Protocol, opts: { anyRegion?: boolean; requireQuery?: boolean } = {}): Promise<Authenticated> {
  const read = readClaim(signed);
  if (!read.ok) throw failure(protocol, read.reason, read.message);
  const claim = read.claim;
  if (opts.requireQuery && claim.kind !== 'query') throw failure(protocol, 'missing');
  // An opt-in region the account has not enabled cannot validate any credentials (EC2: AuthFailure).
  if (w.disabledRegions.has(claim.scope.region) && service !== 'sts') throw failure(protocol, 'unknownKey');
  const identity = w.identities.get(claim.accessKeyId);
  if (!identity || (identity.sessionToken ?? undefined) !== (claim.sessionToken ?? undefined)) throw failure(protocol, 'unknownKey');
  if (identity.expiration && identity.expiration.getTime() <= w.now().getTime()) throw failure(protocol, 'expiredToken');
  const { region, service: scoped } = claim.scope;
  if (!w.hasRegion(region) && !(opts.anyRegion && /^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) throw failure(protocol, 'scope', `Credential should be scoped to a valid region, not '${region}'. `.trim());
  if (scoped !== service) throw failure(protocol, 'scope', `Credential should be scoped to correct service: '${service}'. `.trim());
  const time = timeProblem(claim, w.now());
  if (time) throw failure(protocol, time.kind === 'presignExpired' ? 'presignExpired' : 'time', time.message);
  if (!(await signatureMatches(signed, claim, identity.secretAccessKey))) throw failure(protocol, 'badSignature');
  return { identity, region, claim };
}
