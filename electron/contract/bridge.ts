import { z } from 'zod';
import { idSchema } from './hosts';

/** Whether "Set up OpenSSH" is in place: Keyless's Host blocks file and the Include line in ~/.ssh/config. */
export const openSshSetupSchema = z.object({
  installed: z.boolean(),
  /** ~/.ssh/config */
  configFile: z.string(),
  /** ~/.ssh/keyless.conf */
  blocksFile: z.string(),
});
export type OpenSshSetup = z.infer<typeof openSshSetupSchema>;

/** The OpenSSH bridge from the app: the ssh command for a saved host, and OpenSSH's config set up or undone. */
export const bridgeRequests = {
  /** `ssh user@name` (or `ssh -p N user@i-…`) for a saved EC2 host, to copy. */
  'bridge.sshCommand': { args: z.object({ hostId: idSchema }).strict(), result: z.object({ command: z.string() }) },
  'bridge.setup.status': { args: z.object({}).strict(), result: openSshSetupSchema },
  /** Writes ~/.ssh/keyless.conf (again, with the current saved hosts) and adds one Include line at the top of ~/.ssh/config. */
  'bridge.setup.install': { args: z.object({}).strict(), result: openSshSetupSchema },
  /** Removes the Include line and ~/.ssh/keyless.conf; nothing else in ~/.ssh/config changes. */
  'bridge.setup.undo': { args: z.object({}).strict(), result: openSshSetupSchema },
} as const;

export const bridgeEvents = {} as const;
