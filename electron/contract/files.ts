import { z } from 'zod';
import { ok, requestIdSchema } from './common';
import { exactlyOne, exactlyOneMessage, hostRef, routeInfoSchema } from './connect';
import { keylessErrorSchema } from './errors';

/**
 * A remote path or file name as the bytes the server has, in base64. Names are not text: a name
 * may hold a newline or bytes that are not UTF-8, and it must reach the server again exactly as it
 * came (4 KiB of bytes at most, PATH_MAX).
 */
export const remoteBytesSchema = z
  .string()
  .max(5464)
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'base64 bytes');

export const browserIdSchema = z.string().regex(/^b[0-9]{1,12}$/);
export const transferIdSchema = z.string().regex(/^x[0-9]{1,12}$/);
export const pickIdSchema = z.string().regex(/^l[0-9]{1,12}$/);

export const FILE_KINDS = ['file', 'dir', 'link', 'fifo', 'socket', 'char', 'block', 'other'] as const;
export const fileKindSchema = z.enum(FILE_KINDS);
export type FileKind = z.infer<typeof fileKindSchema>;

/** One entry of a remote folder. */
export const fileEntrySchema = z.object({
  /** The name's bytes (base64). */
  name: remoteBytesSchema,
  /** The name to show: UTF-8 as it is, control characters and bytes that are not UTF-8 escaped (`\n`, `\xff`). */
  display: z.string(),
  kind: fileKindSchema,
  size: z.number(),
  /** Modified, seconds since the epoch. */
  mtime: z.number(),
  /** Permission bits (0–0o7777). */
  mode: z.number(),
  owner: z.string(),
  group: z.string(),
  /** For a symbolic link: what it points to (`broken` when that cannot be read). */
  target: z.union([fileKindSchema, z.literal('broken')]).optional(),
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

/**
 * What to do when the target of a transfer exists: `replace` (a new file renamed over it
 * atomically), `overwrite` (written in place: keeps its owner and hard links, but is not atomic),
 * `skip`, `keepBoth` (the new one under "name (1).ext"), or `ask`.
 */
export const conflictChoiceSchema = z.enum(['replace', 'overwrite', 'skip', 'keepBoth']);
export type ConflictChoice = z.infer<typeof conflictChoiceSchema>;
const conflictPolicy = z.enum(['ask', 'replace', 'overwrite', 'skip', 'keepBoth']).default('ask');

export const TRANSFER_STATES = ['queued', 'running', 'waiting', 'reconnecting', 'done', 'failed', 'cancelled', 'skipped'] as const;
export const transferStateSchema = z.enum(TRANSFER_STATES);
export type TransferState = z.infer<typeof transferStateSchema>;

/** One transfer of the queue (a file or a whole folder), as the renderer shows it. */
export const transferInfoSchema = z.object({
  transferId: transferIdSchema,
  kind: z.enum(['upload', 'download', 'copy']),
  /** The name moved (the first one, when several were given at once). */
  label: z.string(),
  /** How many top-level files and folders the transfer moves. */
  items: z.number(),
  host: z.string(),
  /** The other host of a copy between hosts. */
  toHost: z.string().optional(),
  state: transferStateSchema,
  bytes: z.number(),
  /** Bytes to move; -1 while a folder is still being walked. */
  total: z.number(),
  files: z.number(),
  fileCount: z.number(),
  /** Bytes a second over the last few seconds. */
  rate: z.number(),
  /** Seconds left at that rate; null when not known. */
  etaS: z.number().nullable(),
  /** The file being moved now. */
  current: z.string().optional(),
  /** How the bytes go: SFTP requests, a tar stream over a command, or a command run with sudo. */
  via: z.enum(['sftp', 'tar', 'sudo']),
  /** How many times it went on from where it stopped, on a new connection. */
  resumes: z.number(),
  /** Where a download was saved (the downloads folder, then the name). */
  savedTo: z.string().optional(),
  error: keylessErrorSchema.optional(),
  /** Files of a folder that could not be moved, each with why; the rest went on (at most 200 listed). */
  problems: z.array(z.object({ display: z.string(), error: keylessErrorSchema })),
  /** The question waiting for an answer (`state: waiting`). */
  conflict: z
    .object({
      display: z.string(),
      existing: z.object({ size: z.number(), mtime: z.number() }),
      incoming: z.object({ size: z.number(), mtime: z.number() }),
      /** Replacing by rename would give the file another owner (the existing one is someone else's). */
      ownerChanges: z.boolean(),
    })
    .optional(),
});
export type TransferInfo = z.infer<typeof transferInfoSchema>;

const paths = z.array(remoteBytesSchema).min(1).max(1000);
/** A relative path inside an upload streamed from the renderer: `folder/sub/name`, no `..`, no empty parts. */
const relativeName = z
  .string()
  .min(1)
  .max(4096)
    .refine((s) => !s.includes('\u0000') && s.split('/').every((p) => p !== '' && p !== '.' && p !== '..'), 'a relative path without empty, . or .. parts');

/** Files: browsing a host's folders over SFTP, and the transfer queue. */
export const filesRequests = {
  /**
   * Opens a browser on a host (a connection lent by the pool: the one its terminals use, when open).
   * Connect progress and questions arrive as events keyed by requestId, as for `session.open`.
   */
  'files.open': {
    args: z
      .object({ requestId: requestIdSchema, ...hostRef })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ browserId: browserIdSchema, home: remoteBytesSchema, homeDisplay: z.string(), route: routeInfoSchema, osUser: z.string() }),
  },
  'files.close': { args: z.object({ browserId: browserIdSchema }).strict(), result: ok },
  /**
   * Lists a folder, streamed: pages of entries arrive as `files.entries` events with this
   * requestId before the answer, which gives the folder's canonical path and the count. `typed`
   * is a path the person typed (`~` and `~/…` are the login folder, a relative path is under it).
   */
  'files.list': {
    args: z
      .object({ browserId: browserIdSchema, requestId: requestIdSchema, path: remoteBytesSchema.optional(), typed: z.string().min(1).max(4096).optional() })
      .strict()
      .refine((a) => (a.path === undefined) !== (a.typed === undefined), { message: 'give either path or typed' }),
    result: z.object({ path: remoteBytesSchema, display: z.string(), count: z.number() }),
  },
  'files.stat': { args: z.object({ browserId: browserIdSchema, path: remoteBytesSchema }).strict(), result: fileEntrySchema },
  /** A new folder named `name` (as typed: UTF-8) in `dir`. */
  'files.mkdir': {
    args: z.object({ browserId: browserIdSchema, dir: remoteBytesSchema, name: relativeName.refine((s) => !s.includes('/'), 'one name, no /') }).strict(),
    result: z.object({ path: remoteBytesSchema }),
  },
  /** Renames within its folder (atomically over nothing: an existing name is refused). */
  'files.rename': {
    args: z.object({ browserId: browserIdSchema, path: remoteBytesSchema, name: relativeName.refine((s) => !s.includes('/'), 'one name, no /') }).strict(),
    result: z.object({ path: remoteBytesSchema }),
  },
  /** Deletes files and folders (folders with everything in them); the renderer has asked the person first. */
  'files.delete': {
    args: z.object({ browserId: browserIdSchema, requestId: requestIdSchema, paths }).strict(),
    result: z.object({ removed: z.number() }),
  },
  'files.chmod': { args: z.object({ browserId: browserIdSchema, path: remoteBytesSchema, mode: z.number().int().min(0).max(0o7777) }).strict(), result: ok },
  /** Downloads into the downloads folder (folders whole). */
  'files.download': {
    args: z
      .object({ ...hostRef, paths, conflict: conflictPolicy })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ transferId: transferIdSchema }),
  },
  /**
   * Uploads what the person picked with the system's dialog (`files.pick`) into `dir`. With
   * `sudo`, the file is written by `sudo -n` on the host (for a folder the login user may not write).
   */
  'files.upload': {
    args: z
      .object({ ...hostRef, dir: remoteBytesSchema, picks: z.array(pickIdSchema).min(1).max(1000), conflict: conflictPolicy, sudo: z.boolean().default(false) })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ transferId: transferIdSchema }),
  },
  /**
   * Uploads files the renderer holds (a browser file picker, files dropped on the window): main
   * asks for their bytes with `files.pull` events and the renderer answers each with `files.push`.
   */
  'files.uploadStream': {
    args: z
      .object({
        ...hostRef,
        dir: remoteBytesSchema,
        files: z
          .array(z.object({ name: relativeName, size: z.number().int().min(0).max(2 ** 50), executable: z.boolean().default(false) }).strict())
          .min(1)
          .max(10_000),
        conflict: conflictPolicy,
        sudo: z.boolean().default(false),
      })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ transferId: transferIdSchema }),
  },
  /** Bytes of a streamed upload's file that main asked for (a `files.pull`), base64; at most 512 KiB. */
  'files.push': {
    args: z.object({ transferId: transferIdSchema, file: z.number().int().min(0).max(10_000), offset: z.number().int().min(0).max(2 ** 50), data: z.string().max(700_000) }).strict(),
    result: ok,
  },
  /** Copies files and folders from this host to a folder of another, streamed (no copy on this computer). */
  'files.copy': {
    args: z
      .object({
        ...hostRef,
        paths,
        to: z
          .object({ ...hostRef, dir: remoteBytesSchema })
          .strict()
          .refine(exactlyOne, exactlyOneMessage),
        conflict: conflictPolicy,
      })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({ transferId: transferIdSchema }),
  },
  /** The system dialog for files (and folders) to upload (Electron); null in the browser harness. */
  'files.pick': {
    args: z.object({ folders: z.boolean().default(false) }).strict(),
    result: z.object({ picks: z.array(z.object({ pick: pickIdSchema, name: z.string(), kind: z.enum(['file', 'dir']) })).nullable() }),
  },
  /** Where downloads go, and choosing another folder (Electron's dialog; the browser harness keeps its own). */
  'files.downloads': { args: z.object({ choose: z.boolean().default(false) }).strict(), result: z.object({ folder: z.string() }) },
  'files.transfers': { args: z.object({}).strict(), result: z.object({ transfers: z.array(transferInfoSchema) }) },
  /** Stops a transfer: nothing is left under the final name (a file already finished in a folder stays). */
  'files.cancel': { args: z.object({ transferId: transferIdSchema }).strict(), result: ok },
  /** Runs a failed or cancelled transfer again (files already moved are not moved twice when it says skip). */
  'files.retry': { args: z.object({ transferId: transferIdSchema }).strict(), result: ok },
  /** Answers a transfer's question about an existing target; `applyToAll` answers the same for the rest of the queue. */
  'files.answer': { args: z.object({ transferId: transferIdSchema, choice: conflictChoiceSchema, applyToAll: z.boolean().default(false) }).strict(), result: ok },
  /** Forgets finished transfers (done, failed, cancelled, skipped). */
  'files.clear': { args: z.object({}).strict(), result: ok },
} as const;

export const filesEvents = {
  /** A page of a listing (`files.list`), in the order the server sent it. */
  'files.entries': z.object({ requestId: requestIdSchema, entries: z.array(fileEntrySchema) }),
  /** A transfer changed (state, progress: a few times a second at most). */
  'files.transfer': transferInfoSchema,
  /** The whole queue: bytes moved and to move of what is not finished, the rate and time left. */
  'files.queue': z.object({ bytes: z.number(), total: z.number(), rate: z.number(), etaS: z.number().nullable(), active: z.number(), queued: z.number() }),
  /** Main wants bytes of a streamed upload's file: answer with `files.push`. */
  'files.pull': z.object({ transferId: transferIdSchema, file: z.number(), offset: z.number(), length: z.number() }),
} as const;
