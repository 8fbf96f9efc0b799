import { z } from 'zod';
import { ok } from './common';
import { keylessErrorSchema } from './errors';
import { idSchema } from './hosts';

/**
 * Fleet commands: one command line or script run on many hosts at once, each host's result kept
 * apart. Targets are resolved in main at run time (a smart group's members are the inventory's
 * instances its query matches then).
 */

export const runIdSchema = z.string().regex(/^r[0-9]{1,12}$/);
/** A host of a run: `h:<saved host id>`, or `i:<region>:<instance id>` for an inventory instance with no saved host. */
export const fleetHostKeySchema = z.string().regex(/^(?:h:[A-Za-z0-9_-]{1,64}|i:[a-z0-9-]{1,32}:i-[0-9a-f]{8,17})$/);

/** Exactly one way to name the hosts: the selection, a group (with its subgroups), a smart group, or an inventory filter. */
export const fleetTargetsSchema = z
  .object({
    hostIds: z.array(idSchema).min(1).max(5000).optional(),
    groupId: idSchema.optional(),
    smartGroupId: idSchema.optional(),
    /** The inventory's filter language (electron/contract/query.ts). */
    query: z.string().min(1).max(2000).optional(),
  })
  .strict()
  .refine((t) => [t.hostIds, t.groupId, t.smartGroupId, t.query].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of hostIds, groupId, smartGroupId, query' });
export type FleetTargets = z.infer<typeof fleetTargetsSchema>;

/** How a host is reached: through an endpoint (queued per endpoint, 20 at once), directly, as a plain SSH host, through jump hosts, or not at all. */
export const fleetViaSchema = z.enum(['eice', 'direct', 'ssh', 'jump', 'none']);

export const FLEET_HOST_STATES = ['queued', 'waiting', 'connecting', 'running', 'ok', 'failed', 'error', 'timedOut', 'cancelled'] as const;
export const fleetHostStateSchema = z.enum(FLEET_HOST_STATES);
export type FleetHostState = z.infer<typeof fleetHostStateSchema>;
/** States a host does not leave. */
export const FLEET_DONE_STATES: readonly FleetHostState[] = ['ok', 'failed', 'error', 'timedOut', 'cancelled'];

export const fleetHostSchema = z.object({
  key: fleetHostKeySchema,
  name: z.string(),
  instanceId: z.string().optional(),
  via: fleetViaSchema,
  endpointId: z.string().optional(),
  state: fleetHostStateSchema,
  exitCode: z.number().nullable(),
  /** The signal that ended the command (TERM after a timeout or a cancel). */
  signal: z.string().optional(),
  durationMs: z.number().nullable(),
  /** The last line printed (stdout, else stderr), control characters removed, at most 200 characters. */
  lastLine: z.string(),
  /** Why the host has no result (a denied key push, a stopped instance, sudo asking for a password…): worded like a terminal's error. */
  error: keylessErrorSchema.optional(),
  stdoutBytes: z.number(),
  stderrBytes: z.number(),
  /** Output past the per-host cap (or the run's budget for all its hosts) was not kept: the byte where each stream was cut. */
  stdoutCutAt: z.number().optional(),
  stderrCutAt: z.number().optional(),
  /** SHA-256 of exit code, stdout and stderr: hosts with the same one printed the same. */
  outputDigest: z.string().optional(),
  outputLines: z.number(),
});
export type FleetHost = z.infer<typeof fleetHostSchema>;

export const fleetCountsSchema = z.object({
  total: z.number(),
  queued: z.number(),
  running: z.number(),
  ok: z.number(),
  failed: z.number(),
  error: z.number(),
  timedOut: z.number(),
  cancelled: z.number(),
});
export type FleetCounts = z.infer<typeof fleetCountsSchema>;

/** "38 hosts: 31 through 3 endpoints, 7 direct" as numbers. */
export const fleetReachSchema = z.object({
  total: z.number(),
  endpoints: z.array(z.object({ endpointId: z.string(), hosts: z.number() })),
  throughEndpoints: z.number(),
  direct: z.number(),
  jump: z.number(),
  unreachable: z.number(),
});
export type FleetReach = z.infer<typeof fleetReachSchema>;

export const fleetRunSummarySchema = z.object({
  runId: runIdSchema,
  command: z.string(),
  sudo: z.boolean(),
  timeoutS: z.number(),
  concurrency: z.number(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  state: z.enum(['running', 'done', 'cancelled']),
  counts: fleetCountsSchema,
  reach: fleetReachSchema,
  /** The run this one re-ran the failed hosts of. */
  rerunOf: runIdSchema.optional(),
});
export type FleetRunSummary = z.infer<typeof fleetRunSummarySchema>;

/** At most this many bytes of command or script (it travels to each host on the command's input, never on its command line). */
export const MAX_FLEET_COMMAND_BYTES = 256 * 1024;

export const fleetRunArgsSchema = z
  .object({
    targets: fleetTargetsSchema,
    /** A command line or a script of many lines (CRLF line endings are made LF). */
    command: z
      .string()
      .min(1)
      .max(MAX_FLEET_COMMAND_BYTES)
      .refine((c) => c.trim().length > 0, 'a command')
      .refine((c) => !c.includes('\0'), 'no NUL character'),
    sudo: z.boolean().default(false),
    timeoutS: z.number().int().min(1).max(24 * 3600).default(60),
    concurrency: z.number().int().min(1).max(500).default(50),
  })
  .strict();

export const fleetRequests = {
  /** Resolves the targets to hosts now and says how each is reached, before anything runs. */
  'fleet.resolve': {
    args: z.object({ targets: fleetTargetsSchema }).strict(),
    result: z.object({ hosts: z.array(fleetHostSchema), reach: fleetReachSchema }),
  },
  /** Starts a run; hosts fill in through `fleet.host` events, the run's totals through `fleet.run`. */
  'fleet.run': { args: fleetRunArgsSchema, result: z.object({ run: fleetRunSummarySchema, hosts: z.array(fleetHostSchema) }) },
  /** Runs the same command again on the hosts of a run that did not succeed (failed, error, timed out, cancelled). */
  'fleet.rerun': { args: z.object({ runId: runIdSchema }).strict(), result: z.object({ run: fleetRunSummarySchema, hosts: z.array(fleetHostSchema) }) },
  /** Stops a run: hosts not started are cancelled, running commands get the SSH signal TERM, then their channel closes. */
  'fleet.cancel': { args: z.object({ runId: runIdSchema }).strict(), result: ok },
  /** The last 50 runs, newest first. */
  'fleet.runs': { args: z.object({}).strict(), result: z.object({ runs: z.array(fleetRunSummarySchema) }) },
  'fleet.get': { args: z.object({ runId: runIdSchema }).strict(), result: z.object({ run: fleetRunSummarySchema, hosts: z.array(fleetHostSchema) }) },
  /** One host's stdout and stderr, kept apart (UTF-8; bytes that are not are shown as U+FFFD). */
  'fleet.output': {
    args: z.object({ runId: runIdSchema, key: fleetHostKeySchema }).strict(),
    /** …CutByRun: that stream was cut because the run had kept all it keeps of its hosts' output together (64 MiB), not by its own 64 KiB. */
    result: z.object({
      stdout: z.string(),
      stderr: z.string(),
      stdoutCutAt: z.number().optional(),
      stderrCutAt: z.number().optional(),
      stdoutCutByRun: z.boolean().optional(),
      stderrCutByRun: z.boolean().optional(),
    }),
  },
  /** The run as JSON or CSV (cells that a spreadsheet would read as a formula are neutralised). */
  'fleet.export': { args: z.object({ runId: runIdSchema, format: z.enum(['json', 'csv']) }).strict(), result: z.object({ fileName: z.string(), text: z.string() }) },
} as const;

export const fleetEvents = {
  'fleet.host': z.object({ runId: runIdSchema, host: fleetHostSchema }),
  'fleet.run': fleetRunSummarySchema,
} as const;

/**
 * Whether a command looks destructive enough to ask first: rm -r/-f, shutdown, reboot, halt,
 * poweroff, mkfs, dd. Word-bounded, no nested repetition (no backtracking on long input).
 */
export function looksDestructive(command: string): boolean {
  return /(?:^|[\s;&|(`])(?:rm\s+-[A-Za-z]*[rRf]|shutdown|reboot|halt|poweroff|mkfs(?:\.\w+)?|dd|init\s+[06]|systemctl\s+(?:reboot|poweroff|halt))(?=$|[\s;&|)`])/.test(command);
}

/** Above this many hosts a run asks first, whatever the command. */
export const FLEET_CONFIRM_HOSTS = 20;
