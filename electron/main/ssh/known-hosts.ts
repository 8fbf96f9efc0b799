import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { globMatch } from '../../contract';
import { writeFileAtomic } from '../base/lazy-packages';
import { FileRefusal, READ_LIMITS, readRegularTextFile } from '../base/safe-read';

/** SHA256 fingerprint as OpenSSH prints it: `SHA256:` + unpadded base64 of the key blob's hash. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside an SSH wire-format public key blob (`ssh-ed25519`, …). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** How OpenSSH names a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  marker: '' | '@revoked' | '@cert-authority';
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** A key of the host on record, where it is written. */
export interface KnownHostKey {
  keyType: string;
  fingerprint: string;
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'known'; file: string }
  | { kind: 'changed'; file: string; line: number; knownFingerprint: string }
  | { kind: 'revoked'; file: string }
  /** This key's type is new for the host, but keys of other types are on record (OpenSSH warns, naming them). */
  | { kind: 'otherType'; known: KnownHostKey[] }
  | { kind: 'unknown' };

function parseLine(line: string): Entry | undefined {
  const trimmed = line.trim();
  if (!trimmed || trimmed.startsWith('#')) return undefined;
  const parts = trimmed.split(/\s+/);
  let marker: Entry['marker'] = '';
  if (parts[0] === '@revoked' || parts[0] === '@cert-authority') marker = parts.shift() as Entry['marker'];
  const [hosts, keyType, b64] = parts;
  if (!hosts || !keyType || !b64) return undefined;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) return undefined;
  return { marker, hosts, keyType, key };
}

function hashedMatches(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** OpenSSH host-field matching: comma-separated patterns, `!` negation, hashed `|1|salt|hash` fields. */
export function hostsFieldMatches(field: string, host: string, port: number): boolean {
  // ssh lowercases the host name before matching or hashing it.
  const name = hostPattern(host.toLowerCase(), port);
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Host keys from OpenSSH-format files: the user's `~/.ssh/known_hosts` (read only) and Keyless's
 * own file (where accepted keys are added). A key that matches is known; a different key of the
 * same type for the same host is a change, which blocks the connection; a key of a type with no
 * record beside keys of other types is not a first meeting, and is shown with the keys on record.
 */
export class KnownHosts {
  constructor(
    private readonly ownFile: string,
    private readonly readOnlyFiles: readonly string[] = [],
  ) {}

  private async entries(file: string): Promise<Array<{ entry: Entry; line: number }>> {
    let text: string;
    try {
      text = await readRegularTextFile(file, READ_LIMITS.knownHosts);
    } catch (err) {
      // A known_hosts that is there but is no file (a FIFO, a folder) must not be taken for an
      // empty one: the key it holds for this host would then look new.
      if (err instanceof FileRefusal) throw err;
      return [];
    }
    const out: Array<{ entry: Entry; line: number }> = [];
    text.split('\n').forEach((l, i) => {
      const entry = parseLine(l);
      if (entry) out.push({ entry, line: i + 1 });
    });
    return out;
  }

  async verify(host: string, port: number, keyBlob: Buffer): Promise<HostKeyVerdict> {
    const keyType = keyTypeOf(keyBlob);
    let changed: HostKeyVerdict | undefined;
    let known: HostKeyVerdict | undefined;
    const others = new Map<string, KnownHostKey>();
    for (const file of [this.ownFile, ...this.readOnlyFiles]) {
      for (const { entry, line } of await this.entries(file)) {
        if (entry.marker === '@cert-authority') continue;
        if (!hostsFieldMatches(entry.hosts, host, port)) continue;
        const same = entry.key.equals(keyBlob);
        if (entry.marker === '@revoked') {
          if (same) return { kind: 'revoked', file };
          continue;
        }
        if (same) known ??= { kind: 'known', file };
        else if (entry.keyType === keyType) changed ??= { kind: 'changed', file, line, knownFingerprint: fingerprintSha256(entry.key) };
        else {
          const fingerprint = fingerprintSha256(entry.key);
          if (!others.has(fingerprint)) others.set(fingerprint, { keyType: entry.keyType, fingerprint, file, line });
        }
      }
    }
    // As in OpenSSH, any line with this very key makes it known, even when another line lists a different key.
    return known ?? changed ?? (others.size ? { kind: 'otherType', known: [...others.values()] } : { kind: 'unknown' });
  }

  /** The keys on record for host:port in Keyless's own file (not revoked, not CA lines): what `keyless known-hosts` answers. */
  async keysOf(host: string, port: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const { entry } of await this.entries(this.ownFile)) {
      if (entry.marker || !hostsFieldMatches(entry.hosts, host, port)) continue;
      if (!out.some((k) => k.equals(entry.key))) out.push(entry.key);
    }
    return out;
  }

  /** Adds an accepted key to Keyless's own file (atomically; the user's files are never written). */
  async add(host: string, port: number, keyBlob: Buffer, comment?: string): Promise<void> {
    let existing = '';
    try {
      existing = await readRegularTextFile(this.ownFile, READ_LIMITS.knownHosts);
    } catch (err) {
      if (err instanceof FileRefusal) throw err;
      /* first key */
    }
    if (existing && !existing.endsWith('\n')) existing += '\n';
    const line = `${hostPattern(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}${comment ? ' ' + comment : ''}\n`;
    await writeFileAtomic(this.ownFile, existing + line, { mode: 0o600 });
  }
}
