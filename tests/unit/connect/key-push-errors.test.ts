import { describe, expect, it } from 'vitest';
import { describeKeyPushError } from '../../../electron/main/connect/key-push';

const t = { profile: 'dev', region: 'us-west-2', instanceId: 'i-0123456789abcdef0', osUser: 'root' };
const sdkError = (name: string, message: string, status = 400) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('describeKeyPushError', () => {
  it('an IAM denial names the action, instance and OS user, and gives the statement with ec2:osuser', () => {
    const f = describeKeyPushError(
      sdkError(
        'AccessDeniedException',
        'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ec2-instance-connect:SendSSHPublicKey on resource: arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0 because no identity-based policy allows the ec2-instance-connect:SendSSHPublicKey action',
        403,
      ),
      t,
    );
    expect(f.code).toBe('AwsAccessDenied');
    expect(f.message).toContain('ec2-instance-connect:SendSSHPublicKey');
    expect(f.message).toContain('OS user root');
    expect(f.message).toContain('i-0123456789abcdef0');
    const policy = JSON.parse(String(f.detail?.policy)) as { Resource: string; Condition: { StringEquals: Record<string, string> } };
    expect(policy.Resource).toBe('arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0');
    expect(policy.Condition.StringEquals['ec2:osuser']).toBe('root');
  });

  it('without an ARN in the denial, the statement uses the partition and a wildcard account', () => {
    const f = describeKeyPushError(sdkError('AccessDeniedException', 'Access denied', 403), { ...t, region: 'cn-north-1' });
    expect(JSON.parse(String(f.detail?.policy)).Resource).toBe('arn:aws-cn:ec2:cn-north-1:*:instance/i-0123456789abcdef0');
  });

  it.each([
    ['EC2InstanceNotFoundException', 404, 'InstanceNotFound', false],
    ['EC2InstanceStateInvalidException', 400, 'InstanceNotRunning', false],
    ['EC2InstanceUnavailableException', 503, 'KeyPushRejected', true],
    ['InvalidArgsException', 400, 'KeyPushRejected', false],
    ['ServiceException', 500, 'AwsServiceError', true],
    ['ThrottlingException', 429, 'AwsThrottled', true],
    ['SerialConsoleAccessDisabledException', 403, 'KeyPushRejected', false],
    ['ExpiredTokenException', 400, 'AwsCredentialsExpired', false],
  ])('%s → %s', (name, status, code, retryable) => {
    const f = describeKeyPushError(sdkError(name, 'x', status), t);
    expect(f.code).toBe(code);
    expect(f.retryable).toBe(retryable);
  });
});
