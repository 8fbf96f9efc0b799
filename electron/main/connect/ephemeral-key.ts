import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * A one-use Ed25519 key pair made in memory for a single authentication. The public half is the
 * OpenSSH one-line form SendSSHPublicKey takes; the private half is an unencrypted OpenSSH
 * private key in a Buffer (ssh2 does not read Node's PKCS#8 Ed25519 PEM), which `dispose()`
 * overwrites. Neither is ever written to disk or logged.
 */
export interface EphemeralKey {
  /** `ssh-ed25519 AAAA… keyless` */
  readonly publicKey: string;
  /** The public key blob in SSH wire format. */
  readonly publicBlob: Buffer;
  /** `SHA256:…` as OpenSSH prints it. */
  readonly fingerprint: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----…` as bytes; zeroed by dispose(). */
  readonly privateKey: Buffer;
  dispose(): void;
}

const KEY_TYPE = 'ssh-ed25519';

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function generateEphemeralKey(comment = 'keyless'): EphemeralKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);

  // openssh-key-v1 (PROTOCOL.key in OpenSSH): unencrypted, one key, private section padded to 8.
  const check = randomBytes(4).readUInt32BE(0);
  const secret = Buffer.concat([seed, pub]);
  const parts = [uint32(check), uint32(check), sshString(KEY_TYPE), sshString(pub), sshString(secret), sshString(comment)];
  let section = Buffer.concat(parts);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(section),
  ]);
  const b64 = body.toString('base64');
  const lines = b64.match(/.{1,70}/g) ?? [];
  const pem = Buffer.from(`-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`, 'latin1');
  // Scrub the intermediate copies of the secret; only `pem` keeps it.
  for (const b of [seed, secret, section, body, parts[4]!]) b.fill(0);

  return {
    publicKey: `${KEY_TYPE} ${publicBlob.toString('base64')} ${comment}`,
    publicBlob,
    fingerprint: 'SHA256:' + createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, ''),
    privateKey: pem,
    dispose: () => pem.fill(0),
  };
}
