import { z } from 'zod';
import { keylessErrorSchema } from './errors';
import { idSchema, savedHostInputSchema, savedHostSchema } from './hosts';

/** Ids the renderer makes up for long operations, so it can follow progress and cancel. */
export const requestIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const sessionIdSchema = z.string().regex(/^s[0-9]{1,12}$/);
const promptIdSchema = z.string().regex(/^p[0-9]{1,12}$/);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);

export const languageSchema = z.enum(['system', 'en', 'ja']);
export const settingsSchema = z.object({ language: languageSchema });
export type Settings = z.infer<typeof settingsSchema>;

export const CONNECT_STEPS = ['resolve', 'connect', 'hostKey', 'authenticate', 'shell'] as const;
export const connectStepSchema = z.enum(CONNECT_STEPS);
export type ConnectStep = z.infer<typeof connectStepSchema>;

export const sessionStateSchema = z.enum(['connecting', 'connected', 'closed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

const hostKeyInfo = z.object({
  host: z.string(),
  port: z.number(),
  keyType: z.string(),
  fingerprint: z.string(),
});

/** Questions main asks the person, answered with `prompt.answer`. */
export const promptSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hostKeyUnknown'), promptId: promptIdSchema, requestId: requestIdSchema, key: hostKeyInfo }),
  z.object({
    kind: z.literal('passphrase'),
    promptId: promptIdSchema,
    requestId: requestIdSchema,
    keyPath: z.string(),
    retry: z.boolean(),
  }),
]);
export type Prompt = z.infer<typeof promptSchema>;

const empty = z.object({}).strict();
const ok = z.object({ ok: z.literal(true) });

/** Every request channel: its arguments (parsed in main before any handler runs) and its result. */
export const requests = {
  'app.info': {
    args: empty,
    result: z.object({ version: z.string(), platform: z.string(), systemLocale: z.string(), transport: z.enum(['electron', 'web']) }),
  },
  'settings.get': { args: empty, result: settingsSchema },
  'settings.set': { args: settingsSchema.partial().strict(), result: settingsSchema },
  'hosts.list': { args: empty, result: z.object({ hosts: z.array(savedHostSchema) }) },
  'hosts.save': { args: z.object({ host: savedHostInputSchema }).strict(), result: savedHostSchema },
  'hosts.delete': { args: z.object({ id: idSchema }).strict(), result: ok },
  /** Opens a terminal session on a saved host; progress and prompts arrive as events keyed by requestId. */
  'session.open': {
    args: z.object({ requestId: requestIdSchema, hostId: idSchema, cols, rows }).strict(),
    result: z.object({ sessionId: sessionIdSchema }),
  },
  'session.write': {
    args: z.object({ sessionId: sessionIdSchema, data: z.string().max(256 * 1024) }).strict(),
    result: ok,
  },
  'session.resize': { args: z.object({ sessionId: sessionIdSchema, cols, rows }).strict(), result: ok },
  /** The renderer says how many characters of output xterm.js has parsed (flow control). */
  'session.ack': {
    args: z.object({ sessionId: sessionIdSchema, chars: z.number().int().min(0).max(1 << 30) }).strict(),
    result: ok,
  },
  'session.close': { args: z.object({ sessionId: sessionIdSchema }).strict(), result: ok },
  'prompt.answer': {
    args: z
      .object({ promptId: promptIdSchema, value: z.union([z.string().max(4096), z.boolean(), z.null()]) })
      .strict(),
    result: ok,
  },
  /** Cancels a long operation started with this requestId. */
  'op.cancel': { args: z.object({ requestId: requestIdSchema }).strict(), result: ok },
} as const;

/** Events main sends to the renderer that owns the session or request. */
export const events = {
  'session.data': z.object({ sessionId: sessionIdSchema, data: z.string() }),
  'session.state': z.object({
    sessionId: sessionIdSchema,
    state: sessionStateSchema,
    error: keylessErrorSchema.optional(),
  }),
  progress: z.object({
    requestId: requestIdSchema,
    step: connectStepSchema,
    status: z.enum(['start', 'done', 'failed']),
    ms: z.number().optional(),
  }),
  prompt: promptSchema,
} as const;

export type RequestChannel = keyof typeof requests;
export type EventName = keyof typeof events;
export type RequestArgs<C extends RequestChannel> = z.input<(typeof requests)[C]['args']>;
export type ParsedArgs<C extends RequestChannel> = z.output<(typeof requests)[C]['args']>;
export type RequestResult<C extends RequestChannel> = z.infer<(typeof requests)[C]['result']>;
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>;

export function isRequestChannel(name: unknown): name is RequestChannel {
  return typeof name === 'string' && Object.hasOwn(requests, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(events, name);
}

/** Messages over one byte limit are refused before they are parsed. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
