import { z } from 'zod';
import { requestIdSchema } from './common';
import { keylessErrorSchema } from './errors';
import { awsProfileSchema, awsRegionSchema, idSchema, instanceIdSchema, osUserSchema } from './hosts';

// ---------------------------------------------------------------------------------------------
// Access policy: least privilege for the chosen hosts, as JSON, Terraform and an AWS CLI command.
// ---------------------------------------------------------------------------------------------

const subnetIdSchema = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as subnet-0123456789abcdef0');
const securityGroupIdSchema = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0123456789abcdef0');

export const POLICY_NOTE_KINDS = ['accountUnknown', 'endpointUnknown', 'securityGroupUnknown'] as const;
export const policyNoteSchema = z.object({
  kind: z.enum(POLICY_NOTE_KINDS),
  /** The region or subnet the note is about. */
  value: z.string(),
});
export type PolicyNoteData = z.infer<typeof policyNoteSchema>;

/** What the person uses Keyless for, beyond connecting (always in the policy). */
export const POLICY_FEATURES = ['inventory', 'audit', 'endpointCreate'] as const;
export type PolicyFeature = (typeof POLICY_FEATURES)[number];
/** Each kind of statement the policy can hold (its Sid, without a number); the dialog gives each its reason. */
export const POLICY_STATEMENT_KINDS = [
  'SendSSHPublicKey',
  'OpenTunnel',
  'GetConsoleOutput',
  'DescribeForDiscovery',
  'Inventory',
  'AuditTrail',
  'CreateEndpoint',
  'TagNewEndpoint',
  'CreateEndpointServiceRole',
] as const;
export const policyStatementInfoSchema = z.object({
  sid: z.string(),
  kind: z.enum(POLICY_STATEMENT_KINDS),
  feature: z.enum(['connect', ...POLICY_FEATURES]),
});
export type PolicyStatementInfo = z.infer<typeof policyStatementInfoSchema>;

export const accessPolicyResultSchema = z.object({
  /** The IAM policy document, two-space indented. */
  policyJson: z.string(),
  /** `aws_iam_policy` (jsonencode of the same JSON), the role attachment, and an endpoint when planned. */
  terraform: z.string(),
  /** `aws ec2 create-instance-connect-endpoint …`, or null when no endpoint is planned. */
  endpointCommand: z.string().nullable(),
  notes: z.array(policyNoteSchema),
  /** How many hosts the policy covers. */
  hosts: z.number(),
  skipped: z.array(z.object({ name: z.string(), reason: z.enum(['notEc2', 'noRegion']) })),
  /** The policy's statements in order, each with what it is for. */
  statements: z.array(policyStatementInfoSchema),
  /** What the Terraform makes besides the policy: the endpoint's subnet (null: none planned), the instances whose groups get the rule, on which ports. */
  terraformParts: z.object({ endpointSubnet: z.string().nullable(), ruleInstances: z.array(z.string()), rulePorts: z.array(z.number()) }).optional(),
});
export type AccessPolicyResult = z.infer<typeof accessPolicyResultSchema>;

// ---------------------------------------------------------------------------------------------
// Audit: CloudTrail's Instance Connect events, and Keyless's own log of its connections.
// ---------------------------------------------------------------------------------------------

/** Kinds of unusual Instance Connect activity Keyless sets alarms on: a refused call, a key pushed for root. */
export const ALARM_RULE_IDS = ['denied', 'rootUser'] as const;
export type AlarmRuleId = (typeof ALARM_RULE_IDS)[number];

export const alarmSetupResultSchema = z.object({
  terraform: z.string(),
  cli: z.string(),
  /** Null when STS could not say (the text then holds ACCOUNT_ID to replace). */
  account: z.string().nullable(),
  /** Each alarm's metric and the CloudWatch Logs filter pattern that counts into it. */
  rules: z.array(z.object({ id: z.enum(ALARM_RULE_IDS), metricName: z.string(), pattern: z.string() })),
});
export type AlarmSetupResult = z.infer<typeof alarmSetupResultSchema>;

export const trailEventSchema = z.object({
  eventId: z.string(),
  /** Epoch ms. */
  time: z.number(),
  /** `SendSSHPublicKey`, `OpenTunnel`, … */
  eventName: z.string(),
  region: z.string(),
  /** The caller's ARN (userIdentity.arn), else CloudTrail's user name. */
  user: z.string(),
  sourceIp: z.string().nullable(),
  instanceId: z.string().nullable(),
  endpointId: z.string().nullable(),
  /** OpenTunnel: the private address the tunnel went to (its requestParameters.privateIpAddress). */
  targetIp: z.string().nullable().optional(),
  osUser: z.string().nullable(),
  /** Null when the call was allowed and worked. */
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  /** The alarms (audit.alarmSetup) this event would set off. */
  alarms: z.array(z.enum(ALARM_RULE_IDS)),
});
export type TrailEventRecord = z.infer<typeof trailEventSchema>;

/** A terminal or port forward opened (or tried), a terminal that reconnected by itself, a terminal that ended. */
export const CONNECTION_KINDS = ['terminal', 'forward', 'reconnect', 'end'] as const;
export const localAuditEntrySchema = z.object({
  /** Epoch ms. */
  time: z.number(),
  kind: z.enum(CONNECTION_KINDS),
  hostName: z.string().nullable(),
  profile: z.string().nullable(),
  region: z.string().nullable(),
  instanceId: z.string().nullable(),
  osUser: z.string().nullable(),
  /** The route actually used (direct, eice, ssh), or the one asked for when it failed before one was chosen. */
  connection: z.string(),
  /** The jump hosts the connection went through, outermost first (absent: none). */
  via: z.array(z.string()).optional(),
  outcome: z.enum(['connected', 'failed', 'cancelled']),
  /** The error code when it failed; for a reconnect, the code of the drop it recovered from. */
  errorCode: z.string().nullable(),
  /** The terminal session, for reconnect and end lines (and the opening line it belongs to). */
  sessionId: z.string().optional(),
  /** How long the session lasted, on its end line. */
  durationMs: z.number().optional(),
});
export type LocalAuditEntry = z.infer<typeof localAuditEntrySchema>;

const MAX_LOOKBACK_MS = 90 * 24 * 3600_000;
const epochMs = z.number().int().min(0);

export const auditRequests = {
  /** The least-privilege policy for the given saved hosts and every host under the given group. */
  'policy.generate': {
    args: z
      .object({
        hostIds: z.array(idSchema).max(1000).optional(),
        groupId: idSchema.optional(),
        /** Plan an Instance Connect Endpoint in this subnet (default: a chosen private instance's subnet, if one has no route). */
        subnetId: subnetIdSchema.optional(),
        securityGroupIds: z.array(securityGroupIdSchema).max(5).optional(),
        /** What else the policy allows besides connecting (none: connecting only). */
        features: z.array(z.enum(POLICY_FEATURES)).max(POLICY_FEATURES.length).optional(),
      })
      .strict()
      .refine((a) => (a.hostIds?.length ?? 0) > 0 || a.groupId !== undefined, 'hosts or a group'),
    result: accessPolicyResultSchema,
  },
  /**
   * CloudTrail LookupEvents for Instance Connect (EventSource ec2-instance-connect.amazonaws.com)
   * in one profile × region, newest first; the last 24 hours unless told.
   */
  'audit.trail': {
    args: z
      .object({
        requestId: requestIdSchema,
        profile: awsProfileSchema,
        region: awsRegionSchema,
        startTime: epochMs.optional(),
        endTime: epochMs.optional(),
        nextToken: z.string().max(4096).optional(),
      })
      .strict()
      .refine((a) => a.startTime === undefined || a.endTime === undefined || a.startTime <= a.endTime, 'start before end')
      .refine((a) => a.startTime === undefined || a.startTime >= Date.now() - MAX_LOOKBACK_MS, 'CloudTrail keeps 90 days'),
    result: z.object({ events: z.array(trailEventSchema), nextToken: z.string().nullable() }),
  },
  /**
   * CloudTrail → CloudWatch Logs → metric filters → alarms on unusual Instance Connect activity in
   * one region, as Terraform and as AWS CLI commands. The account comes from STS for the profile.
   */
  'audit.alarmSetup': {
    args: z
      .object({
        profile: awsProfileSchema,
        region: awsRegionSchema,
        trailBucket: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens')
          .optional(),
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:alerts')
          .optional(),
        threshold: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    result: alarmSetupResultSchema,
  },
  /** Keyless's own log of connections, newest first. */
  'audit.local': {
    args: z.object({ limit: z.number().int().min(1).max(5000).optional() }).strict(),
    result: z.object({ file: z.string(), entries: z.array(localAuditEntrySchema) }),
  },
} as const;

/** One event of a search over several profiles and regions, with the profile that read it. */
export const searchedEventSchema = trailEventSchema.extend({ profile: z.string() });
export type SearchedEvent = z.infer<typeof searchedEventSchema>;

/** The review of a period: what the article's regular audit looks at. */
const reviewCountsSchema = z.object({ total: z.number(), refused: z.number(), root: z.number() });
export const trailReviewSchema = reviewCountsSchema.extend({
  startTime: z.number(),
  endTime: z.number(),
  /** Key pushes and tunnels that worked. */
  allowed: z.number(),
  /** Per person (ARN), most events first: how many, refused, for root, and the hosts reached. */
  people: z.array(reviewCountsSchema.extend({ user: z.string(), hosts: z.array(z.string()) })),
  /** Per host (instance id, else endpoint → address), most events first, and who reached it. */
  hosts: z.array(reviewCountsSchema.extend({ host: z.string(), people: z.array(z.string()) })),
});
export type TrailReview = z.infer<typeof trailReviewSchema>;

export const searchScopeSchema = z.object({
  profile: z.string(),
  region: z.string(),
  status: z.enum(['ok', 'failed']),
  error: keylessErrorSchema.optional(),
  /** Events read here before filtering, and whether older ones were left unread (the page limit). */
  read: z.number(),
  truncated: z.boolean(),
  ms: z.number(),
});
export type SearchScope = z.infer<typeof searchScopeSchema>;

/** A person as CloudTrail names them: an ARN (or a user name), printable, no spaces. */
const personSchema = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[\x21-\x7e]+$/, 'an ARN such as arn:aws:iam::123456789012:user/alice');

export const auditSearchRequests = {
  /**
   * CloudTrail's Instance Connect events in every profile × region at once (in parallel, each
   * paged to its end or 1,000 events), merged newest first without repeats (profiles of one
   * account read the same trail), filtered exactly, with the review of what is left.
   */
  'audit.search': {
    args: z
      .object({
        requestId: requestIdSchema,
        profiles: z.array(awsProfileSchema).min(1).max(20),
        regions: z.array(awsRegionSchema).min(1).max(32),
        startTime: epochMs.optional(),
        endTime: epochMs.optional(),
        /** A saved EC2 host: its instance (and, from the inventory, its private address for tunnels). */
        hostId: idSchema.optional(),
        instanceId: instanceIdSchema.optional(),
        user: personSchema.optional(),
        osUser: osUserSchema.optional(),
        /** Only refused calls. */
        refusedOnly: z.boolean().optional(),
      })
      .strict()
      .refine((a) => a.startTime === undefined || a.endTime === undefined || a.startTime <= a.endTime, 'start before end')
      .refine((a) => a.startTime === undefined || a.startTime >= Date.now() - MAX_LOOKBACK_MS, 'CloudTrail keeps 90 days')
      .refine((a) => a.hostId === undefined || a.instanceId === undefined, 'a host or an instance, not both'),
    result: z.object({
      events: z.array(searchedEventSchema),
      scopes: z.array(searchScopeSchema),
      review: trailReviewSchema,
      /** The host filter as applied: its instance, and the private address OpenTunnel records name. */
      host: z.object({ name: z.string().nullable(), instanceId: z.string(), privateIp: z.string().nullable() }).nullable(),
    }),
  },
} as const;

export const auditEvents = {} as const;
