import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { getSSOTokenFilepath, getSSOTokenFromFile, type SSOToken } from '@smithy/shared-ini-file-loader';
import type { SsoAccount } from '../../contract';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';
import { checkTokenFile } from '../aws/shared-files';
import { KeylessFailure } from '../base/errors';
import { writeFileAtomic } from '../base/lazy-packages';
import { sleep as sleepOrCancel } from '../base/sleep';

/** What a device-authorization sign-in is for: an sso-session (refreshable token), or a legacy sso_* profile. */
export interface SsoTarget {
  /** The sso-session name; absent for a legacy profile, whose token is keyed by its start URL. */
  session?: string;
  startUrl: string;
  region: string;
  scopes?: string[];
  /** The profile whose endpoint_url the SSO-OIDC client should honour, if any. */
  profile?: string;
}

export interface DeviceCode {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresAt: number;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEFAULT_SCOPES = ['sso:account:access'];

/** The key of a target's token in ~/.aws/sso/cache: the session name, or (legacy) the start URL. */
export const tokenCacheKey = (t: Pick<SsoTarget, 'session' | 'startUrl'>): string => t.session ?? t.startUrl;

/** The AWS CLI writes times as `2026-01-01T00:00:00Z` (UTC, whole seconds); so do we, so both tools read each other's files. */
const cliTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The cached token for a target, or undefined when there is none (or it cannot be read). */
export async function cachedSsoToken(t: Pick<SsoTarget, 'session' | 'startUrl'>): Promise<SSOToken | undefined> {
  try {
    // A FIFO there would hold one of the process's file threads for good: taken as no token (a sign-in replaces it).
    const key = tokenCacheKey(t);
    await checkTokenFile(getSSOTokenFilepath(key));
    const token = (await getSSOTokenFromFile(key)) as SSOToken;
    return token && typeof token.accessToken === 'string' && typeof token.expiresAt === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal: AbortSignal) => sleepOrCancel(ms, signal, 'Sign-in was cancelled.');

function oidcFailure(err: unknown, t: SsoTarget): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const e = err as { name?: string; message?: string };
  const name = e.name ?? '';
  if (name === 'AbortError') return new KeylessFailure('Cancelled', 'Sign-in was cancelled.', true);
  if (name === 'ExpiredTokenException') {
    return new KeylessFailure('AwsSsoSignInFailed', 'The sign-in code expired before it was confirmed. Sign in again.', true, { reason: 'expired', startUrl: t.startUrl });
  }
  if (name === 'AccessDeniedException') {
    return new KeylessFailure('AwsSsoSignInFailed', 'The sign-in request was denied in the browser.', true, { reason: 'denied', startUrl: t.startUrl });
  }
  return new KeylessFailure('AwsSsoSignInFailed', `Signing in to ${t.startUrl} failed: ${name ? name + ': ' : ''}${(e.message ?? String(err)).slice(0, 300)}`, true, {
    reason: name || 'error',
    startUrl: t.startUrl,
  });
}

/**
 * IAM Identity Center sign-in with the OAuth device-authorization flow, as `aws sso login` does:
 * RegisterClient → StartDeviceAuthorization → CreateToken polled at the server's interval
 * (slower after slow_down), then the token written to the SSO cache in the CLI's own format so
 * the AWS CLI and SDKs use the same sign-in. Nothing of the token is logged.
 */
export async function ssoDeviceLogin(
  t: SsoTarget,
  opts: { signal: AbortSignal; onDeviceCode: (c: DeviceCode) => void; now?: () => number },
): Promise<{ expiresAt: number; cacheFile: string }> {
  const now = opts.now ?? Date.now;
  const [endpoint, { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand }] = await Promise.all([endpointOverride('SSO OIDC', t.profile), sdk.ssoOidc()]);
  const client = new SSOOIDCClient({ region: t.region, ...(t.profile ? { profile: t.profile } : {}), ...(endpoint ? { endpoint: endpoint.href } : {}), maxAttempts: 3 });
  const send = { abortSignal: opts.signal };
  try {
    const scopes = t.session ? (t.scopes?.length ? t.scopes : DEFAULT_SCOPES) : undefined;
    const reg = await client.send(
      new RegisterClientCommand({
        clientName: `keyless-${Math.floor(now() / 1000)}`,
        clientType: 'public',
        ...(scopes ? { scopes, grantTypes: [DEVICE_GRANT, 'refresh_token'] } : {}),
      }),
      send,
    );
    if (!reg.clientId || !reg.clientSecret) throw new Error('RegisterClient returned no client');
    const auth = await client.send(
      new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: t.startUrl }),
      send,
    );
    if (!auth.deviceCode || !auth.userCode || !auth.verificationUri) throw new Error('StartDeviceAuthorization returned no code');
    const deadline = now() + (auth.expiresIn ?? 600) * 1000;
    opts.onDeviceCode({
      userCode: auth.userCode,
      verificationUri: auth.verificationUri,
      verificationUriComplete: auth.verificationUriComplete ?? null,
      expiresAt: deadline,
    });
    let interval = Math.max(1, auth.interval ?? 5) * 1000;
    for (;;) {
      if (now() > deadline) throw Object.assign(new Error('device code expired'), { name: 'ExpiredTokenException' });
      await sleep(interval, opts.signal);
      try {
        const tok = await client.send(
          new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }),
          send,
        );
        if (!tok.accessToken) throw new Error('CreateToken returned no token');
        const expiresAt = now() + (tok.expiresIn ?? 3600) * 1000;
        const entry: Record<string, string> = {
          startUrl: t.startUrl,
          region: t.region,
          accessToken: tok.accessToken,
          expiresAt: cliTime(expiresAt),
        };
        if (t.session) {
          entry.clientId = reg.clientId;
          entry.clientSecret = reg.clientSecret;
          if (reg.clientSecretExpiresAt) entry.registrationExpiresAt = cliTime(reg.clientSecretExpiresAt * 1000);
          if (tok.refreshToken) entry.refreshToken = tok.refreshToken;
        }
        const cacheFile = await writeTokenCache(tokenCacheKey(t), entry);
        return { expiresAt, cacheFile };
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'AuthorizationPendingException') continue;
        if (name === 'SlowDownException') {
          interval += 5000;
          continue;
        }
        throw err;
      }
    }
  } catch (err) {
    throw oidcFailure(err, t);
  } finally {
    client.destroy();
  }
}

/** ~/.aws/sso/cache/<sha1(key)>.json, readable by the person only, replaced atomically. */
async function writeTokenCache(key: string, entry: Record<string, string>): Promise<string> {
  const file = getSSOTokenFilepath(key);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(entry, null, 2), { mode: 0o600 });
  return file;
}

/** The accounts and roles a signed-in SSO session may use (for a new profile). */
export async function listSsoAccounts(t: SsoTarget, signal: AbortSignal): Promise<SsoAccount[]> {
  const token = await cachedSsoToken(t);
  if (!token || Date.parse(token.expiresAt) <= Date.now()) {
    throw new KeylessFailure('AwsCredentialsExpired', `The SSO sign-in for ${t.startUrl} has expired. Sign in again.`, false, { profile: t.session ?? t.startUrl });
  }
  const [endpoint, { ListAccountRolesCommand, ListAccountsCommand, SSOClient }] = await Promise.all([endpointOverride('SSO', t.profile), sdk.sso()]);
  const client = new SSOClient({ region: t.region, ...(t.profile ? { profile: t.profile } : {}), ...(endpoint ? { endpoint: endpoint.href } : {}) });
  try {
    const accounts: SsoAccount[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new ListAccountsCommand({ accessToken: token.accessToken, nextToken }), { abortSignal: signal });
      for (const a of page.accountList ?? []) {
        if (a.accountId) accounts.push({ accountId: a.accountId, accountName: a.accountName ?? null, email: a.emailAddress ?? null, roles: [] });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    await Promise.all(
      accounts.map(async (a) => {
        let next: string | undefined;
        do {
          const page = await client.send(new ListAccountRolesCommand({ accessToken: token.accessToken, accountId: a.accountId, nextToken: next }), { abortSignal: signal });
          for (const r of page.roleList ?? []) if (r.roleName) a.roles.push(r.roleName);
          next = page.nextToken;
        } while (next);
      }),
    );
    return accounts;
  } catch (err) {
    throw oidcFailure(err, t);
  } finally {
    client.destroy();
  }
}
