import type { AlarmRuleId } from '../../contract';
import { partitionOf } from '../aws/errors';
import { INSTANCE_CONNECT_SOURCE } from './cloudtrail-lookup';

/**
 * Alarms on unusual EC2 Instance Connect activity, as the seed article's audit section sets them
 * up: CloudTrail sends its events to a CloudWatch Logs group, a metric filter per kind of unusual
 * event counts them, and an alarm notifies an SNS topic. Each rule is a list of CloudTrail fields
 * and the value each must have; the same rule writes the metric filter's pattern and marks the
 * events in the audit view that the alarm would count, so the two never disagree.
 */
export interface AlarmRule {
  id: AlarmRuleId;
  /** The CloudWatch metric the filter counts into. */
  metricName: string;
  /** CloudTrail record fields (dotted paths) and the value each must have; `*` stands for any characters. */
  fields: ReadonlyArray<readonly [path: string, value: string]>;
}

export const ALARM_NAMESPACE = 'Keyless/InstanceConnect';
export const LOG_GROUP = '/keyless/instance-connect';
const PREFIX = 'keyless-instance-connect';

export const ALARM_RULES: readonly AlarmRule[] = [
  // SendSSHPublicKey or OpenTunnel refused by IAM (AccessDenied, AccessDeniedException): someone
  // tried what their policy does not allow.
  { id: 'denied', metricName: 'InstanceConnectDenied', fields: [['eventSource', INSTANCE_CONNECT_SOURCE], ['errorCode', 'AccessDenied*']] },
  // A key pushed for root: least privilege names the OS users (ec2:osuser), and root is never one.
  { id: 'rootUser', metricName: 'InstanceConnectRootUser', fields: [['eventSource', INSTANCE_CONNECT_SOURCE], ['requestParameters.instanceOSUser', 'root']] },
];

/** The CloudWatch Logs JSON filter pattern of a rule, e.g. `{ ($.eventSource = "…") && ($.errorCode = "*") }`. */
export function filterPattern(rule: AlarmRule): string {
  return `{ ${rule.fields.map(([path, value]) => `($.${path} = ${JSON.stringify(value)})`).join(' && ')} }`;
}

/** Whether a CloudTrail record (its JSON document) is one the rule's filter counts. */
export function ruleMatches(rule: AlarmRule, record: unknown): boolean {
  return rule.fields.every(([path, value]) => {
    let v: unknown = record;
    for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    // CloudWatch compares JSON strings and numbers as text, `*` matching any run of characters.
    if (typeof v !== 'string' && typeof v !== 'number') return false;
    return glob(value).test(String(v));
  });
}

const glob = (value: string) => new RegExp(`^${value.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');

/** The rules a CloudTrail record would set off. */
export function alarmsFor(record: unknown): AlarmRuleId[] {
  return ALARM_RULES.filter((r) => ruleMatches(r, record)).map((r) => r.id);
}

export interface AlarmSetupOptions {
  region: string;
  /** The account the trail and role live in; unknown: a placeholder to replace. */
  account: string | null;
  /** An S3 bucket CloudTrail may write to; unknown: a Terraform variable / placeholder. */
  trailBucket?: string | undefined;
  /** The SNS topic the alarms notify; unknown: a Terraform variable / placeholder. */
  topicArn?: string | undefined;
  /** Events in five minutes that set an alarm off (default 1). */
  threshold?: number | undefined;
}

export interface AlarmSetupText {
  terraform: string;
  /** AWS CLI commands, one a line, to paste into a shell. */
  cli: string;
  patterns: Array<{ id: AlarmRuleId; metricName: string; pattern: string }>;
}

const hcl = (s: string) => JSON.stringify(s).replace(/\$\{/g, '$$${').replace(/%\{/g, '%%{');
const sh = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Terraform and the equivalent AWS CLI commands for: a log group, a role CloudTrail uses to write
 * to it, a trail sending its events there (an existing trail can take the two CloudWatch Logs
 * settings instead), one metric filter and one alarm per rule.
 */
export function alarmSetupText(o: AlarmSetupOptions): AlarmSetupText {
  const partition = partitionOf(o.region);
  const threshold = o.threshold ?? 1;
  const account = o.account ?? 'ACCOUNT_ID';
  const role = `${PREFIX}-trail-to-logs`;
  const trail = PREFIX;
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  const groupArn = `arn:${partition}:logs:${o.region}:${account}:log-group:${LOG_GROUP}`;
  const write = (resource: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: resource }] });
  const patterns = ALARM_RULES.map((r) => ({ id: r.id, metricName: r.metricName, pattern: filterPattern(r) }));
  const name = (id: string) => `${PREFIX}-${id.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;

  const tf: string[] = [
    `# Alarms on unusual EC2 Instance Connect activity in ${o.region}: CloudTrail → CloudWatch Logs → metric filters → alarms.`,
    `# An existing trail can send its events to this log group instead: give it the two cloud_watch_logs_* settings below.`,
  ];
  if (!o.trailBucket) tf.push('', 'variable "trail_bucket" {', '  description = "An S3 bucket CloudTrail may write to (its bucket policy must allow cloudtrail.amazonaws.com)"', '  type        = string', '}');
  if (!o.topicArn) tf.push('', 'variable "alarm_topic_arn" {', '  description = "The SNS topic the alarms notify"', '  type        = string', '}');
  tf.push(
    '',
    'resource "aws_cloudwatch_log_group" "instance_connect" {',
    `  name              = ${hcl(LOG_GROUP)}`,
    '  retention_in_days = 365',
    '}',
    '',
    'resource "aws_iam_role" "trail_to_logs" {',
    `  name               = ${hcl(role)}`,
    `  assume_role_policy = jsonencode(${JSON.stringify(trust)})`,
    '}',
    '',
    'resource "aws_iam_role_policy" "trail_to_logs" {',
    `  name   = ${hcl(role)}`,
    '  role   = aws_iam_role.trail_to_logs.id',
    `  policy = jsonencode(${JSON.stringify(write('LOG_GROUP_STREAMS')).replace('"LOG_GROUP_STREAMS"', '"${aws_cloudwatch_log_group.instance_connect.arn}:*"')})`,
    '}',
    '',
    'resource "aws_cloudtrail" "instance_connect" {',
    `  name                       = ${hcl(trail)}`,
    `  s3_bucket_name             = ${o.trailBucket ? hcl(o.trailBucket) : 'var.trail_bucket'}`,
    '  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.instance_connect.arn}:*"',
    '  cloud_watch_logs_role_arn  = aws_iam_role.trail_to_logs.arn',
    '}',
  );
  for (const p of patterns) {
    const res = p.id.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    tf.push(
      '',
      `resource "aws_cloudwatch_log_metric_filter" "${res}" {`,
      `  name           = ${hcl(name(p.id))}`,
      '  log_group_name = aws_cloudwatch_log_group.instance_connect.name',
      `  pattern        = ${hcl(p.pattern)}`,
      '  metric_transformation {',
      `    name      = ${hcl(p.metricName)}`,
      `    namespace = ${hcl(ALARM_NAMESPACE)}`,
      '    value     = "1"',
      '  }',
      '}',
      '',
      `resource "aws_cloudwatch_metric_alarm" "${res}" {`,
      `  alarm_name          = ${hcl(name(p.id))}`,
      `  namespace           = ${hcl(ALARM_NAMESPACE)}`,
      `  metric_name         = ${hcl(p.metricName)}`,
      '  statistic           = "Sum"',
      '  period              = 300',
      '  evaluation_periods  = 1',
      `  threshold           = ${threshold}`,
      '  comparison_operator = "GreaterThanOrEqualToThreshold"',
      '  treat_missing_data  = "notBreaching"',
      `  alarm_actions       = [${o.topicArn ? hcl(o.topicArn) : 'var.alarm_topic_arn'}]`,
      `  depends_on          = [aws_cloudwatch_log_metric_filter.${res}]`,
      '}',
    );
  }

  const r = ['--region', o.region];
  const cmd = (...words: string[]) => words.map(sh).join(' ');
  const cli = [
    cmd('aws', 'logs', 'create-log-group', ...r, '--log-group-name', LOG_GROUP),
    cmd('aws', 'logs', 'put-retention-policy', ...r, '--log-group-name', LOG_GROUP, '--retention-in-days', '365'),
    cmd('aws', 'iam', 'create-role', '--role-name', role, '--assume-role-policy-document', JSON.stringify(trust)),
    cmd('aws', 'iam', 'put-role-policy', '--role-name', role, '--policy-name', role, '--policy-document', JSON.stringify(write(`${groupArn}:*`))),
    cmd(
      'aws', 'cloudtrail', 'create-trail', ...r, '--name', trail, '--s3-bucket-name', o.trailBucket ?? 'TRAIL_BUCKET',
      '--cloud-watch-logs-log-group-arn', `${groupArn}:*`, '--cloud-watch-logs-role-arn', `arn:${partition}:iam::${account}:role/${role}`,
    ),
    cmd('aws', 'cloudtrail', 'start-logging', ...r, '--name', trail),
    ...patterns.flatMap((p) => [
      cmd(
        'aws', 'logs', 'put-metric-filter', ...r, '--log-group-name', LOG_GROUP, '--filter-name', name(p.id), '--filter-pattern', p.pattern,
        '--metric-transformations', `metricName=${p.metricName},metricNamespace=${ALARM_NAMESPACE},metricValue=1`,
      ),
      cmd(
        'aws', 'cloudwatch', 'put-metric-alarm', ...r, '--alarm-name', name(p.id), '--namespace', ALARM_NAMESPACE, '--metric-name', p.metricName,
        '--statistic', 'Sum', '--period', '300', '--evaluation-periods', '1', '--threshold', String(threshold),
        '--comparison-operator', 'GreaterThanOrEqualToThreshold', '--treat-missing-data', 'notBreaching',
        '--alarm-actions', o.topicArn ?? `arn:${partition}:sns:${o.region}:${account}:TOPIC_NAME`,
      ),
    ]),
  ];
  return { terraform: tf.join('\n') + '\n', cli: cli.join('\n') + '\n', patterns };
}
