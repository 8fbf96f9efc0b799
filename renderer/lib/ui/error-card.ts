import type { ErrorCode, KeylessError } from '../../../electron/contract';

/** The card's title: what kind of thing went wrong, from the error's code (the words say why and what to do). */
export type ErrorKind = 'reach' | 'login' | 'hostKey' | 'aws' | 'file' | 'other';

const KINDS: Record<Exclude<ErrorKind, 'other'>, readonly ErrorCode[]> = {
  reach: ['ConnectionRefused', 'HostNotFound', 'Timeout', 'NetworkError', 'SessionClosed', 'TunnelRefused', 'TunnelClosed', 'NoEndpoint', 'PortNotAllowed', 'RouteInvalid', 'HostNotConnectable', 'InstanceNotRunning', 'InstanceNotFound'],
  login: ['AuthFailed', 'PassphraseWrong', 'KeyFileUnreadable', 'AgentUnavailable', 'PushedKeyRefused'],
  hostKey: ['HostKeyRejected', 'HostKeyMismatch', 'HostKeyRevoked', 'HostKeyNotOnConsole'],
  aws: ['AwsProfileUnknown', 'AwsCredentialsMissing', 'AwsCredentialsExpired', 'AwsAccessDenied', 'AwsThrottled', 'AwsServiceError', 'AwsMfaRequired', 'AwsRegionDisabled', 'AwsSsoSignInFailed', 'KeyPushRejected'],
  file: ['FileRefused', 'SftpUnavailable', 'FileNotFound', 'FilePermissionDenied', 'DiskFull', 'FileNotRegular'],
};

export function errorKind(code: ErrorCode): ErrorKind {
  for (const [kind, codes] of Object.entries(KINDS)) if (codes.includes(code)) return kind as ErrorKind;
  return 'other';
}

/**
 * What a person can copy from the error to fix it: a policy or a command the backend put in the
 * detail (strings only, shown as text, never run). Empty when there is none.
 */
export function errorFixes(err: KeylessError): Array<{ kind: 'policy' | 'command'; text: string }> {
  const out: Array<{ kind: 'policy' | 'command'; text: string }> = [];
  const d = err.detail ?? {};
  for (const kind of ['policy', 'command'] as const) {
    const v = d[kind];
    if (typeof v === 'string' && v.length > 0 && v.length <= 20_000) out.push({ kind, text: v });
  }
  return out;
}
