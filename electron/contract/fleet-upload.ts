import { z } from 'zod';
import { keylessErrorSchema } from './errors';
import { fleetHostKeySchema, fleetReachSchema, fleetTargetsSchema, fleetViaSchema } from './fleet';

/**
 * Files to many hosts: one local file or folder sent to the same folder on every host of a
 * selection, group, smart group or inventory filter, each host's result kept apart. The targets
 * are a fleet run's; hosts are scheduled as a fleet run's (20 at once per endpoint).
 */

export const uploadIdSchema = z.string().regex(/^u[0-9]{1,12}$/);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A path on this computer: absolute, no control characters. */
export const fleetLocalPathSchema = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'an absolute path on this computer')
  .refine((p) => !CONTROL.test(p), 'no control characters');

/** The folder on each host (relative: under the login folder), no control characters. */
export const fleetRemoteDirSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !CONTROL.test(p), 'no control characters');

export const FLEET_UPLOAD_STATES = ['queued', 'waiting', 'connecting', 'sending', 'ok', 'error', 'cancelled'] as const;
export const fleetUploadStateSchema = z.enum(FLEET_UPLOAD_STATES);

export const fleetUploadHostSchema = z.object({
  key: fleetHostKeySchema,
  name: z.string(),
  instanceId: z.string().optional(),
  via: fleetViaSchema,
  endpointId: z.string().optional(),
  state: fleetUploadStateSchema,
  /** Bytes written on this host (of the summary's `totalBytes`). */
  bytes: z.number(),
  files: z.number(),
  durationMs: z.number().nullable(),
  /** Why the host has not got the file (a denied key push, a stopped instance, no such folder…): worded like the Files view's errors. */
  error: keylessErrorSchema.optional(),
});
export type FleetUploadHost = z.infer<typeof fleetUploadHostSchema>;

export const fleetUploadSummarySchema = z.object({
  uploadId: uploadIdSchema,
  /** The file or folder's name (the last part of the local path). */
  name: z.string(),
  remoteDir: z.string(),
  kind: z.enum(['file', 'dir']),
  totalBytes: z.number(),
  fileCount: z.number(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  state: z.enum(['running', 'done', 'cancelled']),
  counts: z.object({ total: z.number(), queued: z.number(), running: z.number(), ok: z.number(), error: z.number(), cancelled: z.number() }),
  reach: fleetReachSchema,
});
export type FleetUploadSummary = z.infer<typeof fleetUploadSummarySchema>;

const uploadResult = z.object({ upload: fleetUploadSummarySchema, hosts: z.array(fleetUploadHostSchema) });

export const fleetUploadRequests = {
  /**
   * Sends a local file or folder to a folder on every target host: written under a temporary name
   * and renamed when whole (nothing half-written under the final name), its mode kept, a file of
   * the same name replaced. Hosts fill in through `fleetUpload.host` events.
   */
  'fleetUpload.start': {
    args: z
      .object({
        targets: fleetTargetsSchema,
        localPath: fleetLocalPathSchema,
        remoteDir: fleetRemoteDirSchema,
        concurrency: z.number().int().min(1).max(500).default(50),
      })
      .strict(),
    result: uploadResult,
  },
  'fleetUpload.get': { args: z.object({ uploadId: uploadIdSchema }).strict(), result: uploadResult },
  /** Stops an upload: hosts not started are cancelled, running ones stop (their temporary files removed). */
  'fleetUpload.cancel': { args: z.object({ uploadId: uploadIdSchema }).strict(), result: z.object({ ok: z.literal(true) }) },
} as const;

export const fleetUploadEvents = {
  'fleetUpload.host': z.object({ uploadId: uploadIdSchema, host: fleetUploadHostSchema }),
  'fleetUpload.run': fleetUploadSummarySchema,
} as const;
