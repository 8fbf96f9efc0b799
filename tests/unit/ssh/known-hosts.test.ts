import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprintSha256, hostsFieldMatches } from '../../../electron/main/ssh/known-hosts';

const hasKeygen = existsSync('/usr/bin/ssh-keygen');
if (!hasKeygen) console.warn('known-hosts: ssh-keygen is missing; tests that need OpenSSH itself are skipped');

let dir: string;
let n = 0;
/** A fresh ed25519 (or other) public key as OpenSSH writes it. */
function newKey(type = 'ed25519'): { line: string; blob: Buffer; fingerprint: string } {
  const f = join(dir, `k${n++}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f]);
  const pub = execFileSync('cat', [f + '.pub']).toString().trim();
  const [t, b64] = pub.split(' ');
  const fingerprint = execFileSync('ssh-keygen', ['-lf', f + '.pub']).toString().split(' ')[1]!;
  return { line: `${t} ${b64}`, blob: Buffer.from(b64!, 'base64'), fingerprint };
}

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

let a: ReturnType<typeof newKey>;
let b: ReturnType<typeof newKey>;
let rsa: ReturnType<typeof newKey>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-kh-'));
  if (hasKeygen) {
    a = newKey();
    b = newKey();
    rsa = newKey('ecdsa');
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!hasKeygen)('known_hosts in OpenSSH format', () => {
  it('fingerprints match ssh-keygen -l', () => {
    expect(fingerprintSha256(a.blob)).toBe(a.fingerprint);
  });

  it('plain entries: known for the listed host on port 22 only', async () => {
    const kh = new KnownHosts(await file('plain', `# comment\n\nweb.example.com,10.0.0.1 ${a.line} me@laptop\n`));
    expect((await kh.verify('web.example.com', 22, a.blob)).kind).toBe('known');
    expect((await kh.verify('WEB.example.com', 22, a.blob)).kind).toBe('known');
    expect((await kh.verify('10.0.0.1', 22, a.blob)).kind).toBe('known');
    expect((await kh.verify('web.example.com', 2222, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('other.example.com', 22, a.blob)).kind).toBe('unknown');
  });

  it('[host]:port entries match that port only', async () => {
    const kh = new KnownHosts(await file('port', `[127.0.0.1]:2222 ${a.line}\n[::1]:2200 ${b.line}\n`));
    expect((await kh.verify('127.0.0.1', 2222, a.blob)).kind).toBe('known');
    expect((await kh.verify('127.0.0.1', 22, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('127.0.0.1', 2223, a.blob)).kind).toBe('unknown');
    // `[` must not act as a character class: a one-character host must not match.
    expect((await kh.verify('1', 2222, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('::1', 2200, b.blob)).kind).toBe('known');
  });

  it('hashed entries written by ssh-keygen -H', async () => {
    const p = await file('hashed', `web.example.com ${a.line}\n[db.internal]:2222 ${b.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', p], { stdio: 'ignore' });
    const text = await readFile(p, 'utf8');
    expect(text).not.toContain('example.com');
    expect(text).toMatch(/^\|1\|/m);
    const kh = new KnownHosts(p);
    expect((await kh.verify('web.example.com', 22, a.blob)).kind).toBe('known');
    expect((await kh.verify('db.internal', 2222, b.blob)).kind).toBe('known');
    expect((await kh.verify('db.internal', 22, b.blob)).kind).toBe('unknown');
    expect((await kh.verify('web.example.org', 22, a.blob)).kind).toBe('unknown');
    const changed = await kh.verify('web.example.com', 22, newKey().blob);
    expect(changed).toMatchObject({ kind: 'changed', line: 1, knownFingerprint: a.fingerprint });
  });

  it('hashed entries computed by hand (HMAC-SHA1 of the name, keyed by the salt)', () => {
    const salt = randomBytes(20);
    const field = (name: string) => `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
    expect(hostsFieldMatches(field('[10.1.2.3]:2022'), '10.1.2.3', 2022)).toBe(true);
    expect(hostsFieldMatches(field('[10.1.2.3]:2022'), '10.1.2.3', 22)).toBe(false);
    expect(hostsFieldMatches(field('gw'), 'gw', 22)).toBe(true);
    // ssh lowercases the name before hashing it
    expect(hostsFieldMatches(field('gw.example.com'), 'GW.Example.com', 22)).toBe(true);
    expect(hostsFieldMatches('|1|garbage', 'gw', 22)).toBe(false);
  });

  it('wildcards and negation', async () => {
    const kh = new KnownHosts(await file('wild', `*.corp.example,!bastion.corp.example ${a.line}\nweb?.example ${b.line}\n`));
    expect((await kh.verify('app.corp.example', 22, a.blob)).kind).toBe('known');
    expect((await kh.verify('bastion.corp.example', 22, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('corp.example', 22, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('web1.example', 22, b.blob)).kind).toBe('known');
    expect((await kh.verify('web12.example', 22, b.blob)).kind).toBe('unknown');
    expect((await kh.verify('webXexample', 22, b.blob)).kind).toBe('unknown');
  });

  it('a hostile pattern in a known_hosts file is matched without backtracking', async () => {
    const kh = new KnownHosts(await file('hostile', `*a*a*a*a*a*a*a*a*a*a*b ${a.line}\n`));
    expect((await kh.verify('a'.repeat(160), 22, a.blob)).kind).toBe('unknown');
    expect((await kh.verify('a'.repeat(160) + 'b', 22, a.blob)).kind).toBe('known');
  });

  it('@revoked blocks the key even when another line lists it', async () => {
    const kh = new KnownHosts(await file('revoked', `web.example ${a.line}\n@revoked * ${a.line}\n`));
    expect((await kh.verify('web.example', 22, a.blob)).kind).toBe('revoked');
    expect((await kh.verify('web.example', 22, b.blob)).kind).toBe('changed');
  });

  it('a different key of the same type is a change with the file and line', async () => {
    const p = await file('changed', `# header\nother ${b.line}\nweb.example ${a.line}\n`);
    const kh = new KnownHosts(p);
    expect(await kh.verify('web.example', 22, b.blob)).toEqual({ kind: 'changed', file: p, line: 3, knownFingerprint: a.fingerprint });
  });

  it('a key of a type with no record, beside keys of other types, names those keys (as OpenSSH warns), from either file', async () => {
    const own = await file('own-types', `web.example ${a.line}\n`);
    const user = await file('user-types', `# mine\nweb.example ${a.line}\n[web.example]:2222 ${b.line}\n`);
    const kh = new KnownHosts(own, [user]);
    const ecdsaType = rsa.line.split(' ')[0];
    expect(await kh.verify('web.example', 22, rsa.blob)).toEqual({ kind: 'otherType', known: [{ keyType: 'ssh-ed25519', fingerprint: a.fingerprint, file: own, line: 1 }] });
    expect(await kh.verify('web.example', 2222, rsa.blob)).toEqual({ kind: 'otherType', known: [{ keyType: 'ssh-ed25519', fingerprint: b.fingerprint, file: user, line: 3 }] });
    // Known as it is, or unknown where the host has no key at all.
    await kh.add('web.example', 22, rsa.blob);
    expect(await kh.verify('web.example', 22, rsa.blob)).toEqual({ kind: 'known', file: own });
    expect(ecdsaType).toMatch(/^ecdsa-sha2-/);
    expect((await kh.verify('elsewhere.example', 22, rsa.blob)).kind).toBe('unknown');
  });

  it('a host with several keys (as OpenSSH allows) is known by any of them', async () => {
    const user = await file('user-several', `web.example ${a.line}\nweb.example ${b.line}\n`);
    const kh = new KnownHosts(join(dir, 'own-none'), [user]);
    expect((await kh.verify('web.example', 22, b.blob)).kind).toBe('known');
    expect((await kh.verify('web.example', 22, a.blob)).kind).toBe('known');
  });

  it('reads the user files as well as its own, and a missing file is no error', async () => {
    const user = await file('user', `web.example ${a.line}\n`);
    const kh = new KnownHosts(join(dir, 'missing-own'), [join(dir, 'missing-user'), user]);
    expect(await kh.verify('web.example', 22, a.blob)).toEqual({ kind: 'known', file: user });
  });

  it('add() appends in OpenSSH format that ssh-keygen -F finds, keeping what was there', async () => {
    const own = await file('own', `keep.example ${a.line}`); // no trailing newline
    const kh = new KnownHosts(own, []);
    await kh.add('127.0.0.1', 2222, b.blob);
    await kh.add('web.example', 22, a.blob, 'added-by-keyless');
    const text = await readFile(own, 'utf8');
    expect(text.split('\n')).toEqual([`keep.example ${a.line}`, `[127.0.0.1]:2222 ${b.line}`, `web.example ${a.line} added-by-keyless`, '']);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', own]).toString();
    expect(found).toContain(b.line);
    expect(execFileSync('ssh-keygen', ['-F', 'web.example', '-f', own]).toString()).toContain(a.line);
    expect((await kh.verify('127.0.0.1', 2222, b.blob)).kind).toBe('known');
  });
});
