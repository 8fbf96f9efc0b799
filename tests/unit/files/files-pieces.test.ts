import { describe, expect, it } from 'vitest';
import { baseName, displayName, isLocalName, isPlainName, joinRemote, keepBothName, parentOf, temporaryName, isTemporaryName } from '../../../electron/main/files/names';
import { Progress, pump, READ_HEADROOM, Slots } from '../../../electron/main/files/pump';
import { shellQuote } from '../../../electron/main/files/sudo-upload';
import { b64ToBytes, bytesToB64, crumbs, joinPath, osc7Path } from '../../../renderer/lib/state/files.svelte';
import { formatMode } from '../../../renderer/views/files/format';

const B = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));

describe('remote names are bytes', () => {
  it('shown escaped: control characters, bytes that are not UTF-8, a backslash, bidi overrides; UTF-8 as it is', () => {
    expect(displayName(B('line\nbreak'))).toBe('line\\nbreak');
    expect(displayName(B([0x63, 0x61, 0x66, 0xe9]))).toBe('caf\\xe9');
    expect(displayName(B('a\\b'))).toBe('a\\\\b');
    expect(displayName(B('\u001b[31mred'))).toBe('\\x1b[31mred');
    expect(displayName(B('invoice\u202etxt.exe'))).toBe('invoice\\u202etxt.exe');
    expect(displayName(B('日本語 🚀'))).toBe('日本語 🚀');
    // Overlong and surrogate encodings are not UTF-8 either.
    expect(displayName(B([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
    expect(displayName(B([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    // Two different names never look the same.
    expect(displayName(B('a\\x41'))).not.toBe(displayName(B([0x61, 0x41])));
  });

  it('joined and split without decoding', () => {
    const odd = B([0x2f, 0x74, 0xff, 0x2f, 0x6e, 0x0a]);
    expect(parentOf(odd)).toEqual(B([0x2f, 0x74, 0xff]));
    expect(baseName(odd)).toEqual(B([0x6e, 0x0a]));
    expect(joinRemote(B('/'), B('x'))).toEqual(B('/x'));
    expect(joinRemote(B('/a/'), B([0xfe]))).toEqual(B([0x2f, 0x61, 0x2f, 0xfe]));
    expect(parentOf(B('/top'))).toEqual(B('/'));
  });

  it('a name Keyless makes is one name', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a\u0000b']) expect(isPlainName(B(bad)), bad).toBe(false);
    expect(isPlainName(B('.bashrc'))).toBe(true);
  });

  it('a name from a host becomes a local file only where this computer reads it as one name (on Windows: no \\ or :)', () => {
    const climbs = B('..\\..\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup');
    expect(isLocalName(climbs, 'win32')).toBe(false);
    expect(isLocalName(B('notes.txt:hidden-stream'), 'win32')).toBe(false);
    expect(isLocalName(B('C:'), 'win32')).toBe(false);
    expect(isLocalName(B('report 2026.txt'), 'win32')).toBe(true);
    // On Linux and macOS both are characters of a name.
    expect(isLocalName(climbs, 'linux')).toBe(true);
    expect(isLocalName(B('a:b'), 'darwin')).toBe(true);
    for (const bad of ['', '.', '..', 'a/b']) expect(isLocalName(B(bad), 'linux'), bad).toBe(false);
  });

  it('keep both: "name (n).ext", a leading dot is no extension', () => {
    expect(keepBothName(B('report.txt'), 1).toString()).toBe('report (1).txt');
    expect(keepBothName(B('archive'), 2).toString()).toBe('archive (2)');
    expect(keepBothName(B('.bashrc'), 1).toString()).toBe('.bashrc (1)');
  });

  it('temporary names are hidden, unlike any name a person gives, and fit in a name', () => {
    const t = temporaryName(Buffer.alloc(255, 0x61));
    expect(t.length).toBeLessThanOrEqual(255);
    expect(t[0]).toBe(0x2e);
    expect(isTemporaryName(t)).toBe(true);
    expect(isTemporaryName(B('report.part'))).toBe(false);
    expect(temporaryName(B('x')).equals(temporaryName(B('x')))).toBe(false);
  });

  it('a path for sudo is one shell word whatever its bytes', () => {
    expect(shellQuote(B("it's")).toString()).toBe("'it'\\''s'");
    expect(shellQuote(B([0x24, 0x28, 0xff, 0x29]))).toEqual(Buffer.concat([B("'"), B([0x24, 0x28, 0xff, 0x29]), B("'")]));
  });
});

describe('the renderer’s side of names', () => {
  it('base64 both ways, byte for byte', () => {
    const bytes = new Uint8Array([0, 255, 10, 47, 0xe9]);
    expect([...b64ToBytes(bytesToB64(bytes))]).toEqual([...bytes]);
  });

  it('breadcrumbs carry each folder’s bytes', () => {
    const path = bytesToB64(new Uint8Array(B([0x2f, 0x68, 0x2f, 0xff, 0x2f, 0x6b])));
    const c = crumbs(path, '/h/\\xff/k');
    expect(c.map((x) => x.label)).toEqual(['/', 'h', '\\xff', 'k']);
    expect([...b64ToBytes(c[2]!.path)]).toEqual([0x2f, 0x68, 0x2f, 0xff]);
    expect([...b64ToBytes(joinPath(c[1]!.path, bytesToB64(new Uint8Array([0x78]))))]).toEqual([0x2f, 0x68, 0x2f, 0x78]);
  });

  it('OSC 7 names the shell’s folder, percent-encoded bytes decoded as bytes', () => {
    expect([...b64ToBytes(osc7Path('file://web-1/home/ec2-user/caf%E9%20x')!)]).toEqual([...B('/home/ec2-user/caf'), 0xe9, 0x20, 0x78]);
    expect(osc7Path('http://x/y')).toBeUndefined();
    expect(osc7Path('file://host')).toBeUndefined();
  });

  it('permissions as ls shows them', () => {
    expect(formatMode('dir', 0o755)).toBe('drwxr-xr-x');
    expect(formatMode('file', 0o4755)).toBe('-rwsr-xr-x');
    expect(formatMode('dir', 0o1777)).toBe('drwxrwxrwt');
    expect(formatMode('file', 0o2640)).toBe('-rw-r-S---');
  });
});

describe('the pipelined pump', () => {
  it('keeps several requests in flight, never more than its slots, and writes every byte once', async () => {
    const size = 1000 * 1024 + 17;
    const src = Buffer.alloc(size, 0);
    for (let i = 0; i < size; i++) src[i] = (i * 31) & 0xff;
    const dst = Buffer.alloc(size);
    let inFlight = 0;
    let most = 0;
    const written: number[] = [];
    await pump(
      {
        read: async (offset, length) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
          return offset >= size ? null : src.subarray(offset, Math.min(size, offset + length));
        },
      },
      {
        write: async (offset, data) => {
          data.copy(dst, offset);
          written.push(data.length);
        },
      },
      { from: 0, size, chunk: 64 * 1024, inFlight: 8, slots: new Slots(5), signal: new AbortController().signal, progress: new Progress(0), onBytes: () => {} },
    );
    expect(dst.equals(src)).toBe(true);
    expect(written.reduce((a, b) => a + b, 0)).toBe(size);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(5);
  });

  it('a resume starts at the last byte written in order; a short read is continued', async () => {
    const progress = new Progress(0);
    progress.mark(100, 200);
    expect(progress.done).toBe(0);
    progress.mark(0, 100);
    expect(progress.done).toBe(200);
    const src = Buffer.from('abcdefghij'.repeat(100));
    const dst = Buffer.alloc(src.length);
    const p = new Progress(300);
    // The server answers at most 7 bytes a read.
    await pump(
      { read: async (o, l) => (o >= src.length ? null : src.subarray(o, o + Math.min(l, 7))) },
      { write: async (o, d) => void d.copy(dst, o) },
      { from: 300, size: src.length, chunk: 64, inFlight: 4, slots: new Slots(4), signal: new AbortController().signal, progress: p, onBytes: () => {} },
    );
    expect(dst.subarray(300).equals(src.subarray(300))).toBe(true);
    expect(dst.subarray(0, 300).every((b) => b === 0)).toBe(true);
    expect(p.done).toBe(src.length);
  });

  it('a reader that fills the buffer it is given: every byte arrives as read, none overwritten before its write is done', async () => {
    const size = 300 * 1024 + 5;
    const src = Buffer.alloc(size);
    for (let i = 0; i < size; i++) src[i] = (i * 7 + (i >> 9)) & 0xff;
    const dst = Buffer.alloc(size);
    const given = new Set<Buffer>();
    let tick = 0;
    await pump(
      {
        read: async (offset, length, into) => {
          expect(into!.length).toBeGreaterThanOrEqual(length + READ_HEADROOM);
          given.add(into!);
          await new Promise((r) => setTimeout(r, tick++ % 3));
          // As an SFTP DATA reply lands: after a header, in the caller's buffer.
          const n = Math.min(length, size - offset);
          if (n <= 0) return null;
          src.copy(into!, 13, offset, offset + n);
          return into!.subarray(13, 13 + n);
        },
      },
      {
        // A slow writer: the bytes are looked at only when its write finishes.
        write: async (offset, data) => {
          await new Promise((r) => setTimeout(r, (tick++ % 4) + 1));
          data.copy(dst, offset);
        },
      },
      { from: 0, size, chunk: 16 * 1024, inFlight: 6, slots: new Slots(6), signal: new AbortController().signal, progress: new Progress(0), onBytes: () => {} },
    );
    expect(dst.equals(src)).toBe(true);
    // One buffer for each request in flight, not one for each request.
    expect(given.size).toBeLessThanOrEqual(6);
  });

  it('a file that shrank ends where it ends', async () => {
    const got: number[] = [];
    const end = await pump(
      { read: async (o, l) => (o >= 150 ? null : Buffer.alloc(Math.min(l, 150 - o))) },
      { write: async (o, d) => void got.push(o + d.length) },
      { from: 0, size: 1000, chunk: 100, inFlight: 3, slots: new Slots(3), signal: new AbortController().signal, progress: new Progress(0), onBytes: () => {} },
    );
    expect(end).toBe(150);
    expect(Math.max(...got)).toBe(150);
  });
});
