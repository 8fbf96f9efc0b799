import type { AwsCredentialIdentity } from '@smithy/types';
import { KeylessFailure } from '../base/errors';
import { sdkProcessFailure } from './credential-process';
import { sdk } from './sdk';

/**
 * Where AWS credentials come from, per profile. The connect engine asks only this; full profile
 * management (SSO sign-in, assume-role prompts) can replace the implementation behind it.
 * `profile` undefined means the SDK's default chain (AWS_PROFILE, env keys, SSO, IMDS, …).
 */
export interface CredentialSource {
  credentials(profile: string | undefined): Promise<AwsCredentialIdentity>;
  /** Forget cached credentials (after the service said they expired or were revoked). */
  invalidate(profile: string | undefined): void;
}

/** Refresh this long before expiry, so a key push never carries credentials about to lapse. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/** Turns the SDK's credential-provider errors into words about the profile. */
export function describeCredentialError(err: unknown, profile: string | undefined): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const e = err as { name?: string; message?: string };
  const name = profile ?? 'default';
  const msg = e.message ?? String(err);
  // Before anything quotes the message: it holds the command line and all of its error output.
  const processFailure = sdkProcessFailure(msg, name);
  if (processFailure) return processFailure;
  if (/could not be found|not found in|Profile .* not/i.test(msg) && profile) {
    return new KeylessFailure('AwsProfileUnknown', `The AWS profile "${name}" is not in your AWS config or credentials file.`, false, { profile: name });
  }
  if (e.name === 'AccessDenied' || /is not authorized to perform: sts:|Not authorized to perform sts:|MultiFactorAuthentication failed/.test(msg)) {
    // STS refused to assume the profile's role: trust policy, external_id, or the MFA code.
    const action = /sts:AssumeRole\w*/.exec(msg)?.[0] ?? 'sts:AssumeRole';
    const resource = /on resource:\s*(arn:\S+)/.exec(msg)?.[1] ?? '*';
    return new KeylessFailure('AwsAccessDenied', `AWS refused the role of profile "${name}": ${msg.slice(0, 300)}`, false, { profile: name, action, resource, cause: 'assumeRole' });
  }
  if (/expired|refresh|sso session|token/i.test(msg) && /expir|refresh/i.test(msg)) {
    return new KeylessFailure('AwsCredentialsExpired', `The AWS credentials for profile "${name}" have expired (${msg.slice(0, 200)}). Sign in again (aws sso login --profile ${name}).`, false, {
      profile: name,
    });
  }
  return new KeylessFailure('AwsCredentialsMissing', `No AWS credentials could be loaded for profile "${name}": ${msg.slice(0, 300)}`, false, { profile: name });
}

/** The SDK's own providers (`fromIni` for a named profile, the default chain otherwise), cached until near expiry. */
export class SdkCredentialSource implements CredentialSource {
  private readonly cache = new Map<string, Promise<AwsCredentialIdentity>>();

  async credentials(profile: string | undefined): Promise<AwsCredentialIdentity> {
    const key = profile ?? '';
    const cached = this.cache.get(key);
    if (cached) {
      try {
        const c = await cached;
        if (!c.expiration || c.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS) return c;
      } catch {
        /* a failed load is retried below */
      }
    }
    const loading = sdk
      .credentialProviders()
      .then(({ fromIni, fromNodeProviderChain }) => (profile ? fromIni({ profile }) : fromNodeProviderChain())())
      .catch((err: unknown) => {
      this.cache.delete(key);
      throw describeCredentialError(err, profile);
    });
    this.cache.set(key, loading);
    return loading;
  }

  invalidate(profile: string | undefined): void {
    this.cache.delete(profile ?? '');
  }
}
