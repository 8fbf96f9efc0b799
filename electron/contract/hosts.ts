import { z } from 'zod';
import { empty, ok } from './common';

export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of letters, digits, - and _');
export const portSchema = z.number().int().min(1).max(65535);
const nameSchema = z.string().trim().min(1).max(200);
/** A host name or address: no spaces, no control characters, nothing an ssh option could hide in. */
export const hostnameSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]%-]+$/, 'a host name or IP address');
export const osUserSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/, 'a user name of letters, digits, ., _ and -');

export const sshAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('agent') }),
  z.object({ type: z.literal('keyFile'), path: z.string().min(1).max(4096) }),
]);
export type SshAuth = z.infer<typeof sshAuthSchema>;

export const plainSshHostSchema = z.object({
  kind: z.literal('ssh'),
  id: idSchema,
  name: nameSchema,
  host: hostnameSchema,
  port: portSchema,
  user: osUserSchema,
  auth: sshAuthSchema,
});
export type PlainSshHost = z.infer<typeof plainSshHostSchema>;

/** What the renderer sends to create or update a host: the id is optional for a new one. */
export const plainSshHostInputSchema = plainSshHostSchema.extend({ id: idSchema.optional() });
export type PlainSshHostInput = z.infer<typeof plainSshHostInputSchema>;

export const savedHostSchema = plainSshHostSchema;
export type SavedHost = z.infer<typeof savedHostSchema>;
export const savedHostInputSchema = plainSshHostInputSchema;
export type SavedHostInput = z.infer<typeof savedHostInputSchema>;

/** Saved hosts. */
export const hostRequests = {
  'hosts.list': { args: empty, result: z.object({ hosts: z.array(savedHostSchema) }) },
  'hosts.save': { args: z.object({ host: savedHostInputSchema }).strict(), result: savedHostSchema },
  'hosts.delete': { args: z.object({ id: idSchema }).strict(), result: ok },
} as const;

export const hostEvents = {} as const;
