import { z } from 'zod';
import { ok } from './common';
import { keylessErrorSchema } from './errors';

export const sessionIdSchema = z.string().regex(/^s[0-9]{1,12}$/);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);

/**
 * What a terminal shows about its session. Main emits connecting/connected/closed; `reconnecting`
 * is the renderer opening a new session for a tab whose session closed.
 */
export const sessionStateSchema = z.enum(['connecting', 'connected', 'reconnecting', 'closed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

/** Flow-control counters of one session, in bytes of output (see terminal-channel.ts). */
export const flowStatsSchema = z.object({
  unacked: z.number(),
  maxUnacked: z.number(),
  pauses: z.number(),
  sentBytes: z.number(),
  highWatermark: z.number(),
});
export type FlowStats = z.infer<typeof flowStatsSchema>;

export const TERMINAL_THEMES = ['system', 'dark', 'light', 'solarized-dark', 'solarized-light', 'dracula', 'high-contrast'] as const;
export const terminalThemeSchema = z.enum(TERMINAL_THEMES);
export type TerminalTheme = z.infer<typeof terminalThemeSchema>;

/** Terminal preferences. Every field has a default, so a settings file from an older version still parses. */
export const terminalSettingsSchema = z.object({
  fontFamily: z.string().max(200).default('"JetBrains Mono", ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace'),
  fontSize: z.number().int().min(6).max(48).default(14),
  theme: terminalThemeSchema.default('system'),
  scrollback: z.number().int().min(0).max(200_000).default(10_000),
  copyOnSelect: z.boolean().default(false),
  screenReaderMode: z.boolean().default(false),
  /** GPU rendering; falls back to the DOM renderer by itself when WebGL is missing or its context is lost. */
  webgl: z.boolean().default(true),
  confirmMultiLinePaste: z.boolean().default(true),
  /** Where recordings go: an absolute path to an existing folder, checked by main before each use. */
  recordingFolder: z.string().max(4096).default(''),
  /** Record what is typed too (off: output and timing only). */
  recordInput: z.boolean().default(false),
  /** Reopen the tabs (hosts, splits, names) that were open when Keyless last closed. */
  restoreTabs: z.boolean().default(false),
});
export type TerminalSettings = z.infer<typeof terminalSettingsSchema>;

/**
 * The address a link opens, or undefined when it must not open: only http(s), without credentials
 * (https://bank@evil reads as the bank), at most 2048 characters. The answer is the parsed form
 * (host in punycode, everything else percent-encoded), so what is shown is what opens. The
 * renderer, the contract and main (before the system browser) all ask this one function.
 */
export function openableUrl(s: string): string | undefined {
  if (s.length > 2048) return undefined;
  try {
    const u = new URL(s);
    const web = (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    return web && u.href.length <= 2048 ? u.href : undefined;
  } catch {
    return undefined;
  }
}

const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => openableUrl(s) !== undefined, 'only http and https addresses are opened');

/** A recording's file name inside the recording folder; main makes the names, so nothing else is accepted. */
export const recordingNameSchema = z.string().regex(/^[A-Za-z0-9._-]{1,200}\.cast$/).refine((s) => !s.startsWith('.'));

export const recordingInfoSchema = z.object({ name: recordingNameSchema, bytes: z.number(), modified: z.number() });
export type RecordingInfo = z.infer<typeof recordingInfoSchema>;

/** Terminal sessions (opened with `session.open` in connect.ts): type, resize, acknowledge output, close, record. */
export const terminalRequests = {
  'session.write': {
    args: z.object({ sessionId: sessionIdSchema, data: z.string().max(256 * 1024) }).strict(),
    result: ok,
  },
  'session.resize': { args: z.object({ sessionId: sessionIdSchema, cols, rows }).strict(), result: ok },
  /** The flow-control counters of one of the caller's own sessions (for tests and the benchmark). */
  'session.stats': { args: z.object({ sessionId: sessionIdSchema }).strict(), result: flowStatsSchema },
  'session.close': { args: z.object({ sessionId: sessionIdSchema }).strict(), result: ok },
  /** Starts an asciicast v2 recording of a session into the recording folder of the settings. */
  'recording.start': {
    args: z.object({ sessionId: sessionIdSchema, title: z.string().max(200) }).strict(),
    result: z.object({ name: recordingNameSchema }),
  },
  'recording.stop': { args: z.object({ sessionId: sessionIdSchema }).strict(), result: ok },
  /** The recordings in the recording folder, newest first. */
  'recording.list': { args: z.object({}).strict(), result: z.object({ folder: z.string(), recordings: z.array(recordingInfoSchema) }) },
  /** One recording's text, for playback in a tab. */
  'recording.read': { args: z.object({ name: recordingNameSchema }).strict(), result: z.object({ text: z.string() }) },
  /** Asks the person for a folder with the system dialog; null when cancelled or when there is no dialog (browser). */
  'recording.chooseFolder': { args: z.object({}).strict(), result: z.object({ folder: z.string().nullable() }) },
  /** Opens an http(s) link from a terminal in the system browser (after the person confirmed it). */
  'link.open': { args: z.object({ url: httpUrl }).strict(), result: z.object({ opened: z.boolean() }) },
} as const;

/**
 * Terminal notifications: one-way messages from the renderer, parsed like calls but answered
 * with nothing (no result frame, no request id).
 */
export const terminalNotifications = {
  /** The renderer says how many bytes of output xterm.js has parsed, and for how many ms since its last ack it had output to parse (flow control). */
  'session.ack': z.object({ sessionId: sessionIdSchema, bytes: z.number().int().min(0).max(1 << 30), parseMs: z.number().min(0).max(3_600_000).optional() }).strict(),
} as const;

export const terminalEvents = {
  /** Output as the bytes sshd sent (UTF-8); xterm.js decodes it. Sent as a binary frame by the browser harness. */
  'session.data': z.object({ sessionId: sessionIdSchema, data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes') }),
  'session.state': z.object({
    sessionId: sessionIdSchema,
    state: sessionStateSchema,
    error: keylessErrorSchema.optional(),
  }),
  /** A recording ended by itself (the session closed, or the disk refused a write). */
  'recording.stopped': z.object({ sessionId: sessionIdSchema, name: recordingNameSchema, error: keylessErrorSchema.optional() }),
} as const;
