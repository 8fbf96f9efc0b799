import { z } from 'zod';
import { ok, requestIdSchema } from './common';
import { keylessErrorSchema } from './errors';
import { idSchema } from './hosts';

export const sessionIdSchema = z.string().regex(/^s[0-9]{1,12}$/);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);

export const sessionStateSchema = z.enum(['connecting', 'connected', 'closed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

/** Terminal sessions: open on a saved host, type, resize, acknowledge output, close. */
export const terminalRequests = {
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
} as const;

export const terminalEvents = {
  'session.data': z.object({ sessionId: sessionIdSchema, data: z.string() }),
  'session.state': z.object({
    sessionId: sessionIdSchema,
    state: sessionStateSchema,
    error: keylessErrorSchema.optional(),
  }),
} as const;
