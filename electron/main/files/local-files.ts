import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { KeylessFailure } from '../base/errors';
import { localFailure } from './file-errors';
import { displayName } from './names';
import type { RangeReader, RangeWriter } from './pump';

const SEP = Buffer.from(sep);

/**
 * This computer's side of a transfer. Paths are Buffers, so a name that is not UTF-8 goes to the
 * host as the bytes it is. What is read follows the safe reader's rules (base/safe-read.ts): opened
 * without blocking, checked through the descriptor, a FIFO, device or socket never read.
 */

// A FIFO opened plainly waits for a writer on one of libuv's threads for good (see safe-read.ts).
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export function localDisplay(path: Buffer | string): string {
  return typeof path === 'string' ? path : displayName(path);
}

/** Why a local path is not a file or folder Keyless moves, for the per-file report. */
export function notRegularReason(st: Stats): 'fifo' | 'device' | 'socket' | 'other' | undefined {
  if (st.isFile() || st.isDirectory()) return undefined;
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  return 'other';
}

export function notRegular(path: string, reason: string): KeylessFailure {
  const what = reason === 'fifo' ? 'a named pipe (FIFO)' : reason === 'device' ? 'a device' : reason === 'socket' ? 'a socket' : reason === 'symlinkLoop' ? 'a symbolic link that loops' : reason === 'symlinkOutside' ? 'a symbolic link to a place outside the folder being sent (not followed)' : 'not a regular file';
  return new KeylessFailure('FileNotRegular', `${path} is ${what}; it was skipped.`, false, { path, reason });
}

/** A local file open for reading, checked to be a regular file through its descriptor. */
export async function openLocalForRead(path: Buffer): Promise<{ fh: FileHandle; st: Stats; reader: RangeReader }> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO') throw notRegular(localDisplay(path), 'socket');
    throw localFailure(err, localDisplay(path));
  }
  const st = await fh.stat();
  const reason = notRegularReason(st) ?? (st.isDirectory() ? 'other' : undefined);
  if (reason) {
    await fh.close();
    throw notRegular(localDisplay(path), reason);
  }
  return {
    fh,
    st,
    reader: {
      read: async (offset, length, into) => {
        const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset).catch((err: unknown) => {
          throw localFailure(err, localDisplay(path));
        });
        return bytesRead === 0 ? null : buf.subarray(0, bytesRead);
      },
    },
  };
}

export function localWriter(fh: FileHandle, path: Buffer): RangeWriter {
  return {
    write: async (offset, data) => {
      let at = 0;
      while (at < data.length) {
        const { bytesWritten } = await fh.write(data, at, data.length - at, offset + at).catch((err: unknown) => {
          throw localFailure(err, localDisplay(path));
        });
        at += bytesWritten;
      }
    },
  };
}

/** One file found in a local tree to upload. */
export interface LocalFile {
  path: Buffer;
  /** Its path under the picked folder, as name parts (the picked name first). */
  parts: Buffer[];
  size: number;
  mode: number;
  mtime: number;
}

export interface LocalTree {
  files: LocalFile[];
  /** Folders to make, parents first, as name parts. */
  dirs: Buffer[][];
  problems: KeylessFailure[];
}

/**
 * Every file and folder under `root` (a file alone is a tree of one). Symbolic links inside it are
 * followed where they lead to a place inside the picked folder (a link to a folder there moves the
 * folder, as `scp -r` does); one that leads out of it (`creds -> ~/.aws`) is reported and not
 * followed, so sending a folder never sends what only a link in it names. A link that leads back
 * into a folder above it is reported as a loop; FIFOs, devices and sockets are reported, never opened.
 */
export async function walkLocal(root: Buffer, rootName: Buffer, signal: AbortSignal): Promise<LocalTree> {
  const tree: LocalTree = { files: [], dirs: [], problems: [] };
  /** The picked folder's real path and a separator (bytes, as names are): what a followed link must lead into. */
  let within: Buffer | undefined;
  const withSep = (p: Buffer) => (p[p.length - 1] === SEP[0] ? p : Buffer.concat([p, SEP]));
  const outside = async (path: Buffer): Promise<boolean> => {
    if (!(await lstat(path).catch(() => undefined))?.isSymbolicLink()) return false;
    within ??= withSep(await realpath(root, { encoding: 'buffer' }).catch(() => root));
    const real = await realpath(path, { encoding: 'buffer' }).catch(() => undefined);
    // A link that leads nowhere is left to stat below, which names the problem.
    return real !== undefined && !withSep(real).subarray(0, within.length).equals(within);
  };
  const visit = async (path: Buffer, parts: Buffer[], ancestors: Set<string>) => {
    if (signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
    if (parts.length > 1 && (await outside(path))) return void tree.problems.push(notRegular(localDisplay(path), 'symlinkOutside'));
    let st: Stats;
    try {
      st = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return void tree.problems.push(notRegular(localDisplay(path), 'symlinkLoop'));
      // A dangling link: say so, go on.
      if (code === 'ENOENT' && (await lstat(path).catch(() => undefined))?.isSymbolicLink()) return void tree.problems.push(localFailure(err, localDisplay(path)));
      tree.problems.push(localFailure(err, localDisplay(path)));
      return;
    }
    const reason = notRegularReason(st);
    if (reason) return void tree.problems.push(notRegular(localDisplay(path), reason));
    if (st.isFile()) {
      tree.files.push({ path, parts, size: st.size, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) });
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (ancestors.has(id)) return void tree.problems.push(notRegular(localDisplay(path), 'symlinkLoop'));
    tree.dirs.push(parts);
    let names: Buffer[];
    try {
      names = await readdir(path, { encoding: 'buffer' });
    } catch (err) {
      tree.problems.push(localFailure(err, localDisplay(path)));
      return;
    }
    const inside = new Set(ancestors).add(id);
    for (const name of names.sort(Buffer.compare)) {
      await visit(Buffer.from(join(path.toString('latin1'), name.toString('latin1')), 'latin1'), [...parts, name], inside);
    }
  };
  await visit(root, [rootName], new Set());
  return tree;
}
