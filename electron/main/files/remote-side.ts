import type { ClientChannel } from 'ssh2';
import { KeylessFailure } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import type { Lease } from '../connect/pool';
import { OPEN, SftpError, STATUS, type SftpAttrs, type SftpSession } from '../ssh/sftp';
import { remoteFailure } from './file-errors';
import { displayName, joinRemote } from './names';

/** How a files consumer gets a connection to its host: a lease from the pool (never a dial of its own). */
export interface HostAccess {
  /** The host as shown in messages (its name, or the instance id). */
  readonly label: string;
  /** A lease; with `retry`, tries again with backoff (each try a new connection, a new key). */
  borrow(retry: boolean, signal: AbortSignal): Promise<Lease>;
}

/**
 * One host as a browser or a transfer uses it: a lease on the pool's connection and an SFTP
 * session on its own channel. When the connection drops, the next use (or `reconnect`) borrows
 * again: the pool makes a new connection, and a transfer goes on from where it stopped.
 */
export class RemoteSide implements Disposable {
  private lease: Lease | undefined;
  private sftp: SftpSession | undefined;
  private opening: Promise<SftpSession> | undefined;
  private disposed = false;
  /** A second SFTP channel is open for a big upload's second half (see secondSession). */
  private extraOpen = false;
  /** The login user's own uid (learnt from a file it created), to tell when a rename changes a file's owner. */
  uid: number | undefined;

  constructor(readonly access: HostAccess) {}

  get label(): string {
    return this.access.label;
  }

  get route(): Lease['route'] | undefined {
    return this.lease?.route;
  }
  get osUser(): string | undefined {
    return this.lease?.connection.osUser;
  }

  /** The open SFTP session, or a new one (on the pool's connection, made again if it dropped). */
  session(signal: AbortSignal, retry = false): Promise<SftpSession> {
    if (this.sftp && !this.sftp.isClosed && this.lease && !this.lease.connection.ssh.isClosed) return Promise.resolve(this.sftp);
    this.opening ??= this.open(signal, retry).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** After a drop: a new connection (with backoff, a fresh key) and a new SFTP session. */
  reconnect(signal: AbortSignal): Promise<SftpSession> {
    this.release();
    return this.session(signal, true);
  }

  /**
   * A second SFTP channel on the same connection with `path` (made by the first) open for
   * writing, for the second half of a big upload; undefined where the server refuses another
   * channel or the open, and the caller writes over the one channel. The caller ends it.
   */
  async secondSession(signal: AbortSignal, path: Buffer): Promise<{ sftp: SftpSession; handle: Buffer; end(): void } | undefined> {
    // One at a time per side: the connection's channels (sshd's MaxSessions, 10 by default) are
    // shared with terminal tabs, commands and forwards; the other big files use one channel each.
    if (this.extraOpen) return undefined;
    this.extraOpen = true;
    let kept = false;
    try {
      await this.session(signal);
      const sftp = await this.lease!.connection.ssh.sftp().catch(() => undefined);
      if (!sftp) return undefined;
      const handle = await sftp.open(path, OPEN.WRITE, {}).catch(() => undefined);
      if (!handle) {
        sftp.end();
        return undefined;
      }
      kept = true;
      let ended = false;
      return {
        sftp,
        handle,
        end: () => {
          if (ended) return;
          ended = true;
          sftp.end();
          this.extraOpen = false;
        },
      };
    } finally {
      if (!kept) this.extraOpen = false;
    }
  }

  /** A command on the same connection (the tar stream, sudo). */
  async exec(command: Buffer, signal: AbortSignal): Promise<ClientChannel> {
    await this.session(signal);
    return this.lease!.connection.ssh.exec(command);
  }

  private async open(signal: AbortSignal, retry: boolean): Promise<SftpSession> {
    if (this.disposed) throw new KeylessFailure('Cancelled', 'The files view was closed.', true);
    this.release();
    const lease = await this.access.borrow(retry, signal);
    if (this.disposed) {
      lease.dispose();
      throw new KeylessFailure('Cancelled', 'The files view was closed.', true);
    }
    try {
      this.sftp = await lease.connection.ssh.sftp();
      // The login folder is the login user's own: its owner is who a renamed file will belong to.
      this.uid ??= (await this.sftp.stat(Buffer.from('.')).catch(() => ({}) as SftpAttrs)).uid;
    } catch (err) {
      lease.dispose();
      throw err;
    }
    this.lease = lease;
    return this.sftp;
  }

  /** Gives the connection back while nothing runs (a finished transfer); the next use borrows again. */
  idle(): void {
    this.release();
  }

  private release(): void {
    this.sftp?.end();
    this.sftp = undefined;
    this.lease?.dispose();
    this.lease = undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.release();
  }
}

/** A remote error as a KeylessFailure naming the path on this side's host. */
export function failureAt(side: RemoteSide, path: Buffer, err: unknown): KeylessFailure {
  return remoteFailure(err, displayName(path), side.label, path);
}

/** lstat that answers undefined for a name that does not exist. */
export async function lstatOrNone(sftp: SftpSession, path: Buffer): Promise<SftpAttrs | undefined> {
  try {
    return await sftp.lstat(path);
  } catch (err) {
    if (err instanceof SftpError && err.status === STATUS.NO_SUCH_FILE) return undefined;
    throw err;
  }
}

/** mkdir that is content when the folder is there already. */
export async function ensureRemoteDir(sftp: SftpSession, path: Buffer): Promise<void> {
  try {
    await sftp.mkdir(path);
  } catch (err) {
    const st = await lstatOrNone(sftp, path).catch(() => undefined);
    if (st && ((st.mode ?? 0) & 0o170000) === 0o040000) return;
    if (st) {
      const followed = await sftp.stat(path).catch(() => undefined);
      if (followed && ((followed.mode ?? 0) & 0o170000) === 0o040000) return;
    }
    throw err;
  }
}

export function remoteChild(dir: Buffer, parts: Buffer[]): Buffer {
  return parts.reduce((p, part) => joinRemote(p, part), dir);
}
