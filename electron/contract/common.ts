import { z } from 'zod';

/** Ids the renderer makes up for long operations, so it can follow progress and cancel. */
export const requestIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const promptIdSchema = z.string().regex(/^p[0-9]{1,12}$/);
export const empty = z.object({}).strict();
export const ok = z.object({ ok: z.literal(true) });
