import type { AwsClients } from '../aws/clients';
import { deniedPrincipal, deniedResource, describeAwsError, partitionOf, policyStatement } from '../aws/errors';
import { sdk } from '../aws/sdk';
import { KeylessFailure } from '../base/errors';

export interface KeyPushTarget {
  profile: string | undefined;
  region: string;
  instanceId: string;
  osUser: string;
  availabilityZone?: string;
}

/** A pushed key is accepted by the instance for this long (PROTOCOLS.md §1). */
export const PUSHED_KEY_LIFETIME_MS = 60_000;
/** Past this age a key is pushed again before authenticating, to leave room for the handshake. */
export const REPUSH_AFTER_MS = 45_000;

/** The instance's ARN, with the account as the denial named it or a wildcard. */
function instanceArn(t: KeyPushTarget, message: string): string {
  const named = deniedResource(message);
  if (named) return named;
  return `arn:${partitionOf(t.region)}:ec2:${t.region}:*:instance/${t.instanceId}`;
}

/** SendSSHPublicKey's exceptions (PROTOCOLS.md §1), in words that say what to fix. */
export function describeKeyPushError(err: unknown, t: KeyPushTarget): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const e = err as { name?: string; message?: string };
  const msg = (e.message ?? '').slice(0, 600);
  const where = { instanceId: t.instanceId, region: t.region, osUser: t.osUser };
  switch (e.name) {
    case 'AccessDeniedException':
    case 'AuthException': {
      if (e.name === 'AuthException' && !/not authorized|denied/i.test(msg)) {
        return new KeylessFailure('AwsCredentialsMissing', `EC2 Instance Connect did not accept the credentials of profile "${t.profile ?? 'default'}": ${msg}`, false, {
          ...where,
          profile: t.profile ?? 'default',
        });
      }
      const resource = instanceArn(t, msg);
      const statement = policyStatement('ec2-instance-connect:SendSSHPublicKey', resource, { StringEquals: { 'ec2:osuser': t.osUser } });
      const who = deniedPrincipal(msg);
      return new KeylessFailure(
        'AwsAccessDenied',
        `Your IAM policy does not allow ec2-instance-connect:SendSSHPublicKey for OS user ${t.osUser} on ${t.instanceId}${who ? ` (caller ${who})` : ''}. ` +
          `If ${t.osUser} is the right user, add it to the ec2:osuser condition, for example:\n${statement}`,
        false,
        { ...where, action: 'ec2-instance-connect:SendSSHPublicKey', resource, policy: statement, cause: 'keyPush' },
      );
    }
    case 'EC2InstanceNotFoundException':
      return new KeylessFailure('InstanceNotFound', `The instance ${t.instanceId} was not found in ${t.region}. Check the region and that it was not terminated.`, false, where);
    case 'EC2InstanceStateInvalidException':
      return new KeylessFailure('InstanceNotRunning', `The instance ${t.instanceId} is not running (stopped or terminated); start it first.`, false, where);
    case 'EC2InstanceUnavailableException':
      return new KeylessFailure('KeyPushRejected', `The instance ${t.instanceId} cannot take a key right now (it may still be starting). Try again in a moment.`, true, where);
    case 'InvalidArgsException':
      return new KeylessFailure('KeyPushRejected', `EC2 Instance Connect refused the request: ${msg}`, false, where);
    case 'ServiceException':
      return new KeylessFailure('AwsServiceError', `EC2 Instance Connect had an internal error: ${msg}. Try again.`, true, { ...where, action: 'ec2-instance-connect:SendSSHPublicKey' });
    case 'ThrottlingException':
      return new KeylessFailure('AwsThrottled', `EC2 Instance Connect is throttling key pushes in ${t.region}. Try again in a moment.`, true, where);
    case 'EC2InstanceTypeInvalidException':
    case 'SerialConsoleAccessDisabledException':
    case 'SerialConsoleSessionLimitExceededException':
    case 'SerialConsoleSessionUnavailableException':
    case 'SerialConsoleSessionUnsupportedException':
      return new KeylessFailure('KeyPushRejected', `EC2 Instance Connect refused the serial console key: ${msg}`, false, where);
  }
  return describeAwsError(err, {
    action: 'ec2-instance-connect:SendSSHPublicKey',
    region: t.region,
    profile: t.profile,
    resource: instanceArn(t, msg),
    instanceId: t.instanceId,
  });
}

/** Pushes a public key with SendSSHPublicKey; resolves with the time of the push (its 60 s start then). */
export async function pushKey(clients: AwsClients, t: KeyPushTarget, publicKey: string, signal?: AbortSignal): Promise<number> {
  const started = Date.now();
  try {
    const [client, { SendSSHPublicKeyCommand }] = await Promise.all([clients.instanceConnect(t.profile, t.region), sdk.instanceConnect()]);
    const out = await client.send(
      new SendSSHPublicKeyCommand({
        InstanceId: t.instanceId,
        InstanceOSUser: t.osUser,
        SSHPublicKey: publicKey,
        ...(t.availabilityZone ? { AvailabilityZone: t.availabilityZone } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    if (out.Success === false) {
      throw new KeylessFailure('KeyPushRejected', `EC2 Instance Connect did not accept the key for ${t.osUser} on ${t.instanceId}.`, true, { instanceId: t.instanceId, osUser: t.osUser });
    }
  } catch (err) {
    if (signal?.aborted) throw new KeylessFailure('Cancelled', 'The connection was cancelled.', true);
    if ((err as { name?: string }).name === 'ExpiredTokenException') clients.credentials.invalidate(t.profile);
    throw describeKeyPushError(err, t);
  }
  return started;
}
