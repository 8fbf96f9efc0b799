import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConsoleHostKeys } from '../../../electron/main/connect/ec2-inventory';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { generateEphemeralKey } from '../../../electron/main/connect/ephemeral-key';
import { verifyInstanceHostKey } from '../../../electron/main/connect/host-keys';
import { KnownHosts, fingerprintSha256, type KnownHostKey } from '../../../electron/main/ssh/known-hosts';

let dir: string;
let knownHosts: KnownHosts;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyless-hk-'));
  knownHosts = new KnownHosts(join(dir, 'known_hosts'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const hostKey = generateEphemeralKey('host');
const otherKey = generateEphemeralKey('other');

function check(over: { console?: string[]; answer?: boolean; address?: string; blob?: Buffer } = {}) {
  const asked: string[] = [];
  const shown: Array<KnownHostKey[] | undefined> = [];
  const p = verifyInstanceHostKey({
    knownHosts,
    instanceId: 'i-0abc',
    address: over.address ?? '10.0.0.5',
    port: 22,
    keyBlob: over.blob ?? hostKey.publicBlob,
    consoleFingerprints: async () => over.console ?? [],
    ask: async (k, known) => (asked.push(k.fingerprint), shown.push(known), over.answer ?? false),
  });
  return { p, asked, shown };
}

describe('verifyInstanceHostKey', () => {
  it('accepts silently a key the console printed, and remembers it by instance id and address', async () => {
    const { p, asked } = check({ console: [otherKey.fingerprint, hostKey.fingerprint] });
    expect(await p).toBe('console');
    expect(asked).toEqual([]);
    const file = readFileSync(join(dir, 'known_hosts'), 'utf8');
    expect(file).toContain('i-0abc ssh-ed25519');
    expect(file).toContain('10.0.0.5 ssh-ed25519');
    expect(await check().p).toBe('known');
  });

  it('blocks a key the console does not list', async () => {
    const err = await check({ console: [otherKey.fingerprint] }).p.catch((e: unknown) => e as KeylessFailure);
    expect((err as KeylessFailure).code).toBe('HostKeyNotOnConsole');
  });

  it('asks the person when the console has no fingerprints, and remembers a yes', async () => {
    const no = check({ answer: false });
    await expect(no.p).rejects.toMatchObject({ code: 'HostKeyRejected' });
    expect(no.asked).toEqual([hostKey.fingerprint]);
    expect(await check({ answer: true }).p).toBe('person');
    expect(await check().p).toBe('known');
  });

  it('blocks a changed key for a known instance even when the console would vouch for it', async () => {
    expect(await check({ answer: true }).p).toBe('person');
    const err = await check({ blob: otherKey.publicBlob, console: [otherKey.fingerprint] }).p.catch((e: unknown) => e as KeylessFailure);
    expect((err as KeylessFailure).code).toBe('HostKeyMismatch');
    expect((err as KeylessFailure).detail?.knownFingerprint).toBe(hostKey.fingerprint);
  });

  it('a key of a new type for an instance known by another type is asked with the known key, never as a first meeting', async () => {
    const ecdsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
    const curve = Buffer.from('nistp256');
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(ecdsa.x!, 'base64url'), Buffer.from(ecdsa.y!, 'base64url')]);
    // The SSH wire form of an ECDSA public key: string type, string curve, string point.
    const str = (b: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const ecdsaBlob = Buffer.concat([str(Buffer.from('ecdsa-sha2-nistp256')), str(curve), str(point)]);
    await knownHosts.add('i-0abc', 22, ecdsaBlob);
    await knownHosts.add('10.0.0.5', 22, ecdsaBlob);
    // The address knowing the new key does not vouch for it either: an address is reused.
    await knownHosts.add('10.0.0.5', 22, hostKey.publicBlob);
    const no = check({ answer: false });
    await expect(no.p).rejects.toMatchObject({ code: 'HostKeyRejected' });
    expect(no.asked).toEqual([hostKey.fingerprint]);
    expect(no.shown).toEqual([[{ keyType: 'ecdsa-sha2-nistp256', fingerprint: fingerprintSha256(ecdsaBlob), file: join(dir, 'known_hosts'), line: 1 }]]);
    // The console vouching for the new key settles it without a question.
    expect(await check({ console: [hostKey.fingerprint] }).p).toBe('console');
  });

  it('a reused private address with another key does not block a new instance the console vouches for', async () => {
    await knownHosts.add('10.0.0.5', 22, otherKey.publicBlob);
    expect(await check({ console: [hostKey.fingerprint] }).p).toBe('console');
  });
});

describe('parseConsoleHostKeys', () => {
  it('reads the cloud-init fingerprint and key blocks of the last boot', () => {
    const b64 = hostKey.publicKey.split(' ')[1];
    const text = [
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      `ec2: 256 ${otherKey.fingerprint} old boot (ED25519)`,
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      'reboot',
      'ec2: #############################################################',
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      `ec2: 256 ${hostKey.fingerprint} root@ip-10-0-0-5 (ED25519)`,
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      '-----BEGIN SSH HOST KEY KEYS-----',
      `ssh-ed25519 ${b64} root@ip-10-0-0-5`,
      '-----END SSH HOST KEY KEYS-----',
    ].join('\n');
    expect(parseConsoleHostKeys(text)).toEqual([hostKey.fingerprint]);
    expect(parseConsoleHostKeys('no keys here')).toEqual([]);
  });

  it('reads a console the instance filled with blank lines or unclosed markers without backtracking over it', () => {
    const b64 = hostKey.publicKey.split(' ')[1];
    const keys = ['-----BEGIN SSH HOST KEY KEYS-----', `ec2: ssh-ed25519 ${b64} root@ip`, '\n'.repeat(256 * 1024), '-----END SSH HOST KEY KEYS-----'].join('\n');
    expect(parseConsoleHostKeys(keys)).toEqual([hostKey.fingerprint]);
    const unclosed = '-----BEGIN SSH HOST KEY FINGERPRINTS-----\n'.repeat(8000);
    expect(parseConsoleHostKeys(unclosed + keys)).toEqual([hostKey.fingerprint]);
  });
});
