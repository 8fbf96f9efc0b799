import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEphemeralKey } from '../../../electron/main/connect/ephemeral-key';

describe('generateEphemeralKey', () => {
  it('makes an OpenSSH public line SendSSHPublicKey accepts and a private key ssh2 parses', () => {
    const key = generateEphemeralKey();
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* keyless$/);
    expect(key.publicKey.length).toBeGreaterThanOrEqual(80);
    const parsed = ssh2.utils.parseKey(key.privateKey);
    if (parsed instanceof Error) throw parsed;
    const k = Array.isArray(parsed) ? parsed[0]! : parsed;
    expect(k.type).toBe('ssh-ed25519');
    expect(k.getPublicSSH().equals(key.publicBlob)).toBe(true);
    // The private half really signs for the public half.
    const data = Buffer.from('challenge');
    const sig = k.sign(data);
    const pub = ssh2.utils.parseKey(key.publicKey);
    if (pub instanceof Error) throw pub;
    expect((Array.isArray(pub) ? pub[0]! : pub).verify(data, sig as Buffer)).toBe(true);
  });

  it('gives a new key every time and a fingerprint OpenSSH agrees with', () => {
    const a = generateEphemeralKey();
    const b = generateEphemeralKey();
    expect(a.publicKey).not.toBe(b.publicKey);
    const dir = mkdtempSync(join(tmpdir(), 'keyless-fp-'));
    try {
      writeFileSync(join(dir, 'k.pub'), a.publicKey + '\n');
      const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], { encoding: 'utf8' });
      expect(out).toContain(a.fingerprint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('zeroes the private key on dispose', () => {
    const key = generateEphemeralKey();
    key.dispose();
    expect(key.privateKey.every((b) => b === 0)).toBe(true);
  });
});
