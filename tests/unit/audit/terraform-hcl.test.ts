// The Terraform Keyless writes, read by HashiCorp's own HCL parser (hcl2json, built from
// hashicorp/hcl as WebAssembly): it parses, declares what it uses, and its strings hold exactly
// the values meant (filter patterns, policies).
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { alarmSetupText } from '../../../electron/main/audit/alarms';
import { accessPolicyText } from '../../../electron/main/policy/access-policy';

type Blocks = Record<string, Record<string, Array<Record<string, unknown>>>>;
const hcl = (text: string) => parse('keyless.tf', text) as Promise<{ resource: Blocks; variable?: Record<string, unknown[]> }>;

describe('the Terraform Keyless writes, parsed by HCL itself', () => {
  it('alarm setup: every resource, the patterns as written, and variables for what is unknown', async () => {
    const text = alarmSetupText({ region: 'eu-west-1', account: null });
    const tf = await hcl(text.terraform);
    expect(Object.keys(tf.variable ?? {}).sort()).toEqual(['alarm_topic_arn', 'trail_bucket']);
    expect(Object.keys(tf.resource).sort()).toEqual([
      'aws_cloudtrail', 'aws_cloudwatch_log_group', 'aws_cloudwatch_log_metric_filter', 'aws_cloudwatch_metric_alarm', 'aws_iam_role', 'aws_iam_role_policy',
    ]);
    const filters = tf.resource.aws_cloudwatch_log_metric_filter!;
    expect(Object.values(filters).map((f) => f[0]!.pattern)).toEqual(text.patterns.map((p) => p.pattern));
    const trail = tf.resource.aws_cloudtrail!.instance_connect![0]!;
    expect(trail).toMatchObject({ s3_bucket_name: '${var.trail_bucket}', cloud_watch_logs_group_arn: '${aws_cloudwatch_log_group.instance_connect.arn}:*' });
    for (const alarm of Object.values(tf.resource.aws_cloudwatch_metric_alarm!)) expect(alarm[0]!.alarm_actions).toEqual(['${var.alarm_topic_arn}']);
  });

  it('alarm setup with a topic and a bucket: no variables, the values as given', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:security-alerts';
    const tf = await hcl(alarmSetupText({ region: 'eu-west-1', account: '123456789012', topicArn: topic, trailBucket: 'org-trail', threshold: 4 }).terraform);
    expect(tf.variable).toBeUndefined();
    expect(tf.resource.aws_cloudtrail!.instance_connect![0]!.s3_bucket_name).toBe('org-trail');
    for (const alarm of Object.values(tf.resource.aws_cloudwatch_metric_alarm!)) expect(alarm[0]).toMatchObject({ alarm_actions: [topic], threshold: 4 });
  });

  it('access policy: the policy resource and the planned endpoint parse', async () => {
    const text = accessPolicyText([{ instanceId: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', account: '123456789012', osUser: 'ec2-user', endpointId: 'eice-0a1b2c3d4e5f00001', port: 22 }], {
      endpoint: { region: 'us-east-1', subnetId: 'subnet-0a1b2c3d4e5f60012', securityGroupIds: ['sg-0123456789abcdef0'], profile: 'prod' },
    });
    const tf = await hcl(text.terraform);
    expect(Object.keys(tf.resource)).toEqual(expect.arrayContaining(['aws_iam_policy', 'aws_ec2_instance_connect_endpoint']));
  });
});
