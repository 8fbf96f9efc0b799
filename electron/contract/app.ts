import { z } from 'zod';
import { empty, ok, promptIdSchema, requestIdSchema } from './common';
import { terminalSettingsSchema } from './terminal';

export const languageSchema = z.enum(['system', 'en', 'ja']);
export const settingsSchema = z.object({
  language: languageSchema,
  /** Absent in files written before terminal settings existed; read it with terminalSettingsSchema.parse(terminal ?? {}). */
  terminal: terminalSettingsSchema.optional(),
});
export type Settings = z.infer<typeof settingsSchema>;

/**
 * What a tab shows while it connects; EC2 connections add the key push and the EICE tunnel, and a
 * route through jump hosts first connects those (`jump`).
 */
export const CONNECT_STEPS = ['resolve', 'jump', 'keyPush', 'tunnel', 'connect', 'hostKey', 'authenticate', 'shell'] as const;
export const connectStepSchema = z.enum(CONNECT_STEPS);
export type ConnectStep = z.infer<typeof connectStepSchema>;

const hostKeyInfo = z.object({
  host: z.string(),
  port: z.number(),
  keyType: z.string(),
  fingerprint: z.string(),
});

/** Questions main asks the person, answered with `prompt.answer`. */
export const promptSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hostKeyUnknown'), promptId: promptIdSchema, requestId: requestIdSchema, key: hostKeyInfo }),
  /**
   * The host offers a key of a type with no record, while keys of other types are on record (as
   * OpenSSH warns): `known` are those, with the file and line that hold each.
   */
  z.object({
    kind: z.literal('hostKeyTypeChanged'),
    promptId: promptIdSchema,
    requestId: requestIdSchema,
    key: hostKeyInfo,
    known: z.array(z.object({ keyType: z.string(), fingerprint: z.string(), file: z.string(), line: z.number() })).min(1),
  }),
  z.object({
    kind: z.literal('passphrase'),
    promptId: promptIdSchema,
    requestId: requestIdSchema,
    keyPath: z.string(),
    retry: z.boolean(),
  }),
  /** A role in an AWS profile wants a code from its MFA device (`mfa_serial`). */
  z.object({
    kind: z.literal('mfa'),
    promptId: promptIdSchema,
    requestId: requestIdSchema,
    profile: z.string(),
    mfaSerial: z.string(),
    retry: z.boolean(),
  }),
]);
export type Prompt = z.infer<typeof promptSchema>;

/** App-wide channels: who we are, settings, questions to the person, cancellation. */
export const appRequests = {
  'app.info': {
    args: empty,
    result: z.object({ version: z.string(), platform: z.string(), systemLocale: z.string(), transport: z.enum(['electron', 'web']) }),
  },
  'settings.get': { args: empty, result: settingsSchema },
  'settings.set': { args: settingsSchema.partial().strict(), result: settingsSchema },
  'prompt.answer': {
    args: z
      .object({ promptId: promptIdSchema, value: z.union([z.string().max(4096), z.boolean(), z.null()]) })
      .strict(),
    result: ok,
  },
  /** Cancels a long operation started with this requestId. */
  'op.cancel': { args: z.object({ requestId: requestIdSchema }).strict(), result: ok },
} as const;

export const appEvents = {
  progress: z.object({
    requestId: requestIdSchema,
    step: connectStepSchema,
    status: z.enum(['start', 'done', 'failed']),
    ms: z.number().optional(),
  }),
  prompt: promptSchema,
} as const;
