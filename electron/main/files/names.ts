import { randomBytes } from 'node:crypto';

/**
 * Remote paths are bytes: a name may hold a newline or bytes that are not UTF-8, and must reach
 * the server again as it came. Here they are joined, split and shown without being decoded and
 * encoded again.
 */

const SLASH = 0x2f;

export function joinRemote(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return Buffer.from(name);
  return dir[dir.length - 1] === SLASH ? Buffer.concat([dir, name]) : Buffer.concat([dir, Buffer.of(SLASH), name]);
}

/** The folder a path is in (`/` for a path at the root). */
export function parentOf(path: Buffer): Buffer {
  const trimmed = trimSlashes(path);
  const i = trimmed.lastIndexOf(SLASH);
  if (i < 0) return Buffer.from('.');
  if (i === 0) return Buffer.from('/');
  return Buffer.from(trimmed.subarray(0, i));
}

export function baseName(path: Buffer): Buffer {
  const trimmed = trimSlashes(path);
  return Buffer.from(trimmed.subarray(trimmed.lastIndexOf(SLASH) + 1));
}

function trimSlashes(path: Buffer): Buffer {
  let end = path.length;
  while (end > 1 && path[end - 1] === SLASH) end--;
  return path.subarray(0, end);
}

/** A name Keyless may create: not empty, no `/` or NUL, not `.` or `..`. */
export function isPlainName(name: Buffer): boolean {
  if (name.length === 0 || name.includes(SLASH) || name.includes(0)) return false;
  const s = name.toString('latin1');
  return s !== '.' && s !== '..';
}

/**
 * A name from a host that can be a file's on this computer as it is: a plain name and, on Windows,
 * no `\` (a folder separator there: `..\..\x` would climb out of the downloads folder) and no `:`
 * (a drive, or a file's alternate data stream).
 */
export function isLocalName(name: Buffer, platform: NodeJS.Platform = process.platform): boolean {
  return isPlainName(name) && (platform !== 'win32' || !(name.includes(0x5c) || name.includes(0x3a)));
}

const C1 = /[\u0080-\u009f]/;

/**
 * The name to show a person: UTF-8 as it is; control characters as `\n`, `\t`, `\x1b`; every byte
 * that is not part of valid UTF-8 as `\xff`; a backslash as `\\` (so what is shown names one file
 * only). Bidirectional overrides are shown as `\u202e` so a name cannot pretend to end otherwise.
 */
export function displayName(bytes: Buffer | Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = utf8Length(bytes, i);
    if (len === 0) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const ch = Buffer.from(bytes.subarray(i, i + len)).toString('utf8');
    i += len;
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f || C1.test(ch)) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f) out += `\\u${cp.toString(16)}`;
    else out += ch;
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when the byte there does not start one. */
function utf8Length(b: Buffer | Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

/** A path shown to a person (and in logs): its bytes shown as `displayName` does. */
export const displayPath = displayName;

/**
 * A temporary name beside the target, hidden and unlike anything a person names a file: created
 * with O_EXCL, so it can never be someone's own file.
 */
export function temporaryName(name: Buffer): Buffer {
  const stem = name.length > 120 ? name.subarray(0, 120) : name;
  return Buffer.concat([Buffer.from('.'), stem, Buffer.from(`.keyless-${randomBytes(6).toString('hex')}.part`)]);
}

/** True for names made by `temporaryName` (left by a transfer a crash cut off). */
export function isTemporaryName(name: Buffer): boolean {
  return /\.keyless-[0-9a-f]{12}\.part$/.test(name.toString('latin1'));
}

/** `report.txt` → `report (1).txt`, `archive` → `archive (1)`; a leading dot is not an extension. */
export function keepBothName(name: Buffer, n: number): Buffer {
  const s = name.toString('latin1');
  const dot = s.lastIndexOf('.');
  const cut = dot > 0 ? dot : s.length;
  return Buffer.concat([name.subarray(0, cut), Buffer.from(` (${n})`), name.subarray(cut)]);
}

export function toBase64(b: Buffer): string {
  return b.toString('base64');
}
export function fromBase64(s: string): Buffer {
  return Buffer.from(s, 'base64');
}
