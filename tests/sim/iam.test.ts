import { describe, expect, it } from 'vitest';
import { seedPolicy } from './fleet';
import { denialMessage, evaluate, wildcardMatch, type PolicyDocument } from './iam';

const INSTANCE = 'i-0123456789abcdef0';
const arn = (id = INSTANCE, region = 'us-east-1') => `arn:aws:ec2:${region}:123456789012:instance/${id}`;
const push = (user: string, id = INSTANCE) => ({ action: 'ec2-instance-connect:SendSSHPublicKey', resource: arn(id), context: { 'ec2:osuser': user } });

describe('IAM identity-policy evaluation', () => {
  it('applies the seed article policy as written', () => {
    const p = [seedPolicy('us-east-1', INSTANCE)];
    expect(evaluate(p, push('ec2-user'))).toBe('allow');
    expect(evaluate(p, push('ubuntu'))).toBe('allow');
    expect(evaluate(p, push('root'))).toBe('implicitDeny');
    expect(evaluate(p, push('ec2-user', 'i-0fffffffffffffff0'))).toBe('implicitDeny');
    expect(evaluate(p, { action: 'ec2:DescribeInstances', resource: '*' })).toBe('allow');
    expect(evaluate(p, { action: 'EC2:describeinstances', resource: '*' })).toBe('allow'); // actions are case-insensitive
    expect(evaluate(p, { action: 'ec2:DescribeVpcs', resource: '*' })).toBe('implicitDeny');
  });

  it('lets an explicit Deny win over any Allow, across policies', () => {
    const allowAll: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: 'ec2-instance-connect:*', Resource: '*' }] };
    const denyUbuntu: PolicyDocument = { Statement: [{ Effect: 'Deny', Action: 'ec2-instance-connect:Send*', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringLike: { 'ec2:osuser': 'ubu*' } } }] };
    expect(evaluate([allowAll, denyUbuntu], push('ubuntu'))).toBe('explicitDeny');
    expect(evaluate([allowAll, denyUbuntu], push('ec2-user'))).toBe('allow');
    expect(denialMessage('arn:aws:iam::123456789012:user/x', push('ubuntu'), 'explicitDeny')).toBe(
      `User: arn:aws:iam::123456789012:user/x is not authorized to perform: ec2-instance-connect:SendSSHPublicKey on resource: ${arn()} with an explicit deny in an identity-based policy`,
    );
    expect(denialMessage('arn:aws:iam::123456789012:user/x', push('root'), 'implicitDeny')).toMatch(/because no identity-based policy allows the ec2-instance-connect:SendSSHPublicKey action$/);
  });

  it('evaluates the OpenTunnel condition keys: numeric, IP ranges, IfExists and Not*', () => {
    const p: PolicyDocument[] = [
      {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'ec2-instance-connect:OpenTunnel',
            Resource: 'arn:aws:ec2:us-east-1:123456789012:instance-connect-endpoint/eice-*',
            Condition: {
              NumericEquals: { 'ec2-instance-connect:remotePort': '22' },
              IpAddress: { 'ec2-instance-connect:privateIpAddress': ['10.0.0.0/16', '192.168.1.5'] },
              NumericLessThanEquals: { 'ec2-instance-connect:maxTunnelDuration': 3600 },
            },
          },
        ],
      },
    ];
    const tunnel = (port: number, ip: string, dur = 3600) => ({ action: 'ec2-instance-connect:OpenTunnel', resource: 'arn:aws:ec2:us-east-1:123456789012:instance-connect-endpoint/eice-0abc', context: { 'ec2-instance-connect:remotePort': port, 'ec2-instance-connect:privateIpAddress': ip, 'ec2-instance-connect:maxTunnelDuration': dur } });
    expect(evaluate(p, tunnel(22, '10.0.3.4'))).toBe('allow');
    expect(evaluate(p, tunnel(22, '192.168.1.5'))).toBe('allow');
    expect(evaluate(p, tunnel(3389, '10.0.3.4'))).toBe('implicitDeny');
    expect(evaluate(p, tunnel(22, '10.1.0.1'))).toBe('implicitDeny');
    expect(evaluate(p, tunnel(22, '10.0.3.4', 3601))).toBe('implicitDeny');
    const missingKey: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEqualsIfExists: { 'ec2:osuser': 'ec2-user' }, StringNotEquals: { 'aws:ResourceTag/env': 'prod' } } }] };
    expect(evaluate([missingKey], { action: 'ec2:DescribeInstances', resource: '*' })).toBe('allow');
    expect(evaluate([missingKey], { ...push('ubuntu') })).toBe('implicitDeny');
    expect(evaluate([missingKey], { ...push('ec2-user'), context: { 'ec2:osuser': 'ec2-user', 'aws:ResourceTag/env': 'prod' } })).toBe('implicitDeny');
  });

  it('matches IAM wildcards, NotAction and NotResource', () => {
    expect(wildcardMatch('arn:aws:ec2:*:*:instance/i-0?23*', 'arn:aws:ec2:us-east-1:1:instance/i-0123abc')).toBe(true);
    expect(wildcardMatch('ec2:Describe*', 'ec2:describeinstances', true)).toBe(true);
    expect(wildcardMatch('ec2:Describe*', 'ec2:GetConsoleOutput', true)).toBe(false);
    const p: PolicyDocument[] = [{ Statement: [{ Effect: 'Allow', NotAction: 'ec2-instance-connect:*', NotResource: 'arn:aws:ec2:*:*:instance/i-secret*', Resource: undefined }] }];
    expect(evaluate(p, { action: 'ec2:DescribeInstances', resource: '*' })).toBe('allow');
    expect(evaluate(p, push('ec2-user'))).toBe('implicitDeny');
    expect(evaluate(p, { action: 'ec2:GetConsoleOutput', resource: arn('i-secret1') })).toBe('implicitDeny');
  });
});
