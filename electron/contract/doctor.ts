import { z } from 'zod';
import { exactlyOne, exactlyOneMessage, hostRef } from './connect';
import { instanceIdSchema } from './hosts';

// ---------------------------------------------------------------------------------------------
// The doctor: why a connection to an EC2 instance fails, read from the account, in the order of
// the connect path; each failed line with its fix (AWS CLI, Terraform, and for security groups a
// one-click change).
// ---------------------------------------------------------------------------------------------

/** The checklist's lines, in connect-path order. */
export const DOCTOR_CHECKS = ['credentials', 'iamPush', 'iamTunnel', 'instanceState', 'statusChecks', 'metadata', 'osUser', 'route', 'securityGroups', 'networkAcls', 'sshd', 'load'] as const;
export type DoctorCheck = (typeof DOCTOR_CHECKS)[number];

export const DOCTOR_STATUSES = ['passed', 'failed', 'couldNotCheck', 'notApplicable'] as const;
export type DoctorStatus = (typeof DOCTOR_STATUSES)[number];

/** What a line found: each is worded by `doctor.finding.<code>` with the line's params. */
export const DOCTOR_FINDINGS = [
  'credentialsOk',
  'credentialsFailed',
  'iamAllowed',
  'iamDenied',
  'iamPushAllowedByTry',
  'iamPushDeniedByTry',
  'iamNotSimulated',
  'running',
  'notRunning',
  'statusOk',
  'statusImpaired',
  'metadataEnabled',
  'metadataDisabled',
  'osUserExpected',
  'osUserUnexpected',
  'routeInternet',
  'routeNoPublicIp',
  'routeNoInternetGateway',
  'routeEndpoint',
  'routeNoEndpoint',
  'groupsAllow',
  'groupsBlockClient',
  'groupsBlockEndpointEgress',
  'groupsBlockEndpointIngress',
  'aclsAllow',
  'aclsBlockInbound',
  'aclsBlockReturn',
  'sshdTookKey',
  'sshdRefusedKey',
  'sshdUnreachable',
  'sshdNotTried',
  'loadOk',
  'loadHighCpu',
  'loadNoCredits',
  'notApplicable',
  'readFailed',
] as const;
export type DoctorFinding = (typeof DOCTOR_FINDINGS)[number];

const groupIdSchema = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0123456789abcdef0');
/** One address only: a fix never opens a port to a range, let alone 0.0.0.0/0 or ::/0. */
const hostCidrSchema = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/32$/, 'a single IPv4 address as a /32');

/** A security-group change the doctor proposes and the person may apply with one click. */
export const doctorGroupChangeSchema = z
  .object({
    direction: z.enum(['ingress', 'egress']),
    groupId: groupIdSchema,
    /** Always TCP 22: the SSH port the connection needs. */
    port: z.literal(22),
    /** The peer: one address (the client's public address), or another security group. */
    peer: z.union([z.object({ cidr: hostCidrSchema }).strict(), z.object({ groupId: groupIdSchema }).strict()]),
  })
  .strict();
export type DoctorGroupChange = z.infer<typeof doctorGroupChangeSchema>;

export const doctorFixSchema = z.object({
  /** The AWS CLI command(s) that fix it, one per line. */
  cli: z.string(),
  /** A Terraform snippet that fixes it. */
  terraform: z.string(),
  /** The one-click change (security groups only), and which other instances share that group. */
  change: doctorGroupChangeSchema.optional(),
  sharedWith: z.array(z.object({ instanceId: instanceIdSchema, name: z.string() })).optional(),
});
export type DoctorFix = z.infer<typeof doctorFixSchema>;

export const doctorLineSchema = z.object({
  check: z.enum(DOCTOR_CHECKS),
  status: z.enum(DOCTOR_STATUSES),
  finding: z.enum(DOCTOR_FINDINGS),
  params: z.record(z.string(), z.union([z.string(), z.number()])),
  /** The permission the doctor lacked to check this line (could-not-check). */
  lacking: z.string().optional(),
  fix: doctorFixSchema.optional(),
});
export type DoctorLine = z.infer<typeof doctorLineSchema>;

/** One AWS call (or the connect attempt) the doctor made, for its timing: which calls it had to wait for. */
export const doctorCallSchema = z.object({ name: z.string(), startMs: z.number(), endMs: z.number(), after: z.array(z.string()) });
export type DoctorCall = z.infer<typeof doctorCallSchema>;

export const doctorReportSchema = z.object({
  instanceId: z.string(),
  route: z.enum(['direct', 'eice']).nullable(),
  osUser: z.string(),
  lines: z.array(doctorLineSchema),
  /** The first failed line's check, or null when every line passed. */
  cause: z.enum(DOCTOR_CHECKS).nullable(),
  wallMs: z.number(),
  calls: z.array(doctorCallSchema),
});
export type DoctorReport = z.infer<typeof doctorReportSchema>;

export const doctorRequests = {
  /** Runs the checklist for a saved EC2 host or an instance. */
  'doctor.run': {
    args: z.object(hostRef).strict().refine(exactlyOne, exactlyOneMessage),
    result: doctorReportSchema,
  },
  /** Applies one security-group change the doctor proposed (TCP 22 from one address or a group, never a range). */
  'doctor.applyFix': {
    args: z
      .object({ ...hostRef, change: doctorGroupChangeSchema })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ ruleIds: z.array(z.string()) }),
  },
} as const;

export const doctorEvents = {} as const;
