import { mintTemporary, uniqueId } from './credentials';
import { wildcardMatch } from './iam';
import { ApiError, type Identity, type World } from './state';
import { ACCOUNT_ID } from './fleet';
import { element } from './xml';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_ACTIONS = ['GetCallerIdentity', 'AssumeRole', 'AssumeRoleWithWebIdentity'];
/** STS actions AWS accepts without SigV4: the request carries its own proof. */
export const STS_UNSIGNED_ACTIONS = ['AssumeRoleWithWebIdentity'];

export function respond(action: string, result: Record<string, unknown>, requestId: string): string {
  return `<${action}Response xmlns="${STS_NAMESPACE}">${element(`${action}Result`, result)}${element('ResponseMetadata', { RequestId: requestId })}</${action}Response>`;
}

/** STS query actions; returns the XML body. */
export function handleSts(w: World, action: string, identity: Identity, params: URLSearchParams, requestId: string): string {
  if (action === 'GetCallerIdentity') {
    return respond(action, { Arn: identity.arn, UserId: identity.userId, Account: ACCOUNT_ID }, requestId);
  }
  if (action === 'AssumeRole') {
    const roleArn = params.get('RoleArn');
    const session = params.get('RoleSessionName');
    if (!roleArn) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null", 400);
    if (!session || !/^[\w+=,.@-]{2,64}$/.test(session)) throw new ApiError('ValidationError', `1 validation error detected: Value '${session ?? 'null'}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`, 400);
    const duration = Number(params.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new ApiError('ValidationError', `1 validation error detected: Value '${params.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`, 400);
    const role = w.roles.get(roleArn);
    const denied = () => new ApiError('AccessDenied', `User: ${identity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    try {
      w.authorize(identity, { action: 'sts:AssumeRole', resource: roleArn });
    } catch {
      throw denied();
    }
    if (!role || !role.trusted.some((t) => wildcardMatch(t, identity.arn))) throw denied();
    if (role.externalId !== undefined && params.get('ExternalId') !== role.externalId) throw denied();
    const serial = params.get('SerialNumber');
    const code = params.get('TokenCode');
    if (code !== null && !/^\d{6}$/.test(code)) {
      throw new ApiError('ValidationError', `1 validation error detected: Value '${code}' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*`, 400);
    }
    if (serial !== null || code !== null) {
      // AWS checks a code whenever one is sent, whether or not the trust policy asks for MFA.
      const device = serial ? w.mfaDevices.get(serial) : undefined;
      if (!device || !code || device.userArn !== identity.arn) {
        throw new ApiError('AccessDenied', 'MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.', 403);
      }
      if (code !== device.code) throw new ApiError('AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code. ', 403);
    } else if (role.mfaRequired) {
      throw denied();
    }
    const roleName = roleArn.split('/').pop()!;
    const roleId = uniqueId('AROA', roleArn);
    const creds = mintTemporary(w, `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${session}`, role.policies, duration, roleId);
    return respond(
      action,
      {
        Credentials: { AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, SessionToken: creds.sessionToken!, Expiration: creds.expiration!.toISOString() },
        AssumedRoleUser: { AssumedRoleId: `${roleId}:${session}`, Arn: creds.arn },
      },
      requestId,
    );
  }
  throw new ApiError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
}
