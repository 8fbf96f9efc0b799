import { KeylessFailure } from '../base/errors';
import { kindOfMode, SftpError, STATUS, type SftpAttrs, type SftpSession } from '../ssh/sftp';
import { notRegular } from './local-files';
import { displayName, isPlainName, joinRemote, parentOf } from './names';
import { failureAt, type RemoteSide } from './remote-side';

export interface RemoteFile {
  path: Buffer;
  /** Its path under the chosen name, as name parts (the chosen name first). */
  parts: Buffer[];
  size: number;
  mode: number;
  mtime: number;
}

export interface RemoteTree {
  files: RemoteFile[];
  dirs: Buffer[][];
  problems: KeylessFailure[];
}

/** How many folders are read at once (each READDIR a round trip: several hide the latency). */
const FOLDERS_AT_ONCE = 8;
/** Entries of one folder resolved at once (see readFolder). */
const PLACES_AT_ONCE = 64;
/** Links followed in a row before a chain counts as a loop (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * What a symbolic link whose target cannot be read is: a loop, or a link to nothing. sshd's
 * sftp-server answers both (ELOOP, ENOENT) as "no such file", so the chain is followed by hand.
 */
async function brokenLinkReason(sftp: SftpSession, path: Buffer): Promise<'symlinkLoop' | 'missing'> {
  const seen = new Set<string>();
  let at = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    const key = at.toString('base64');
    if (seen.has(key)) return 'symlinkLoop';
    seen.add(key);
    let target: Buffer;
    try {
      target = await sftp.readlink(at);
    } catch {
      return 'missing';
    }
    at = target[0] === 0x2f ? target : joinRemote(parentOf(at), target);
    const st = await sftp.lstat(at).catch(() => undefined);
    if (!st) return 'missing';
    if (kindOfMode(st.mode) !== 'link') return 'missing';
  }
  return 'symlinkLoop';
}

/**
 * Every file and folder under `root` on the host (a file alone is a tree of one), for a download
 * or a copy. Links are followed, as `scp -r` does; a link back into a folder above it, or a chain
 * of links that loops, is reported; FIFOs, sockets and devices are reported and never opened.
 * Each problem names its file, and the walk goes on.
 */
export async function walkRemote(side: RemoteSide, sftp: SftpSession, root: Buffer, rootName: Buffer, signal: AbortSignal, nameOk: (name: Buffer) => boolean = isPlainName): Promise<RemoteTree> {
  const tree: RemoteTree = { files: [], dirs: [], problems: [] };
  /** A file's problem goes on the list; a lost connection ends the walk (the transfer reconnects). */
  const note = (path: Buffer, err: unknown) => {
    const failure = failureAt(side, path, err);
    if (failure.retryable || sftp.isClosed) throw failure;
    tree.problems.push(failure);
  };
  /** Resolves what `path` is, links followed; undefined when it is a problem (recorded). */
  const resolve = async (path: Buffer, attrs: SftpAttrs): Promise<SftpAttrs | undefined> => {
    if (kindOfMode(attrs.mode) !== 'link') return attrs;
    try {
      return await sftp.stat(path);
    } catch (err) {
      if (err instanceof SftpError && err.status === STATUS.NO_SUCH_FILE) {
        const reason = await brokenLinkReason(sftp, path);
        tree.problems.push(
          reason === 'symlinkLoop'
            ? notRegular(displayName(path), 'symlinkLoop')
            : new KeylessFailure('FileNotFound', `${displayName(path)} is a link to something that does not exist.`, false, { path: displayName(path), side: 'remote', host: side.label }),
        );
        return undefined;
      }
      note(path, err);
      return undefined;
    }
  };
  const queue: Array<{ path: Buffer; parts: Buffer[]; ancestors: Set<string> }> = [];
  const place = async (path: Buffer, parts: Buffer[], attrs: SftpAttrs, ancestors: Set<string>) => {
    const st = await resolve(path, attrs);
    if (!st) return;
    const kind = kindOfMode(st.mode);
    if (kind === 'file') {
      tree.files.push({ path, parts, size: st.size ?? 0, mode: (st.mode ?? 0o644) & 0o7777, mtime: st.mtime ?? 0 });
    } else if (kind === 'dir') {
      // The folder's real path tells a link back into a folder above it (the walk would never end).
      let real: string;
      try {
        real = (await sftp.realpath(path)).toString('base64');
      } catch (err) {
        note(path, err);
        return;
      }
      if (ancestors.has(real)) {
        tree.problems.push(notRegular(displayName(path), 'symlinkLoop'));
        return;
      }
      tree.dirs.push(parts);
      queue.push({ path, parts, ancestors: new Set(ancestors).add(real) });
    } else {
      tree.problems.push(notRegular(displayName(path), kind === 'char' || kind === 'block' ? 'device' : kind));
    }
  };
  const first = await sftp.lstat(root).catch((err: unknown) => {
    throw failureAt(side, root, err);
  });
  await place(root, [rootName], first, new Set());
  const readFolder = async (item: (typeof queue)[number]) => {
    let handle: Buffer;
    try {
      handle = await sftp.opendir(item.path);
    } catch (err) {
      note(item.path, err);
      return;
    }
    try {
      const entries: Array<{ name: Buffer; attrs: SftpAttrs }> = [];
      for (let page = await sftp.readdir(handle); page; page = await sftp.readdir(handle)) {
        if (signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
        for (const e of page) {
          const n = e.name.toString('latin1');
          if (n === '.' || n === '..') continue;
          // A name with a slash (or NUL) is no name a file system has: a server sending one
          // would steer a download out of its folder. Reported, never followed. (`nameOk`: a
          // download also refuses what this computer would read as a path, see isLocalName.)
          if (!nameOk(e.name)) {
            tree.problems.push(new KeylessFailure('FileNotRegular', `${side.label} listed a name that cannot be a file's in ${displayName(item.path)}; it was skipped.`, false, { path: `${displayName(item.path)}/${displayName(e.name)}`, reason: 'other', side: 'remote', host: side.label }));
            continue;
          }
          entries.push({ name: Buffer.from(e.name), attrs: e.attrs });
        }
      }
      entries.sort((a, b) => Buffer.compare(a.name, b.name));
      // A folder's links and subfolders each cost a request (stat, realpath): a few dozen at a time,
      // so a folder of 100,000 of them does not queue 100,000 requests and their promises at once.
      for (let i = 0; i < entries.length; i += PLACES_AT_ONCE) {
        await Promise.all(entries.slice(i, i + PLACES_AT_ONCE).map((e) => place(joinRemote(item.path, e.name), [...item.parts, e.name], e.attrs, item.ancestors)));
      }
    } finally {
      await sftp.close(handle).catch(() => undefined);
    }
  };
  while (queue.length) {
    if (signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
    const batch = queue.splice(0, FOLDERS_AT_ONCE);
    await Promise.all(batch.map(readFolder));
  }
  return tree;
}
