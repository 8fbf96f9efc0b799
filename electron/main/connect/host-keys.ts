import { KeylessFailure, fail } from '../base/errors';
import { fingerprintSha256, keyTypeOf, type HostKeyVerdict, type KnownHostKey, type KnownHosts } from '../ssh/known-hosts';

export interface InstanceHostKeyCheck {
  knownHosts: KnownHosts;
  instanceId: string;
  /** The address connected to (public or private IP); a second name for the same key. */
  address: string;
  port: number;
  keyBlob: Buffer;
  /** The fingerprints the instance printed to its console (GetConsoleOutput); empty when none. */
  consoleFingerprints: () => Promise<string[]>;
  /**
   * Asks the person to compare the fingerprint; true when they trust it. `known`: keys of other
   * types on record for the instance, which the question must show (it is not a first meeting).
   */
  ask: (key: { host: string; port: number; keyType: string; fingerprint: string }, known?: KnownHostKey[]) => Promise<boolean>;
}

/**
 * Refuses a key that known_hosts marks revoked or that differs from the one on record for `host`
 * (an instance id or an address); returns for any other verdict. Plain SSH hosts and EC2
 * instances refuse them in the same words.
 */
export function refuseBadHostKey(verdict: HostKeyVerdict, host: string, port: number, keyBlob: Buffer): void {
  const fingerprint = fingerprintSha256(keyBlob);
  if (verdict.kind === 'revoked') fail('HostKeyRevoked', `The host key of ${host} (${fingerprint}) is marked revoked in ${verdict.file}.`, { host, fingerprint });
  if (verdict.kind === 'changed') {
    fail('HostKeyMismatch', `The host key of ${host} has changed: it was ${verdict.knownFingerprint} and is now ${fingerprint}.`, {
      host,
      port,
      keyType: keyTypeOf(keyBlob),
      fingerprint,
      knownFingerprint: verdict.knownFingerprint,
      file: verdict.file,
      line: verdict.line,
    });
  }
}

/** How a host key came to be trusted, for the tab and the log. */
export type HostKeyTrust = 'known' | 'console' | 'person';

/**
 * Host keys without blind trust. Keyless's known_hosts is keyed by instance id (a private IP is
 * reused by other instances, an instance id never is): a key known there is trusted, a different
 * one is blocked. For an instance never seen, the fingerprints it printed to its console at boot
 * confirm the key with no question; a console listing other keys blocks; a console with none
 * leaves it to the person, who is shown the instance's keys of other types when it has some. A
 * trusted key is remembered under the instance id and the address.
 */
export async function verifyInstanceHostKey(c: InstanceHostKeyCheck): Promise<HostKeyTrust> {
  const fingerprint = fingerprintSha256(c.keyBlob);
  const keyType = keyTypeOf(c.keyBlob);
  const byId = await c.knownHosts.verify(c.instanceId, c.port, c.keyBlob);
  refuseBadHostKey(byId, c.instanceId, c.port, c.keyBlob);
  if (byId.kind === 'known') return 'known';
  const remember = async () => {
    await c.knownHosts.add(c.instanceId, c.port, c.keyBlob);
    await c.knownHosts.add(c.address, c.port, c.keyBlob);
  };
  /** Keys of other types on record for this very instance: its key type changed. */
  const otherTypes = byId.kind === 'otherType' ? byId.known : undefined;
  const byAddress = await c.knownHosts.verify(c.address, c.port, c.keyBlob);
  // A different key under the address is not refused: addresses are reused by other instances.
  if (byAddress.kind === 'revoked') refuseBadHostKey(byAddress, c.address, c.port, c.keyBlob);
  // An address is reused by other instances: it vouches for a key only when the instance has none of another type.
  if (byAddress.kind === 'known' && !otherTypes) {
    await c.knownHosts.add(c.instanceId, c.port, c.keyBlob);
    return 'known';
  }
  const printed = await c.consoleFingerprints();
  if (printed.includes(fingerprint)) {
    await remember();
    return 'console';
  }
  if (printed.length > 0) {
    throw new KeylessFailure(
      'HostKeyNotOnConsole',
      `The host key ${c.address} presented (${fingerprint}) is not one of the keys ${c.instanceId} printed to its console (${printed.join(', ')}). Someone may be intercepting the connection.`,
      false,
      { host: c.instanceId, port: c.port, keyType, fingerprint, knownFingerprint: printed.join(', ') },
    );
  }
  if (!(await c.ask({ host: c.instanceId, port: c.port, keyType, fingerprint }, otherTypes))) {
    throw new KeylessFailure('HostKeyRejected', `The host key of ${c.instanceId} (${fingerprint}) was not accepted.`, false, { host: c.instanceId, fingerprint });
  }
  await remember();
  return 'person';
}
