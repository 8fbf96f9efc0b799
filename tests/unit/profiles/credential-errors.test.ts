import { describe, expect, it } from 'vitest';
import { describeCredentialError } from '../../../electron/main/aws/credentials';
import { KeylessFailure } from '../../../electron/main/base/errors';

const stsError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('credential provider errors in words about the profile', () => {
  it('STS refusing the role (trust, external_id, MFA code) is an access denial naming the role, in AWS words', () => {
    const trust = describeCredentialError(
      stsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/a is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Partner'),
      'partner',
    );
    expect(trust).toMatchObject({ code: 'AwsAccessDenied', detail: { profile: 'partner', action: 'sts:AssumeRole', resource: 'arn:aws:iam::123456789012:role/Partner' } });
    const mfa = describeCredentialError(stsError('AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code. '), 'mfa');
    expect(mfa.code).toBe('AwsAccessDenied');
    expect(mfa.message).toContain('MultiFactorAuthentication failed with invalid MFA one time pass code.');
    const web = describeCredentialError(stsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'), 'web');
    expect(web.toData().detail).toMatchObject({ action: 'sts:AssumeRoleWithWebIdentity' });
  });

  it('an expired web identity token reads expired; an unknown profile by name; a KeylessFailure passes through', () => {
    expect(describeCredentialError(stsError('ExpiredTokenException', 'Token expired: current date/time 1700000100 must be before the expiration date/time 1700000000'), 'web').code).toBe('AwsCredentialsExpired');
    expect(describeCredentialError(new Error('Profile nope could not be found in shared credentials file.'), 'nope').code).toBe('AwsProfileUnknown');
    const cancelled = new KeylessFailure('Cancelled', 'The MFA code was not given.', true);
    expect(describeCredentialError(cancelled, 'mfa')).toBe(cancelled);
  });
});
