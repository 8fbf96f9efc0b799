import { z } from 'zod';
import { ok, requestIdSchema } from './common';
import { keylessErrorSchema } from './errors';
import {
  awsProfileSchema,
  awsRegionSchema,
  connectionTypeSchema,
  endpointIdSchema,
  hostnameSchema,
  idSchema,
  instanceIdSchema,
  osUserSchema,
  portSchema,
} from './hosts';
import { recordingNameSchema, sessionIdSchema } from './terminal';

/** An EC2 instance to connect to without a saved host (the inventory, a test, the benchmark). */
export const ec2TargetSchema = z
  .object({
    /** Absent: the AWS SDK's default chain (AWS_PROFILE, environment, SSO, …). */
    profile: awsProfileSchema.optional(),
    region: awsRegionSchema,
    instanceId: instanceIdSchema,
    /** Absent: the AMI's usual login user. */
    osUser: osUserSchema.optional(),
    connectionType: connectionTypeSchema.default('auto'),
    endpointId: endpointIdSchema.optional(),
    port: portSchema.default(22),
    maxTunnelDuration: z.number().int().min(1).max(3600).optional(),
  })
  .strict();
export type Ec2TargetInput = z.input<typeof ec2TargetSchema>;

/**
 * What to connect to: a saved host by id (any kind), or an EC2 instance given in full (the
 * inventory, a test, the benchmark): exactly one of the two.
 */
export const hostRef = {
  hostId: idSchema.optional(),
  target: ec2TargetSchema.optional(),
};
export type HostRef = { hostId: string; target?: undefined } | { target: Ec2TargetInput; hostId?: undefined };
export const exactlyOne = (a: { hostId?: string | undefined; target?: unknown }) => (a.hostId === undefined) !== (a.target === undefined);
export const exactlyOneMessage = { message: 'give either hostId or target' };
/** Kept for the EC2-only channels (endpoint offers): the same reference. */
const ec2Where = hostRef;

/**
 * The way a connection was actually made: the last hop's route, and the jump hosts it went
 * through (outermost first). `ssh`: a plain SSH host; `direct`: an EC2 instance at its address;
 * `eice`: an EC2 instance through an Instance Connect Endpoint.
 */
export const routeInfoSchema = z.object({
  kind: z.enum(['ssh', 'direct', 'eice']),
  /** Names of the jump hosts, outermost first; empty when dialled straight. */
  jumps: z.array(z.string()),
  /** Where the last hop connected (an address, or the instance's private address through the endpoint). */
  address: z.string(),
  port: portSchema,
  endpointId: z.string().optional(),
});
export type RouteInfo = z.infer<typeof routeInfoSchema>;

export const forwardKindSchema = z.enum(['eice', 'ssh']);
export const forwardIdSchema = z.string().regex(/^f[0-9]{1,12}$/);
export const forwardInfoSchema = z.object({
  forwardId: forwardIdSchema,
  /** eice: a tunnel per accepted connection straight to port 22/3389; ssh: a channel over the SSH connection. */
  kind: forwardKindSchema,
  /** The instance id, or the plain SSH host's name. */
  instanceId: z.string(),
  /** Always 127.0.0.1. */
  localAddress: z.string(),
  localPort: portSchema,
  remoteHost: z.string(),
  remotePort: portSchema,
  /** Connections carried right now. */
  active: z.number(),
});
export type ForwardInfo = z.infer<typeof forwardInfoSchema>;

const subnetIdSchema = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as subnet-0123456789abcdef0');
const securityGroupIdSchema = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0123456789abcdef0');

/**
 * Why the proposed endpoint gets the security group it gets: the VPC's default group the instance
 * is already in (members reach each other, nothing to change), the instance's own first group
 * (it must allow port 22 from itself), or the VPC's default group (the instance's groups are unknown).
 */
export const ENDPOINT_GROUP_REASONS = ['instanceInDefault', 'instanceGroup', 'vpcDefault'] as const;

/** A new Instance Connect Endpoint Keyless offers to create for an instance whose VPC has none. */
export const endpointProposalSchema = z.object({
  instanceId: z.string(),
  region: z.string(),
  /** null: the SDK's default chain. */
  profile: z.string().nullable(),
  vpcId: z.string(),
  subnetId: z.string(),
  securityGroupId: z.string(),
  securityGroupReason: z.enum(ENDPOINT_GROUP_REASONS),
  /** The groups the instance is in: one of them must allow port 22 from the endpoint's group. */
  instanceSecurityGroupIds: z.array(z.string()),
  /** An endpoint the VPC already has that is not usable yet (e.g. create-in-progress), if any. */
  existing: z.object({ endpointId: z.string(), state: z.string() }).nullable(),
});
export type EndpointProposal = z.infer<typeof endpointProposalSchema>;

const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);

/** EC2 Instance Connect: terminals on instances and port forwards to them. */
export const connectRequests = {
  /**
   * Opens a terminal on a saved host of any kind or an EC2 instance given in full, by whatever
   * route it takes (progress and prompts arrive as events keyed by requestId). The only way a
   * terminal opens. With `reconnect`, retryable failures are retried with backoff (each try with
   * a fresh key) until one works or `op.cancel` stops it.
   */
  'session.open': {
    args: z
      .object({ requestId: requestIdSchema, cols, rows, reconnect: z.boolean().default(false), ...hostRef })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({
      sessionId: sessionIdSchema,
      route: routeInfoSchema,
      /** The user the session logged in as (for EC2, the AMI's usual user when none was set). */
      osUser: z.string(),
      /** The host records its sessions automatically: the recording, written from the first byte. */
      recording: recordingNameSchema.optional(),
      /** The host records its sessions automatically, but this one could not be (the session opened anyway). */
      recordingError: keylessErrorSchema.optional(),
    }),
  },
  /**
   * Listens on 127.0.0.1:localPort (0: any free port) and forwards each connection to the host:
   * `ssh` over its pooled SSH connection (any saved host), `eice` as an endpoint tunnel per
   * connection (EC2 instances only).
   */
  'forward.open': {
    args: z
      .object({
        requestId: requestIdSchema,
        kind: forwardKindSchema,
        localPort: z.number().int().min(0).max(65535),
        /** ssh forwards only: what the host connects to (default localhost). */
        remoteHost: hostnameSchema.optional(),
        remotePort: portSchema,
        ...hostRef,
      })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: forwardInfoSchema,
  },
  /** Where a new Instance Connect Endpoint for this instance would go (its subnet) and which security group it would use. */
  'endpoint.propose': {
    args: z.object(ec2Where).strict().refine(exactlyOne, exactlyOneMessage),
    result: endpointProposalSchema,
  },
  /**
   * CreateInstanceConnectEndpoint in `subnetId` with `securityGroupIds`, then waits for
   * create-complete (`endpoint.progress` events keyed by requestId; `op.cancel` stops waiting).
   */
  'endpoint.create': {
    args: z
      .object({ requestId: requestIdSchema, subnetId: subnetIdSchema, securityGroupIds: z.array(securityGroupIdSchema).min(1).max(16), ...ec2Where })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ endpointId: z.string(), state: z.string(), vpcId: z.string(), subnetId: z.string(), securityGroupIds: z.array(z.string()), waitedMs: z.number() }),
  },
  /** Waits for an endpoint the VPC already has (e.g. create-in-progress) to be ready, with the same progress events. */
  'endpoint.wait': {
    args: z
      .object({ requestId: requestIdSchema, endpointId: endpointIdSchema, ...ec2Where })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ endpointId: z.string(), state: z.string(), vpcId: z.string(), subnetId: z.string(), securityGroupIds: z.array(z.string()), waitedMs: z.number() }),
  },
  'forward.list': { args: z.object({}).strict(), result: z.object({ forwards: z.array(forwardInfoSchema) }) },
  'forward.close': { args: z.object({ forwardId: forwardIdSchema }).strict(), result: ok },
} as const;

export const connectEvents = {
  /** Something a connected tab should show: the EICE tunnel is about to reach its maximum duration. */
  'session.notice': z.object({ sessionId: sessionIdSchema, kind: z.literal('tunnelExpiring'), secondsLeft: z.number() }),
  /** A new endpoint's state while Keyless waits for it (create-in-progress … create-complete). */
  'endpoint.progress': z.object({ requestId: requestIdSchema, endpointId: z.string(), state: z.string(), elapsedMs: z.number() }),
  /** A port forward stopped by itself (its connection dropped). */
  'forward.closed': z.object({ forwardId: forwardIdSchema, error: keylessErrorSchema.optional() }),
} as const;
