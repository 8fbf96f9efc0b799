import { KeylessFailure } from '../base/errors';

/** The AWS partition of a region, for ARNs in policy statements. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** The resource ARN an AWS denial names ("… on resource: arn:…"), if it does. */
export function deniedResource(message: string): string | undefined {
  return /on resource:\s*(arn:[^\s"]+)/i.exec(message)?.[1]?.replace(/[.,]$/, '');
}

/** The caller an AWS denial names ("User: arn:… is not authorized"), if it does. */
export function deniedPrincipal(message: string): string | undefined {
  return /User:\s*(arn:[^\s"]+)/i.exec(message)?.[1];
}

/** A least-privilege IAM policy statement, as JSON a person can paste into their policy. */
export function policyStatement(action: string, resource: string, condition?: Record<string, Record<string, string | number>>): string {
  return JSON.stringify({ Effect: 'Allow', Action: action, Resource: resource, ...(condition ? { Condition: condition } : {}) }, null, 2);
}

export interface AwsCallContext {
  /** The IAM action, e.g. `ec2:DescribeInstances`. */
  action: string;
  region: string;
  profile: string | undefined;
  /** The ARN the action was on, when known before the call (a denial may name it better). */
  resource?: string;
  instanceId?: string;
}

interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  code?: string;
}

/**
 * Errors every AWS call shares: denial, throttling, expired or unknown credentials, network,
 * 5xx. Callers handle their own service's specific exceptions first.
 */
export function describeAwsError(err: unknown, ctx: AwsCallContext): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const e = err as SdkError;
  const name = e.name ?? e.code ?? '';
  const msg = (e.message ?? String(err)).slice(0, 800);
  const status = e.$metadata?.httpStatusCode;
  const profile = ctx.profile ?? 'default';
  if (name === 'AbortError') return new KeylessFailure('Cancelled', 'The operation was cancelled.', true);
  if (/AccessDenied|UnauthorizedOperation/.test(name)) {
    const resource = deniedResource(msg) ?? ctx.resource ?? '*';
    const statement = policyStatement(ctx.action, resource);
    return new KeylessFailure(
      'AwsAccessDenied',
      `Your IAM policy does not allow ${ctx.action} on ${resource} (profile ${profile}). AWS said: ${msg} A statement that would allow it:\n${statement}`,
      false,
      { action: ctx.action, resource, profile, policy: statement, cause: 'iam' },
    );
  }
  if (/ExpiredToken|RequestExpired|TokenRefreshRequired/.test(name) || /security token included in the request is expired/i.test(msg)) {
    return new KeylessFailure('AwsCredentialsExpired', `The AWS credentials for profile "${profile}" have expired. Sign in again.`, false, { profile });
  }
  if (/InvalidClientTokenId|UnrecognizedClient|AuthFailure|SignatureDoesNotMatch|InvalidSignature/.test(name)) {
    return new KeylessFailure(
      'AwsCredentialsMissing',
      `AWS did not accept the credentials of profile "${profile}" (${name}). Check the access key, or that this computer's clock is right.`,
      false,
      { profile, reason: name },
    );
  }
  if (/Throttl|RequestLimitExceeded|TooManyRequests/.test(name) || status === 429) {
    return new KeylessFailure('AwsThrottled', `AWS is throttling ${ctx.action} in ${ctx.region}. Try again in a moment.`, true, { action: ctx.action });
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|TimeoutError/.test(name + ' ' + (e.code ?? '') + ' ' + msg)) {
    return new KeylessFailure('NetworkError', `AWS could not be reached for ${ctx.action} in ${ctx.region}: ${msg}`, true, { action: ctx.action, region: ctx.region, step: ctx.action, cause: 'aws' });
  }
  return new KeylessFailure('AwsServiceError', `${ctx.action} failed in ${ctx.region}: ${name ? name + ': ' : ''}${msg}`, e.$fault === 'server' || (status ?? 0) >= 500, {
    action: ctx.action,
    status: status ?? null,
  });
}
