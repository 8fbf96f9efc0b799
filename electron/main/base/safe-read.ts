import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { KeylessFailure } from './errors';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The most Keyless reads of each kind of file whose path comes from a setting or a file. Each is
 * far above any real file of its kind and far below what would hurt memory.
 */
export const READ_LIMITS = {
  /** A private key: OpenSSH's largest (RSA 16384, encrypted) is about 13 KiB. */
  keyFile: 1 * MiB,
  /** ~/.ssh/config and each file it Includes. */
  sshConfig: 1 * MiB,
  /** A known_hosts file: about 160,000 lines of 100 bytes. */
  knownHosts: 16 * MiB,
  /** hosts.json in the data folder. */
  hostsFile: 10 * MiB,
  /** The AWS config and credentials files (checked before the SDK reads them): tens of thousands of profiles. */
  awsConfig: 16 * MiB,
  /** A token file the SDK reads (a web identity token, a JWT of a few KiB; an SSO sign-in's cache). */
  tokenFile: 1 * MiB,
  /** A terminal recording played back (the renderer holds it whole). */
  recording: 64 * MiB,
} as const;

/** What a refused path is, for the person (`error.FileRefused.<reason>`). */
export type FileRefusalReason = 'fifo' | 'directory' | 'device' | 'socket' | 'symlinkLoop' | 'tooLarge' | 'notRegular';

function describeLimit(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : bytes >= KiB ? `${Math.round(bytes / KiB)} KiB` : `${bytes} bytes`;
}

const WHAT: Record<FileRefusalReason, string> = {
  fifo: 'a named pipe (FIFO)',
  directory: 'a folder',
  device: 'a device',
  socket: 'a socket',
  symlinkLoop: 'a symbolic link that loops back on itself',
  tooLarge: 'too large',
  notRegular: 'not a regular file',
};

/** What a refused file is, in a few English words (for reports that list several files). */
function whatItIs(reason: FileRefusalReason, limit: number): string {
  return reason === 'tooLarge' ? `larger than the ${describeLimit(limit)} Keyless reads of such a file` : `${WHAT[reason]}, not a regular file`;
}

/** A failure of `readRegularFile`, with what the file was, and the limit that applied. */
export class FileRefusal extends KeylessFailure {
  /** E.g. "a named pipe (FIFO), not a regular file". */
  readonly whatItIs: string;

  constructor(
    readonly path: string,
    readonly reason: FileRefusalReason,
    limit: number,
  ) {
    super('FileRefused', `Keyless did not read ${path}: it is ${whatItIs(reason, limit)}.`, false, { path, reason, limit: describeLimit(limit) });
    this.whatItIs = whatItIs(reason, limit);
  }
}

function kindOf(st: Stats): FileRefusalReason | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return 'fifo';
  if (st.isDirectory()) return 'directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  return 'notRegular';
}

// A plain open() of a FIFO waits for a writer on one of libuv's four threads, for good: a few such
// paths stall every file call of the process. O_NONBLOCK returns at once; O_NOCTTY keeps a terminal
// device from becoming ours. Both are 0 where they do not exist (Windows).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 64 * KiB;

/**
 * `path` opened without blocking and checked through its descriptor: a regular file of at most
 * `maxBytes`, else a `FileRefused` failure naming the path and what it is.
 */
async function openRegular(path: string, maxBytes: number): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new FileRefusal(path, 'symlinkLoop', maxBytes);
    // Opening a socket fails with ENXIO; a folder with EISDIR on some systems.
    if (code === 'ENXIO') throw new FileRefusal(path, 'socket', maxBytes);
    if (code === 'EISDIR') throw new FileRefusal(path, 'directory', maxBytes);
    throw err;
  }
  try {
    const st = await fh.stat();
    const kind = kindOf(st);
    if (kind) throw new FileRefusal(path, kind, maxBytes);
    if (st.size > maxBytes) throw new FileRefusal(path, 'tooLarge', maxBytes);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The bytes of `path` if it is a regular file of at most `maxBytes`, else a `FileRefused` failure
 * that names the path and what it is (a FIFO, a folder, a device, a socket, a symlink loop, too
 * large). The file is opened without blocking and checked through its descriptor, so what is read
 * is what was checked; at most `maxBytes + 1` bytes are read, however long the file grows meanwhile.
 * Other errors (ENOENT, EACCES) are the system's, for the caller to word.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const fh = await openRegular(path, maxBytes);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new FileRefusal(path, 'tooLarge', maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Refuses `path` as `readRegularFile` would, without reading it: for a file that another reader
 * (a library's plain readFile) reads next, which would wait on a FIFO for good and read a device
 * such as /dev/zero until memory ran out. Errors other than a refusal are the system's.
 */
export async function checkRegularFile(path: string, maxBytes: number): Promise<void> {
  await (await openRegular(path, maxBytes)).close();
}

/** `readRegularFile` as UTF-8 text. */
export async function readRegularTextFile(path: string, maxBytes: number): Promise<string> {
  return (await readRegularFile(path, maxBytes)).toString('utf8');
}

