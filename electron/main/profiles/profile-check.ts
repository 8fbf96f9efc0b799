import type { CredentialState, ProfileCheck, ProfileSummary } from '../../contract';
import { endpointOverride } from '../aws/endpoints';
import { describeAwsError } from '../aws/errors';
import { sdk } from '../aws/sdk';
import { KeylessFailure, toKeylessError } from '../base/errors';
import type { MfaAsker, ProfileCredentials } from './profile-credentials';
import { cachedSsoToken } from './sso-login';

/** Credentials that lapse sooner than this show as "expiring". */
export const EXPIRING_WITHIN_MS = 15 * 60_000;

export function stateAt(expiresAt: number | null, now: number): CredentialState {
  if (expiresAt === null) return 'valid';
  if (expiresAt <= now) return 'expired';
  return expiresAt - now < EXPIRING_WITHIN_MS ? 'expiring' : 'valid';
}

const isSso = (p: ProfileSummary) => p.kind === 'sso' || p.kind === 'ssoLegacy';

/**
 * Who a profile is (STS GetCallerIdentity, through the profile's own endpoint override) and how
 * long its credentials last. For SSO profiles the sign-in token is what lapses, so its expiry is
 * the one shown, and a missing or expired token reads "sign in again".
 */
export async function checkProfile(
  p: ProfileSummary,
  credentials: ProfileCredentials,
  opts: { signal: AbortSignal; askMfa?: MfaAsker; now?: () => number },
): Promise<ProfileCheck> {
  const now = opts.now ?? Date.now;
  const base = { profile: p.name, account: null, arn: null, expiresAt: null, checkedAt: now() };
  let tokenExpiry: number | null = null;
  if (isSso(p) && p.ssoStartUrl) {
    const token = await cachedSsoToken({ session: p.ssoSession ?? undefined, startUrl: p.ssoStartUrl });
    const exp = token ? Date.parse(token.expiresAt) : NaN;
    // An sso-session token with a refresh token is renewed by the SDK; anything else must sign in.
    if (!token || (exp <= now() && !(p.ssoSession && token.refreshToken))) {
      const error = new KeylessFailure('AwsCredentialsExpired', `Sign in to ${p.ssoStartUrl} for profile "${p.name}".`, false, { profile: p.name }).toData();
      return { ...base, state: 'signInRequired', expiresAt: Number.isNaN(exp) ? null : exp, error };
    }
    tokenExpiry = exp;
  }
  let creds;
  try {
    creds = await credentials.credentials(p.name, opts.askMfa);
  } catch (err) {
    const error = toKeylessError(err);
    const state: CredentialState = error.code === 'AwsCredentialsExpired' ? (isSso(p) ? 'signInRequired' : 'expired') : 'error';
    return { ...base, state, error };
  }
  const region = p.region ?? 'us-east-1';
  const [endpoint, { GetCallerIdentityCommand, STSClient }] = await Promise.all([endpointOverride('STS', p.name), sdk.sts()]);
  const sts = new STSClient({ region, profile: p.name, credentials: creds, maxAttempts: 3, ...(endpoint ? { endpoint: endpoint.href } : {}) });
  try {
    const id = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: opts.signal });
    const expiresAt = tokenExpiry ?? creds.expiration?.getTime() ?? null;
    return { ...base, account: id.Account ?? null, arn: id.Arn ?? null, expiresAt, state: stateAt(expiresAt, now()), checkedAt: now() };
  } catch (err) {
    const f = describeAwsError(err, { action: 'sts:GetCallerIdentity', region, profile: p.name });
    if (f.code === 'AwsCredentialsExpired' || f.code === 'AwsCredentialsMissing') credentials.invalidate(p.name);
    const state: CredentialState = f.code === 'AwsCredentialsExpired' ? (isSso(p) ? 'signInRequired' : 'expired') : 'error';
    return { ...base, state, error: f.toData() };
  } finally {
    sts.destroy();
  }
}
