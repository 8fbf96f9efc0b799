import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { mintTemporary, uniqueId } from './credentials';
import { ACCOUNT_ID } from './fleet';
import { ApiError, type World } from './state';

/** The IAM OIDC identity provider every simulated account trusts (as `oidc-provider/<host>`). */
export const OIDC_ISSUER = 'https://oidc.keyless-sim.test';
/** The client id (audience) the provider is registered with, as for EKS and most CI systems. */
export const OIDC_AUDIENCE = 'sts.amazonaws.com';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface WebIdentityTokenOptions {
  /** `sub` claim (default `system:serviceaccount:default:keyless`). */
  subject?: string;
  /** `aud` claim (default sts.amazonaws.com). */
  audience?: string;
  /** `iss` claim (default the simulator's provider). A token from any other issuer is refused. */
  issuer?: string;
  /** Lifetime from now on the service clock (default 3600 s; negative: already expired). */
  ttlSeconds?: number;
}

/**
 * The simulator's OIDC provider: issues RS256 JWTs (what an EKS service account or a CI system
 * writes to `web_identity_token_file`) and verifies them for AssumeRoleWithWebIdentity.
 */
export class OidcProvider {
  private key?: { privateKey: KeyObject; publicKey: KeyObject; kid: string };

  private keys() {
    // RSA key generation is slow-ish: only when a test first asks for a token.
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.key = { privateKey, publicKey, kid: randomUUID() };
    }
    return this.key;
  }

  issue(w: World, o: WebIdentityTokenOptions = {}): string {
    const k = this.keys();
    const now = Math.floor(w.now().getTime() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: k.kid };
    const claims = {
      iss: o.issuer ?? OIDC_ISSUER,
      sub: o.subject ?? 'system:serviceaccount:default:keyless',
      aud: o.audience ?? OIDC_AUDIENCE,
      iat: now,
      nbf: now - 5,
      exp: now + (o.ttlSeconds ?? 3600),
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), k.privateKey))}`;
  }

  /** The public key as PEM (what the provider's JWKS would publish). */
  publicKeyPem(): string {
    return createPublicKey(this.keys().publicKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** Checks a token as STS does; returns its claims or throws STS's own error. */
  verify(w: World, token: string): { iss: string; sub: string; aud: string; exp: number } {
    const invalid = (m: string) => new ApiError('InvalidIdentityToken', m, 400);
    const parts = token.trim().split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw invalid('The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)');
    let header: { alg?: string; kid?: string };
    let claims: { iss?: unknown; sub?: unknown; aud?: unknown; exp?: unknown; nbf?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as typeof claims;
    } catch {
      throw invalid('The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)');
    }
    if (typeof claims.iss !== 'string' || claims.iss !== OIDC_ISSUER) throw invalid(`No OpenIDConnect provider found in your account for ${String(claims.iss)}`);
    if (header.alg !== 'RS256' || !this.key || header.kid !== this.key.kid || !verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.key.publicKey, Buffer.from(parts[2]!, 'base64url'))) {
      throw invalid('Couldn\u2019t verify the signature of the provided ID Token.');
    }
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!auds.includes(OIDC_AUDIENCE)) throw invalid('Incorrect token audience');
    const now = Math.floor(w.now().getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      throw new ApiError('ExpiredTokenException', `Token expired: current date/time ${now} must be before the expiration date/time ${String(claims.exp)}`, 400);
    }
    if (typeof claims.sub !== 'string' || !claims.sub) throw invalid('The ID Token provided has no subject.');
    return { iss: claims.iss, sub: claims.sub, aud: OIDC_AUDIENCE, exp: claims.exp };
  }
}

/** How a role's trust policy admits a web identity (Federated: the sim's OIDC provider). */
export interface WebIdentityTrust {
  /** `<host>:sub` condition (StringLike; `*` wildcards). Default: any subject. */
  subject?: string;
}

const likeMatch = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value);

/**
 * STS AssumeRoleWithWebIdentity: no SigV4 (AWS accepts it unsigned); the token is the proof.
 * Returns the `…Result` members.
 */
export function assumeRoleWithWebIdentity(w: World, provider: OidcProvider, params: URLSearchParams): Record<string, unknown> {
  const roleArn = params.get('RoleArn');
  const session = params.get('RoleSessionName');
  const token = params.get('WebIdentityToken');
  if (!roleArn) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null", 400);
  if (!session || !/^[\w+=,.@-]{2,64}$/.test(session)) throw new ApiError('ValidationError', `1 validation error detected: Value '${session ?? 'null'}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`, 400);
  if (!token) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null", 400);
  if (token.length < 4 || token.length > 20000) throw new ApiError('ValidationError', "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000", 400);
  const duration = Number(params.get('DurationSeconds') ?? 3600);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new ApiError('ValidationError', `1 validation error detected: Value '${params.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`, 400);
  const claims = provider.verify(w, token);
  const role = w.roles.get(roleArn);
  if (!role?.webIdentity || (role.webIdentity.subject !== undefined && !likeMatch(role.webIdentity.subject, claims.sub))) {
    throw new ApiError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
  }
  const roleName = roleArn.split('/').pop()!;
  const roleId = uniqueId('AROA', roleArn);
  const creds = mintTemporary(w, `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${session}`, role.policies, duration, roleId);
  return {
    Credentials: { AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, SessionToken: creds.sessionToken!, Expiration: creds.expiration!.toISOString() },
    SubjectFromWebIdentityToken: claims.sub,
    AssumedRoleUser: { AssumedRoleId: `${roleId}:${session}`, Arn: creds.arn },
    Provider: claims.iss,
    Audience: claims.aud,
  };
}
