import type { ClientChannel } from 'ssh2';
import { ChannelWindow } from './channel-window';

/**
 * An SFTP (version 3) client whose paths and names are bytes. ssh2's own SFTP client writes every
 * path with `utf8Write` of a JS string and reads every name from a NAME packet as UTF-8, so a file
 * whose name is not valid UTF-8 (a Latin-1 name made by an old tool) cannot be listed, opened or
 * renamed through it, and one it lists comes back under another name (U+FFFD in place of its
 * bytes). This speaks the same protocol over ssh2's `sftp` subsystem channel and keeps names as
 * the bytes the server sent. It sends requests as they are asked for (pipelining is the caller's:
 * many reads or writes in flight at once) and never holds more than what is in flight.
 */

const enum T {
  INIT = 1,
  VERSION = 2,
  OPEN = 3,
  CLOSE = 4,
  READ = 5,
  WRITE = 6,
  LSTAT = 7,
  FSTAT = 8,
  SETSTAT = 9,
  FSETSTAT = 10,
  OPENDIR = 11,
  READDIR = 12,
  REMOVE = 13,
  MKDIR = 14,
  RMDIR = 15,
  REALPATH = 16,
  STAT = 17,
  RENAME = 18,
  READLINK = 19,
  STATUS = 101,
  HANDLE = 102,
  DATA = 103,
  NAME = 104,
  ATTRS = 105,
  EXTENDED = 200,
  EXTENDED_REPLY = 201,
}

/** SSH_FXP_OPEN flags. */
export const OPEN = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

/** SSH_FX_* status codes (draft-ietf-secsh-filexfer-02). */
export const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 } as const;

const ATTR = { SIZE: 0x1, UIDGID: 0x2, PERMISSIONS: 0x4, ACMODTIME: 0x8, EXTENDED: 0x80000000 } as const;

/** What SFTP v3 says about a file. `mode` carries the type bits (S_IFMT) as well as the permissions. */
export interface SftpAttrs {
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  atime?: number;
  mtime?: number;
}

export interface SftpName {
  name: Buffer;
  /** `ls -l`-style line (OpenSSH's sftp-server puts the owner's and group's names in it). */
  longname: Buffer;
  attrs: SftpAttrs;
}

export interface StatVfs {
  blockSize: number;
  fragmentSize: number;
  blocks: number;
  freeBlocks: number;
  availableBlocks: number;
  nameMax: number;
}

/** A status the server answered with (or the channel closing: CONNECTION_LOST). */
export class SftpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SftpError';
  }
}

/** The file type bits of a mode. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

export type FileKind = 'file' | 'dir' | 'link' | 'fifo' | 'socket' | 'char' | 'block' | 'other';
export function kindOfMode(mode: number | undefined): FileKind {
  switch ((mode ?? 0) & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'link';
    case S_IFIFO:
      return 'fifo';
    case S_IFSOCK:
      return 'socket';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    default:
      return 'other';
  }
}

/** A packet being written: SFTP's uint32 / uint64 / string fields. */
class Out {
  private parts: Buffer[] = [];
  private length = 0;
  constructor(type: number, id: number | undefined) {
    this.byte(type);
    if (id !== undefined) this.u32(id);
  }
  byte(v: number): this {
    return this.push(Buffer.of(v));
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }
  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }
  bytes(v: Buffer | Uint8Array): this {
    this.u32(v.length);
    return this.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  str(v: string): this {
    return this.bytes(Buffer.from(v, 'utf8'));
  }
  attrs(a: SftpAttrs): this {
    let flags = 0;
    if (a.size !== undefined) flags |= ATTR.SIZE;
    if (a.uid !== undefined && a.gid !== undefined) flags |= ATTR.UIDGID;
    if (a.mode !== undefined) flags |= ATTR.PERMISSIONS;
    if (a.atime !== undefined && a.mtime !== undefined) flags |= ATTR.ACMODTIME;
    this.u32(flags);
    if (flags & ATTR.SIZE) this.u64(a.size!);
    if (flags & ATTR.UIDGID) this.u32(a.uid!).u32(a.gid!);
    if (flags & ATTR.PERMISSIONS) this.u32(a.mode!);
    if (flags & ATTR.ACMODTIME) this.u32(a.atime!).u32(a.mtime!);
    return this;
  }
  private push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  /** The packet with its length in front; `tail` more bytes follow it on the wire, sent as they are. */
  finish(tail = 0): Buffer {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(this.length + tail);
    return Buffer.concat([head, ...this.parts], 4 + this.length);
  }
}

/** A packet being read. Reads past its end throw (a malformed packet ends the session). */
class In {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  get left(): number {
    return this.b.length - this.p;
  }
  byte(): number {
    this.need(1);
    return this.b[this.p++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.b.readBigUInt64BE(this.p);
    this.p += 8;
    return Number(v);
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  attrs(): SftpAttrs {
    const flags = this.u32();
    const a: SftpAttrs = {};
    if (flags & ATTR.SIZE) a.size = this.u64();
    if (flags & ATTR.UIDGID) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (flags & ATTR.PERMISSIONS) a.mode = this.u32();
    if (flags & ATTR.ACMODTIME) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (flags & ATTR.EXTENDED) {
      const n = this.u32();
      for (let i = 0; i < n; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return a;
  }
  private need(n: number): void {
    if (this.p + n > this.b.length) throw new SftpError(STATUS.BAD_MESSAGE, 'malformed SFTP packet');
  }
}

type Reply = { type: number; body: In };
interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
  /** Where the reply may be put (a READ's DATA, in the caller's buffer): no buffer is made for it. */
  into?: Buffer;
}

/**
 * The receive window this session keeps open on its channel. ssh2 grants 2 MiB and tops it up
 * only when half of it is used, so a download has 1 to 2 MiB on the way at any time: about
 * 15 MB/s at a 100 ms round trip, below OpenSSH (which tops up after 3 packets). Replies only
 * come to requests, so what is in flight stays bounded by the requests (a transfer's 32 × 255
 * KiB); 8 MiB lets them all be on the way at once.
 */
const RECEIVE_WINDOW = 8 * 1024 * 1024;
/** Top-ups are made once this much of the window is used (fewer, larger WINDOW_ADJUSTs). */
const WINDOW_STEP = 256 * 1024;

/** The most one packet may be: OpenSSH's sftp-server refuses more than 256 KiB. */
const MAX_PACKET = 256 * 1024;
/** What a READ or WRITE packet carries besides its data. */
const RW_OVERHEAD = 1024;

export class SftpSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private failure: SftpError | undefined;
  private readonly closeListeners = new Set<(err: SftpError) => void>();
  /** Extensions the server named in its VERSION packet, with their versions. */
  readonly extensions = new Map<string, string>();
  /** The largest read and write this server takes (limits@openssh.com, else SFTP's safe 32 KiB). */
  maxRead = 32 * 1024;
  maxWrite = 32 * 1024;
  /** The channel's window as Keyless grants it (null: this ssh2 keeps its own). */
  private window: ChannelWindow | null | undefined;

  private constructor(private readonly channel: ClientChannel) {
    channel.on('data', (d: Buffer) => this.receive(d));
    const lost = () => this.lose(new SftpError(STATUS.CONNECTION_LOST, 'The SFTP channel closed.'));
    channel.on('close', lost);
    channel.on('end', lost);
    channel.on('error', lost);
  }

  /** Starts SFTP on a freshly opened `sftp` subsystem channel. */
  static async start(channel: ClientChannel): Promise<SftpSession> {
    const s = new SftpSession(channel);
    const version = new Promise<Reply>((resolve, reject) => s.pending.set(0, { resolve, reject }));
    // The window is granted with INIT, in the same turn (one frame through a tunnel), not when
    // VERSION comes: a lone WINDOW_ADJUST gets no answer, so the server's TCP delays its ACK, and
    // the request after it (limits@openssh.com) waited up to 40 ms behind it at an endpoint that
    // holds small writes until the last one is acknowledged (Nagle).
    s.openWindow();
    s.send(new Out(T.INIT, undefined).u32(3));
    const { type, body } = await version;
    if (type !== T.VERSION) throw new SftpError(STATUS.BAD_MESSAGE, 'The server did not start SFTP.');
    while (body.left > 0) {
      const name = body.bytes().toString('latin1');
      s.extensions.set(name, body.bytes().toString('latin1'));
    }
    if (s.extensions.has('limits@openssh.com')) {
      const r = await s.request(new Out(T.EXTENDED, s.id()).str('limits@openssh.com'), T.EXTENDED_REPLY);
      r.u64();
      const read = r.u64();
      const write = r.u64();
      // Within what one packet may carry either way, whatever the server says.
      if (read > 0) s.maxRead = Math.min(read, MAX_PACKET - RW_OVERHEAD);
      if (write > 0) s.maxWrite = Math.min(write, MAX_PACKET - RW_OVERHEAD);
    }
    return s;
  }

  get isClosed(): boolean {
    return this.failure !== undefined;
  }

  /** Told once when the channel closes; requests still waiting fail with CONNECTION_LOST. */
  onClose(listener: (err: SftpError) => void): () => void {
    if (this.failure) {
      listener(this.failure);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  end(): void {
    this.lose(new SftpError(STATUS.CONNECTION_LOST, 'The SFTP session was closed.'));
    this.channel.close();
  }

  async open(path: Buffer, flags: number, attrs: SftpAttrs = {}): Promise<Buffer> {
    return (await this.request(new Out(T.OPEN, this.id()).bytes(path).u32(flags).attrs(attrs), T.HANDLE)).bytes();
  }
  async close(handle: Buffer): Promise<void> {
    await this.status(new Out(T.CLOSE, this.id()).bytes(handle));
  }
  /**
   * Up to `length` bytes at `offset`; null at the end of the file. With `into` (length + 13 bytes
   * or more, the caller's until this resolves) the bytes may come back in it.
   */
  async read(handle: Buffer, offset: number, length: number, into?: Buffer): Promise<Buffer | null> {
    try {
      return (await this.request(new Out(T.READ, this.id()).bytes(handle).u64(offset).u32(length), T.DATA, { into })).bytes();
    } catch (err) {
      if (err instanceof SftpError && err.status === STATUS.EOF) return null;
      throw err;
    }
  }
  /**
   * `data` is sent as it is, after the request's header (not copied). With `room` (the caller's
   * unused bytes just before `data` in its buffer, at least the header's length) the header is
   * put there and both leave in one write: one run of full SSH packets, where two writes make a
   * packet of the header's 30-odd bytes of its own (ssh2 packs each write alone), one packet in
   * nine more for the server to take apart.
   */
  async write(handle: Buffer, offset: number, data: Buffer, room = 0): Promise<void> {
    await this.request(new Out(T.WRITE, this.id()).bytes(handle).u64(offset).u32(data.length), T.STATUS, { tail: data, room });
  }
  async fstat(handle: Buffer): Promise<SftpAttrs> {
    return (await this.request(new Out(T.FSTAT, this.id()).bytes(handle), T.ATTRS)).attrs();
  }
  async fsetstat(handle: Buffer, attrs: SftpAttrs): Promise<void> {
    await this.status(new Out(T.FSETSTAT, this.id()).bytes(handle).attrs(attrs));
  }
  async stat(path: Buffer): Promise<SftpAttrs> {
    return (await this.request(new Out(T.STAT, this.id()).bytes(path), T.ATTRS)).attrs();
  }
  async lstat(path: Buffer): Promise<SftpAttrs> {
    return (await this.request(new Out(T.LSTAT, this.id()).bytes(path), T.ATTRS)).attrs();
  }
  async setstat(path: Buffer, attrs: SftpAttrs): Promise<void> {
    await this.status(new Out(T.SETSTAT, this.id()).bytes(path).attrs(attrs));
  }
  async opendir(path: Buffer): Promise<Buffer> {
    return (await this.request(new Out(T.OPENDIR, this.id()).bytes(path), T.HANDLE)).bytes();
  }
  /** The next entries of an open folder (OpenSSH sends up to 100 at a time); null when there are no more. */
  async readdir(handle: Buffer): Promise<SftpName[] | null> {
    let r: In;
    try {
      r = await this.request(new Out(T.READDIR, this.id()).bytes(handle), T.NAME);
    } catch (err) {
      if (err instanceof SftpError && err.status === STATUS.EOF) return null;
      throw err;
    }
    const n = r.u32();
    const out: SftpName[] = [];
    for (let i = 0; i < n; i++) out.push({ name: r.bytes(), longname: r.bytes(), attrs: r.attrs() });
    return out;
  }
  async remove(path: Buffer): Promise<void> {
    await this.status(new Out(T.REMOVE, this.id()).bytes(path));
  }
  async mkdir(path: Buffer, attrs: SftpAttrs = {}): Promise<void> {
    await this.status(new Out(T.MKDIR, this.id()).bytes(path).attrs(attrs));
  }
  async rmdir(path: Buffer): Promise<void> {
    await this.status(new Out(T.RMDIR, this.id()).bytes(path));
  }
  /** The server's canonical absolute form of `path` (`.` is the login folder). */
  async realpath(path: Buffer): Promise<Buffer> {
    return this.oneName(new Out(T.REALPATH, this.id()).bytes(path));
  }
  async readlink(path: Buffer): Promise<Buffer> {
    return this.oneName(new Out(T.READLINK, this.id()).bytes(path));
  }
  /** SFTP v3 rename: fails when `to` exists. */
  async rename(from: Buffer, to: Buffer): Promise<void> {
    await this.status(new Out(T.RENAME, this.id()).bytes(from).bytes(to));
  }
  get hasPosixRename(): boolean {
    return this.extensions.has('posix-rename@openssh.com');
  }
  /** rename(2): replaces `to` atomically when it exists. */
  async posixRename(from: Buffer, to: Buffer): Promise<void> {
    await this.status(new Out(T.EXTENDED, this.id()).str('posix-rename@openssh.com').bytes(from).bytes(to));
  }
  get hasStatVfs(): boolean {
    return this.extensions.has('statvfs@openssh.com');
  }
  async statvfs(path: Buffer): Promise<StatVfs> {
    const r = await this.request(new Out(T.EXTENDED, this.id()).str('statvfs@openssh.com').bytes(path), T.EXTENDED_REPLY);
    const blockSize = r.u64();
    const fragmentSize = r.u64();
    const blocks = r.u64();
    const freeBlocks = r.u64();
    const availableBlocks = r.u64();
    r.u64();
    r.u64();
    r.u64();
    r.u64();
    r.u64();
    const nameMax = r.u64();
    return { blockSize, fragmentSize, blocks, freeBlocks, availableBlocks, nameMax };
  }
  get hasFsync(): boolean {
    return this.extensions.has('fsync@openssh.com');
  }
  async fsync(handle: Buffer): Promise<void> {
    await this.status(new Out(T.EXTENDED, this.id()).str('fsync@openssh.com').bytes(handle));
  }

  private async oneName(out: Out): Promise<Buffer> {
    const r = await this.request(out, T.NAME);
    if (r.u32() < 1) throw new SftpError(STATUS.BAD_MESSAGE, 'The server answered with no name.');
    return Buffer.from(r.bytes());
  }

  private async status(out: Out): Promise<void> {
    await this.request(out, T.STATUS);
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    return id;
  }

  /**
   * Sends a request and waits for its reply of type `expect`; a STATUS other than OK rejects.
   * `tail`: bytes that end the request, written after it as they are (with `room` bytes free
   * before them, see `write`); `into`: see Pending.
   */
  private request(out: Out, expect: number, extra: { tail?: Buffer; room?: number; into?: Buffer } = {}): Promise<In> {
    const packet = out.finish(extra.tail?.length ?? 0);
    const id = packet.readUInt32BE(5);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<In>((resolve, reject) => {
      this.pending.set(id, {
        into: extra.into,
        reject,
        resolve: ({ type, body }) => {
          if (type === T.STATUS) {
            const code = body.u32();
            const message = body.left >= 4 ? body.bytes().toString('utf8') : '';
            if (code === STATUS.OK && expect === T.STATUS) return resolve(body);
            return reject(new SftpError(code, message || `SFTP status ${code}`));
          }
          if (type !== expect) return reject(new SftpError(STATUS.BAD_MESSAGE, `unexpected SFTP reply ${type}`));
          resolve(body);
        },
      });
      const tail = extra.tail;
      if (tail?.length && (extra.room ?? 0) >= packet.length) {
        const whole = Buffer.from(tail.buffer, tail.byteOffset - packet.length, packet.length + tail.length);
        packet.copy(whole, 0);
        this.channel.write(whole);
        return;
      }
      this.send(packet);
      // Two writes in one turn: nothing can come between them, and ssh2 copies both into its packets.
      if (tail?.length) this.channel.write(tail);
    });
  }

  private send(packet: Out | Buffer): void {
    this.channel.write(packet instanceof Out ? packet.finish() : packet);
  }

  /**
   * Grants the server more window up to RECEIVE_WINDOW (see there). Uses ssh2's own packet writer
   * and keeps ssh2's count of the window right, so its own top-up never comes; on an ssh2
   * without these fields nothing happens and its 2 MiB stay.
   */
  private openWindow(): void {
    const window = (this.window ??= ChannelWindow.of(this.channel) ?? null);
    if (!window) return;
    const more = RECEIVE_WINDOW - window.count;
    if (more >= WINDOW_STEP) window.grant(more);
  }

  private receive(data: Buffer): void {
    this.openWindow();
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.buffered < 4) return;
      const length = this.peekLength();
      if (length > MAX_PACKET + 1024 || length < 1) {
        this.lose(new SftpError(STATUS.BAD_MESSAGE, `SFTP packet of ${length} bytes`));
        this.channel.close();
        return;
      }
      if (this.buffered < 4 + length) return;
      const packet = this.take(4 + length, this.intoFor(length)).subarray(4);
      this.dispatch(packet);
    }
  }

  private peekLength(): number {
    return this.peek(4).readUInt32BE(0);
  }

  /** The first n buffered bytes (n ≤ what is buffered), without taking them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks, n);
  }

  /** Where the buffered packet of `length` bytes may be copied to: the buffer its READ was given. */
  private intoFor(length: number): Buffer | undefined {
    // Small replies are not worth the look (and a DATA reply's type and id are its first 5 bytes).
    if (length < 4096) return undefined;
    const head = this.peek(9);
    if (head[4] !== T.DATA) return undefined;
    const into = this.pending.get(head.readUInt32BE(5))?.into;
    return into && into.length >= 4 + length ? into : undefined;
  }

  /** The next n buffered bytes, copied (into `into` when given) only when they span chunks. */
  private take(n: number, into?: Buffer): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length === n) return this.chunks.shift()!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const want = n - got;
      if (c.length <= want) {
        c.copy(out, got);
        got += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, got, 0, want);
        this.chunks[0] = c.subarray(want);
        got += want;
      }
    }
    return out;
  }

  private dispatch(packet: Buffer): void {
    const body = new In(packet);
    try {
      const type = body.byte();
      const id = type === T.VERSION ? 0 : body.u32();
      if (type === T.VERSION) body.u32();
      const waiting = this.pending.get(id);
      if (!waiting) return;
      this.pending.delete(id);
      waiting.resolve({ type, body });
    } catch (err) {
      this.lose(err instanceof SftpError ? err : new SftpError(STATUS.BAD_MESSAGE, String(err)));
      this.channel.close();
    }
  }

  private lose(err: SftpError): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.chunks.length = 0;
    this.buffered = 0;
    for (const l of [...this.closeListeners]) l(err);
    this.closeListeners.clear();
  }
}
