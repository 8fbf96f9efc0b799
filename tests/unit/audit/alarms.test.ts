import { describe, expect, it } from 'vitest';
import { ALARM_RULES, alarmSetupText, alarmsFor } from '../../../electron/main/audit/alarms';

const push = (over: Record<string, unknown>) => ({
  eventSource: 'ec2-instance-connect.amazonaws.com',
  eventName: 'SendSSHPublicKey',
  requestParameters: { instanceId: 'i-0123456789abcdef0', instanceOSUser: 'ec2-user' },
  ...over,
});

describe('alarms on unusual Instance Connect activity', () => {
  it('counts refusals by IAM and keys for root, as the metric filters would', () => {
    expect(alarmsFor(push({}))).toEqual([]);
    expect(alarmsFor(push({ errorCode: 'AccessDenied' }))).toEqual(['denied']);
    expect(alarmsFor(push({ errorCode: 'AccessDeniedException' }))).toEqual(['denied']);
    // A failure that is not a refusal (a wrong instance id) is not what the alarm is about.
    expect(alarmsFor(push({ errorCode: 'EC2InstanceNotFoundException' }))).toEqual([]);
    expect(alarmsFor(push({ requestParameters: { instanceOSUser: 'root' } }))).toEqual(['rootUser']);
    expect(alarmsFor(push({ errorCode: 'AccessDenied', requestParameters: { instanceOSUser: 'root' } }))).toEqual(['denied', 'rootUser']);
    // Another service's events, and records without the fields, never count.
    expect(alarmsFor(push({ eventSource: 'ec2.amazonaws.com', errorCode: 'AccessDenied' }))).toEqual([]);
    expect(alarmsFor(push({ requestParameters: null }))).toEqual([]);
    expect(alarmsFor({})).toEqual([]);
    expect(alarmsFor(null)).toEqual([]);
  });

  it('leaves what it does not know as variables and placeholders to fill in', () => {
    const t = alarmSetupText({ region: 'eu-west-1', account: null });
    expect(t.terraform).toContain('variable "trail_bucket"');
    expect(t.terraform).toContain('variable "alarm_topic_arn"');
    expect(t.terraform).toContain('s3_bucket_name             = var.trail_bucket');
    expect(t.terraform.match(/alarm_actions {7}= \[var\.alarm_topic_arn\]/g)).toHaveLength(ALARM_RULES.length);
    expect(t.cli).toContain('--s3-bucket-name TRAIL_BUCKET');
    expect(t.cli).toContain('arn:aws:iam::ACCOUNT_ID:role/keyless-instance-connect-trail-to-logs');
    expect(t.cli).toContain('arn:aws:sns:eu-west-1:ACCOUNT_ID:TOPIC_NAME');
  });

  it('writes the partition of the region into every ARN', () => {
    const t = alarmSetupText({ region: 'cn-north-1', account: '123456789012', trailBucket: 'trail-logs', topicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:alerts', threshold: 5 });
    expect(t.cli).toContain('arn:aws-cn:logs:cn-north-1:123456789012:log-group:/keyless/instance-connect:*');
    expect(t.cli).not.toMatch(/arn:aws:/);
    expect(t.terraform).not.toContain('variable ');
    expect(t.terraform).toContain('threshold           = 5');
  });
});
