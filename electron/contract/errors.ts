import { z } from 'zod';

/**
 * The closed set of error codes that cross the boundary. Each one maps to words a person can act
 * on in the renderer's catalogues (`error.<Code>`); a test fails when one is missing.
 */
export const ERROR_CODES = [
  // The contract itself
  'InvalidArguments',
  'UnknownChannel',
  'PayloadTooLarge',
  'ForeignSender',
  'Cancelled',
  'NotFound',
  'Internal',
  // Reaching a host
  'ConnectionRefused',
  'HostNotFound',
  'Timeout',
  'NetworkError',
  'AuthFailed',
  'HostKeyRejected',
  'HostKeyMismatch',
  'HostKeyRevoked',
  'KeyFileUnreadable',
  'PassphraseWrong',
  'AgentUnavailable',
  'SessionClosed',
  /** A saved host this build cannot connect to yet (EC2 hosts before the connect engine). */
  'HostNotConnectable',
  /**
   * The way to a host cannot be made (checked before anything is dialled): a jump host that names
   * no saved host, a jump cycle, a jump written in a form Keyless cannot use, a ProxyCommand, a
   * jump combined with an endpoint. `detail.reason` says which.
   */
  'RouteInvalid',
  // AWS and Instance Connect
  'AwsProfileUnknown',
  'AwsCredentialsMissing',
  'AwsCredentialsExpired',
  'AwsAccessDenied',
  'AwsThrottled',
  'AwsServiceError',
  /** A role needs an MFA code and nobody could be asked (a background refresh, a connect before the profile was checked). */
  'AwsMfaRequired',
  /** The region is not enabled (opted in) for the profile's account. */
  'AwsRegionDisabled',
  'AwsSsoSignInFailed',
  /** A new profile or sso-session would overwrite one of the same name. */
  'AwsProfileExists',
  /** A value Keyless was asked to write into the AWS config would change its meaning (a line break, a `[`, an `=`). */
  'AwsConfigValueUnsafe',
  'KeyPushRejected',
  'InstanceNotFound',
  'InstanceNotRunning',
  'NoEndpoint',
  'PortNotAllowed',
  'TunnelRefused',
  'TunnelClosed',
  /** A host key that is not among those the instance printed to its console at boot. */
  'HostKeyNotOnConsole',
  /** The instance refused a key that Instance Connect accepted (wrong OS user, no agent, expired). */
  'PushedKeyRefused',
  /**
   * A path Keyless reads (key file, ssh config, known_hosts, hosts file, recording) is not a
   * regular file or is too large; detail: path, reason (fifo, directory, device, socket,
   * symlinkLoop, tooLarge, notRegular; unreadable, with detail.errno: a file Keyless was to change
   * could not be read, so nothing was changed), limit.
   */
  'FileRefused',
  // The store
  'StoreCorrupt',
  'StoreConflict',
  // Terminal recordings
  'RecordingFolderUnusable',
  // Files (SFTP and transfers); detail.path names the file (as shown), detail.side local or remote
  /** The host has no SFTP server (no `Subsystem sftp` in its sshd_config). */
  'SftpUnavailable',
  'FileNotFound',
  'FilePermissionDenied',
  /** A name that exists where a new one was to be made (a rename, a new folder). */
  'FileExists',
  /** The disk is full: confirmed with statvfs on the host (detail.free in bytes). */
  'DiskFull',
  'PathTooLong',
  /** Met in a folder being moved: a named pipe, a device, a socket, or a link that loops (detail.reason); skipped, the rest went on. Also a local folder of a download that is a symbolic link (reason symlink): the download stops there. */
  'FileNotRegular',
  /** The host's SFTP server refused an operation without saying why (detail.message). */
  'SftpFailed',
  /** `sudo -n` on the host asked for a password or was not allowed (detail.message). */
  'SudoRefused',
  /** A transfer's picked file is no longer known (picked in another window, or Keyless restarted). */
  'PickExpired',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
export const errorCodeSchema = z.enum(ERROR_CODES);

export const keylessErrorSchema = z.object({
  code: errorCodeSchema,
  /** English, for logs and as a fallback; the UI words it from `code` and `detail`. */
  message: z.string(),
  retryable: z.boolean(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});
export type KeylessError = z.infer<typeof keylessErrorSchema>;

export function isKeylessError(value: unknown): value is KeylessError {
  return keylessErrorSchema.safeParse(value).success;
}
