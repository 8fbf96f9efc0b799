import { existsSync } from 'node:fs';
import { realpath as localRealpath, stat as localStat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { FileEntry, HostRef, ParsedArgs, RequestResult } from '../../contract';
import { KeylessFailure, fail } from '../base/errors';
import { DisposableMap, toDisposable, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { ConnectHooks, StepReporter } from '../connect/connector';
import type { ConnectionPool } from '../connect/pool';
import type { Route } from '../connect/route';
import type { CallContext, Handlers, PeerContext } from '../rpc/contract-server';
import type { Prompts } from '../rpc/prompts';
import { kindOfMode, SftpError, STATUS, type SftpAttrs, type SftpName, type SftpSession } from '../ssh/sftp';
import { localFailure } from './file-errors';
import { baseName, displayName, fromBase64, isPlainName, joinRemote, parentOf, toBase64 } from './names';
import { failureAt, lstatOrNone, RemoteSide, type HostAccess } from './remote-side';
import { TransferQueue, type TransferSource } from './transfers';

/** Entries per `files.entries` event: big enough to be few messages, small enough that the first rows show at once. */
const PAGE = 1000;
/** Stats of link targets in flight at once while listing. */
const LINKS_AT_ONCE = 32;

export interface FilesDeps {
  pool: ConnectionPool;
  routeOf(ref: HostRef): Promise<Route>;
  prompts: Prompts;
  log: Logger;
  /** Connect progress and questions for a request, as terminals get them (session/terminal-sessions.ts). */
  hooksFor(peer: PeerContext, requestId: string, signal: AbortSignal): { report: StepReporter; hooks: ConnectHooks };
  /** Where downloads go unless the person chose another folder. */
  downloadsFolder: string;
  /** The system's dialog for files to upload (Electron); absent in the browser harness. */
  chooseFiles?: (folders: boolean) => Promise<string[] | null>;
  chooseFolder?: () => Promise<string | null>;
}

interface Browser extends Disposable {
  readonly peerId: string;
  readonly side: RemoteSide;
  readonly home: Buffer;
}

/** The owner and group names sftp-server puts in its `ls -l` line, else the numbers. */
function ownerOf(longname: Buffer, attrs: SftpAttrs): { owner: string; group: string } {
  const fields = longname.toString('utf8').split(/ +/);
  if (fields.length >= 9 && /^[-dlpscb?][-rwxsStTl]{9}/.test(fields[0] ?? '')) return { owner: fields[2]!, group: fields[3]! };
  return { owner: attrs.uid !== undefined ? String(attrs.uid) : '', group: attrs.gid !== undefined ? String(attrs.gid) : '' };
}

function entryOf(name: Buffer, attrs: SftpAttrs, longname: Buffer | undefined): FileEntry {
  const { owner, group } = longname ? ownerOf(longname, attrs) : { owner: attrs.uid !== undefined ? String(attrs.uid) : '', group: attrs.gid !== undefined ? String(attrs.gid) : '' };
  return {
    name: toBase64(name),
    display: displayName(name),
    kind: kindOfMode(attrs.mode),
    size: attrs.size ?? 0,
    mtime: attrs.mtime ?? 0,
    mode: (attrs.mode ?? 0) & 0o7777,
    owner,
    group,
  };
}

/**
 * Files: a browser per host opened by a renderer (listing streamed in pages, stat, new folder,
 * rename, delete, chmod), and each renderer's transfer queue. Everything goes over SFTP sessions
 * on connections lent by the pool: a Files view on a host shares its terminals' connection.
 */
export class FilesService implements Disposable {
  private nextBrowser = 1;
  private nextPick = 1;
  private readonly browsers = new DisposableMap<string, Browser>();
  private readonly queues = new Map<string, TransferQueue>();
  /** Local paths the person picked with the system dialog, by the ids the renderer names them with. */
  private readonly picks = new Map<string, { peerId: string; path: string }>();
  private downloadsFolder: string;
  /** Streamed uploads' pulls waiting for the renderer's bytes. */
  private readonly pulls = new Map<string, { resolve(b: Buffer): void; reject(e: Error): void }>();

  constructor(private readonly deps: FilesDeps) {
    this.downloadsFolder = deps.downloadsFolder;
  }

  /** How a consumer on `ref` borrows: the route planned once, leases from the pool, questions to the peer. */
  private access(ref: HostRef, route: Route, peer: PeerContext, requestId: string): HostAccess {
    const last = route.hops[route.hops.length - 1]!;
    return {
      label: last.kind === 'ec2' ? last.target.instanceId : last.label,
      borrow: (retry, signal) => {
        const { hooks } = this.deps.hooksFor(peer, requestId, signal);
        return retry
          ? this.deps.pool.borrowWithRetry(route, hooks, (attempt, e, waitS) => this.deps.log.info('files reconnect attempt failed', { to: last.label, attempt, code: e.code, retryInS: waitS }))
          : this.deps.pool.borrow(route, hooks);
      },
    };
  }

  private queueOf(peer: PeerContext): TransferQueue {
    let q = this.queues.get(peer.peerId);
    if (!q) {
      const made = new TransferQueue({ transfer: (info) => peer.emit('files.transfer', info), queue: (s) => peer.emit('files.queue', s) }, this.deps.log);
      this.queues.set(peer.peerId, made);
      peer.owned.add(
        toDisposable(() => {
          this.queues.delete(peer.peerId);
          made.dispose();
          for (const [id, p] of this.picks) if (p.peerId === peer.peerId) this.picks.delete(id);
        }),
      );
      q = made;
    }
    return q;
  }

  async open(args: ParsedArgs<'files.open'>, ctx: CallContext): Promise<RequestResult<'files.open'>> {
    const ref: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    const { report } = this.deps.hooksFor(ctx.peer, args.requestId, ctx.signal);
    report('resolve', 'start');
    let route: Route;
    try {
      route = await this.deps.routeOf(ref);
    } catch (err) {
      report('resolve', 'failed');
      throw err;
    }
    const side = new RemoteSide(this.access(ref, route, ctx.peer, args.requestId));
    let home: Buffer;
    try {
      const sftp = await side.session(ctx.signal);
      home = await sftp.realpath(Buffer.from('.'));
    } catch (err) {
      side.dispose();
      throw err instanceof KeylessFailure ? err : failureAt(side, Buffer.from('.'), err);
    }
    const browserId = `b${this.nextBrowser++}`;
    const ownership = toDisposable(() => this.browsers.deleteAndDispose(browserId));
    const browser: Browser = {
      peerId: ctx.peer.peerId,
      side,
      home,
      dispose: () => {
        ctx.peer.owned.delete(ownership);
        side.dispose();
      },
    };
    this.browsers.set(browserId, browser);
    ctx.peer.owned.add(ownership);
    this.deps.log.info('files opened', { browser: browserId, host: side.label });
    return { browserId, home: toBase64(home), homeDisplay: displayName(home), route: side.route!, osUser: side.osUser ?? '' };
  }

  close(peer: PeerContext, browserId: string): void {
    this.browser(peer, browserId);
    this.browsers.deleteAndDispose(browserId);
  }

  /** The browser's session; a connection that dropped since is made again (the pool's, with a fresh key). */
  private async sftpOf(b: Browser, signal: AbortSignal): Promise<SftpSession> {
    return b.side.session(signal, true);
  }

  /** A path the person typed: `~` and `~/…` under the login folder, a relative path too. */
  private typedPath(b: Browser, typed: string): Buffer {
    const t = typed.trim();
    if (t === '~') return b.home;
    if (t.startsWith('~/')) return joinRemote(b.home, Buffer.from(t.slice(2), 'utf8'));
    if (t.startsWith('/')) return Buffer.from(t, 'utf8');
    return joinRemote(b.home, Buffer.from(t, 'utf8'));
  }

  async list(args: ParsedArgs<'files.list'>, ctx: CallContext): Promise<RequestResult<'files.list'>> {
    const b = this.browser(ctx.peer, args.browserId);
    const asked = args.path !== undefined ? fromBase64(args.path) : this.typedPath(b, args.typed!);
    const sftp = await this.sftpOf(b, ctx.signal);
    let path: Buffer;
    let handle: Buffer;
    try {
      path = await sftp.realpath(asked);
      handle = await sftp.opendir(path);
    } catch (err) {
      throw failureAt(b.side, asked, err);
    }
    let count = 0;
    try {
      let page: FileEntry[] = [];
      const flush = () => {
        if (!page.length) return;
        ctx.peer.emit('files.entries', { requestId: args.requestId, entries: page });
        page = [];
      };
      for (;;) {
        if (ctx.signal.aborted) fail('Cancelled', 'The listing was cancelled.');
        let names: SftpName[] | null;
        try {
          names = await sftp.readdir(handle);
        } catch (err) {
          throw failureAt(b.side, path, err);
        }
        if (!names) break;
        const entries = names.filter((n) => {
          const s = n.name.toString('latin1');
          return s !== '.' && s !== '..';
        });
        const made = entries.map((n) => entryOf(Buffer.from(n.name), n.attrs, n.longname));
        // Where each link leads (a folder opens on Enter), asked for together.
        const links = made.map((e, i) => (e.kind === 'link' ? i : -1)).filter((i) => i >= 0);
        for (let i = 0; i < links.length; i += LINKS_AT_ONCE) {
          await Promise.all(
            links.slice(i, i + LINKS_AT_ONCE).map(async (k) => {
              const st = await sftp.stat(joinRemote(path, entries[k]!.name)).catch(() => undefined);
              made[k]!.target = st ? kindOfMode(st.mode) : 'broken';
            }),
          );
        }
        count += made.length;
        page.push(...made);
        if (page.length >= PAGE) flush();
        else if (count === made.length) flush(); // the first rows go out at once
      }
      flush();
    } finally {
      await sftp.close(handle).catch(() => undefined);
    }
    return { path: toBase64(path), display: displayName(path), count };
  }

  async stat(args: ParsedArgs<'files.stat'>, ctx: CallContext): Promise<FileEntry> {
    const b = this.browser(ctx.peer, args.browserId);
    const path = fromBase64(args.path);
    const sftp = await this.sftpOf(b, ctx.signal);
    try {
      const st = await sftp.lstat(path);
      const e = entryOf(baseName(path), st, undefined);
      if (e.kind === 'link') e.target = await sftp.stat(path).then((s) => kindOfMode(s.mode), () => 'broken' as const);
      return e;
    } catch (err) {
      throw failureAt(b.side, path, err);
    }
  }

  async mkdir(args: ParsedArgs<'files.mkdir'>, ctx: CallContext): Promise<{ path: string }> {
    const b = this.browser(ctx.peer, args.browserId);
    const name = Buffer.from(args.name, 'utf8');
    if (!isPlainName(name)) fail('InvalidArguments', 'A folder name cannot be empty, hold a / or be . or ..', { field: 'name' });
    const path = joinRemote(fromBase64(args.dir), name);
    const sftp = await this.sftpOf(b, ctx.signal);
    try {
      if (await lstatOrNone(sftp, path)) throw new KeylessFailure('FileExists', `${displayName(path)} already exists on ${b.side.label}.`, false, { path: displayName(path), side: 'remote' });
      await sftp.mkdir(path);
    } catch (err) {
      throw failureAt(b.side, path, err);
    }
    return { path: toBase64(path) };
  }

  async rename(args: ParsedArgs<'files.rename'>, ctx: CallContext): Promise<{ path: string }> {
    const b = this.browser(ctx.peer, args.browserId);
    const from = fromBase64(args.path);
    const name = Buffer.from(args.name, 'utf8');
    if (!isPlainName(name)) fail('InvalidArguments', 'A name cannot be empty, hold a / or be . or ..', { field: 'name' });
    const to = joinRemote(parentOf(from), name);
    const sftp = await this.sftpOf(b, ctx.signal);
    try {
      // SFTP's own rename refuses an existing target (posix-rename would replace it: not what a rename in a list means).
      if (await lstatOrNone(sftp, to)) throw new KeylessFailure('FileExists', `${displayName(to)} already exists on ${b.side.label}.`, false, { path: displayName(to), side: 'remote' });
      await sftp.rename(from, to);
    } catch (err) {
      throw failureAt(b.side, from, err);
    }
    return { path: toBase64(to) };
  }

  async chmod(args: ParsedArgs<'files.chmod'>, ctx: CallContext): Promise<void> {
    const b = this.browser(ctx.peer, args.browserId);
    const path = fromBase64(args.path);
    const sftp = await this.sftpOf(b, ctx.signal);
    await sftp.setstat(path, { mode: args.mode }).catch((err: unknown) => {
      throw failureAt(b.side, path, err);
    });
  }

  /** Deletes files and folders, folders depth first; links are removed, never followed. */
  async delete(args: ParsedArgs<'files.delete'>, ctx: CallContext): Promise<{ removed: number }> {
    const b = this.browser(ctx.peer, args.browserId);
    const sftp = await this.sftpOf(b, ctx.signal);
    let removed = 0;
    const remove = async (path: Buffer): Promise<void> => {
      if (ctx.signal.aborted) fail('Cancelled', 'The deletion was stopped.');
      const st = await sftp.lstat(path);
      if (kindOfMode(st.mode) !== 'dir') {
        await sftp.remove(path);
        removed++;
        return;
      }
      const handle = await sftp.opendir(path);
      const children: Buffer[] = [];
      try {
        for (let page = await sftp.readdir(handle); page; page = await sftp.readdir(handle)) {
          for (const n of page) {
            const s = n.name.toString('latin1');
            if (s !== '.' && s !== '..') children.push(joinRemote(path, Buffer.from(n.name)));
          }
        }
      } finally {
        await sftp.close(handle).catch(() => undefined);
      }
      for (let i = 0; i < children.length; i += 32) await Promise.all(children.slice(i, i + 32).map(remove));
      await sftp.rmdir(path);
      removed++;
    };
    for (const p of args.paths) {
      const path = fromBase64(p);
      try {
        await remove(path);
      } catch (err) {
        if (err instanceof SftpError && err.status !== STATUS.CONNECTION_LOST) throw failureAt(b.side, path, err);
        throw err instanceof KeylessFailure ? err : failureAt(b.side, path, err);
      }
    }
    return { removed };
  }

  // --- transfers ---

  private async sideFor(ref: HostRef, peer: PeerContext, requestId: string): Promise<RemoteSide> {
    const route = await this.deps.routeOf(ref);
    return new RemoteSide(this.access(ref, route, peer, requestId));
  }

  async download(args: ParsedArgs<'files.download'>, ctx: CallContext): Promise<{ transferId: string }> {
    const ref: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    const dir = await this.checkedDownloads();
    const paths = args.paths.map(fromBase64);
    const side = await this.sideFor(ref, ctx.peer, `t${this.nextBrowser++}`);
    const t = this.queueOf(ctx.peer).add('download', displayName(baseName(paths[0]!)), paths.length, { kind: 'remote', side, paths }, { kind: 'local', dir: Buffer.from(dir) }, args.conflict);
    return { transferId: t.id };
  }

  async upload(args: ParsedArgs<'files.upload'>, ctx: CallContext): Promise<{ transferId: string }> {
    const ref: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    const roots = args.picks.map((id) => {
      const p = this.picks.get(id);
      if (!p || p.peerId !== ctx.peer.peerId) fail('PickExpired', 'A picked file is no longer known to Keyless; pick it again.', { pick: id });
      return { path: Buffer.from(p.path), name: Buffer.from(basename(p.path)) };
    });
    const side = await this.sideFor(ref, ctx.peer, `t${this.nextBrowser++}`);
    const source: TransferSource = { kind: 'local', roots };
    const t = this.queueOf(ctx.peer).add('upload', displayName(roots[0]!.name), roots.length, source, { kind: 'remote', side, dir: fromBase64(args.dir), sudo: args.sudo }, args.conflict);
    return { transferId: t.id };
  }

  async uploadStream(args: ParsedArgs<'files.uploadStream'>, ctx: CallContext): Promise<{ transferId: string }> {
    const ref: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    const side = await this.sideFor(ref, ctx.peer, `t${this.nextBrowser++}`);
    const peer = ctx.peer;
    let transferId = '';
    const source: TransferSource = {
      kind: 'stream',
      files: args.files,
      pull: (file, offset, length, signal) =>
        new Promise<Buffer>((resolve, reject) => {
          const key = `${peer.peerId}/${transferId}/${file}/${offset}`;
          const onAbort = () => {
            this.pulls.delete(key);
            reject(new KeylessFailure('Cancelled', 'The transfer was cancelled.', true));
          };
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          const asked = Math.min(length, 512 * 1024);
          this.pulls.set(key, {
            resolve: (b) => {
              signal.removeEventListener('abort', onAbort);
              // Never more than was asked for: the bytes after it are another request's.
              resolve(b.length > asked ? b.subarray(0, asked) : b);
            },
            reject,
          });
          // At most 512 KiB a message (the contract's limit is 1 MiB of base64).
          peer.emit('files.pull', { transferId, file, offset, length: asked });
        }),
    };
    const top = args.files[0]!.name.split('/')[0]!;
    const tops = new Set(args.files.map((f) => f.name.split('/')[0]));
    const t = this.queueOf(ctx.peer).add('upload', top, tops.size, source, { kind: 'remote', side, dir: fromBase64(args.dir), sudo: args.sudo }, args.conflict);
    transferId = t.id;
    return { transferId: t.id };
  }

  push(args: ParsedArgs<'files.push'>, ctx: CallContext): void {
    const key = `${ctx.peer.peerId}/${args.transferId}/${args.file}/${args.offset}`;
    const waiting = this.pulls.get(key);
    if (!waiting) fail('NotFound', 'Keyless did not ask for those bytes.', { transferId: args.transferId });
    this.pulls.delete(key);
    waiting.resolve(Buffer.from(args.data, 'base64'));
  }

  async copy(args: ParsedArgs<'files.copy'>, ctx: CallContext): Promise<{ transferId: string }> {
    const from: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    const to: HostRef = args.to.hostId !== undefined ? { hostId: args.to.hostId } : { target: args.to.target! };
    const paths = args.paths.map(fromBase64);
    const source = await this.sideFor(from, ctx.peer, `t${this.nextBrowser++}`);
    const target = await this.sideFor(to, ctx.peer, `t${this.nextBrowser++}`);
    const t = this.queueOf(ctx.peer).add('copy', displayName(baseName(paths[0]!)), paths.length, { kind: 'remote', side: source, paths }, { kind: 'remote', side: target, dir: fromBase64(args.to.dir), sudo: false }, args.conflict);
    return { transferId: t.id };
  }

  async pick(folders: boolean, peer: PeerContext): Promise<RequestResult<'files.pick'>> {
    if (!this.deps.chooseFiles) return { picks: null };
    const chosen = await this.deps.chooseFiles(folders);
    if (!chosen) return { picks: null };
    this.queueOf(peer);
    const picks: NonNullable<RequestResult<'files.pick'>['picks']> = [];
    for (const path of chosen) {
      const st = await localStat(path).catch((err: unknown) => {
        throw localFailure(err, path);
      });
      const id = `l${this.nextPick++}`;
      this.picks.set(id, { peerId: peer.peerId, path });
      picks.push({ pick: id, name: basename(path), kind: st.isDirectory() ? 'dir' : 'file' });
    }
    return { picks };
  }

  async downloads(choose: boolean): Promise<{ folder: string }> {
    if (choose && this.deps.chooseFolder) {
      const folder = await this.deps.chooseFolder();
      if (folder) this.downloadsFolder = folder;
    }
    return { folder: this.downloadsFolder };
  }

  /** The downloads folder, checked before each use: a real folder (links resolved). */
  private async checkedDownloads(): Promise<string> {
    const dir = this.downloadsFolder;
    try {
      const real = await localRealpath(dir);
      const st = await localStat(real);
      if (!st.isDirectory()) throw new KeylessFailure('FileNotRegular', `The downloads folder ${dir} is not a folder.`, false, { path: dir, reason: 'other', side: 'local' });
      return real;
    } catch (err) {
      throw localFailure(err, dir);
    }
  }

  queue(peer: PeerContext): TransferQueue {
    return this.queueOf(peer);
  }

  private browser(peer: PeerContext, browserId: string): Browser {
    const b = this.browsers.get(browserId);
    if (!b || b.peerId !== peer.peerId) fail('NotFound', 'That files view is not open.', { browserId });
    return b;
  }

  dispose(): void {
    this.browsers.dispose();
    for (const q of this.queues.values()) q.dispose();
    this.queues.clear();
    for (const p of this.pulls.values()) p.reject(new KeylessFailure('Cancelled', 'Keyless is shutting down.', true));
    this.pulls.clear();
  }
}

/** The contract's files channels, served by one FilesService. */
export function filesHandlers(files: FilesService): Pick<Handlers, `files.${string}` & keyof Handlers> {
  const ok = { ok: true } as const;
  return {
    'files.open': (args, ctx) => files.open(args, ctx),
    'files.close': ({ browserId }, { peer }) => (files.close(peer, browserId), ok),
    'files.list': (args, ctx) => files.list(args, ctx),
    'files.stat': (args, ctx) => files.stat(args, ctx),
    'files.mkdir': (args, ctx) => files.mkdir(args, ctx),
    'files.rename': (args, ctx) => files.rename(args, ctx),
    'files.delete': (args, ctx) => files.delete(args, ctx),
    'files.chmod': async (args, ctx) => (await files.chmod(args, ctx), ok),
    'files.download': (args, ctx) => files.download(args, ctx),
    'files.upload': (args, ctx) => files.upload(args, ctx),
    'files.uploadStream': (args, ctx) => files.uploadStream(args, ctx),
    'files.push': (args, ctx) => (files.push(args, ctx), ok),
    'files.copy': (args, ctx) => files.copy(args, ctx),
    'files.pick': ({ folders }, { peer }) => files.pick(folders, peer),
    'files.downloads': ({ choose }) => files.downloads(choose),
    'files.transfers': (_args, { peer }) => ({ transfers: files.queue(peer).list() }),
    'files.cancel': ({ transferId }, { peer }) => (files.queue(peer).cancel(transferId), ok),
    'files.retry': ({ transferId }, { peer }) => (files.queue(peer).retry(transferId), ok),
    'files.answer': ({ transferId, choice, applyToAll }, { peer }) => (files.queue(peer).answerConflict(transferId, choice, applyToAll), ok),
    'files.clear': (_args, { peer }) => (files.queue(peer).clear(), ok),
  };
}

/** Where downloads go by default: ~/Downloads when it exists, else the home folder. */
export function defaultDownloadsFolder(): string {
  const downloads = join(homedir(), 'Downloads');
  return existsSync(downloads) ? downloads : homedir();
}
