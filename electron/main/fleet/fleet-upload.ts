import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, sep } from 'node:path';
import type { FleetUploadHost, FleetUploadSummary, HostRef, ParsedArgs, TransferInfo } from '../../contract';
import { KeylessFailure, fail, toKeylessError } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import { JsonLinesFile } from '../base/json-lines';
import type { Logger } from '../base/log';
import type { Route } from '../connect/route';
import { localFailure } from '../files/file-errors';
import { notRegular, notRegularReason, walkLocal } from '../files/local-files';
import { RemoteSide } from '../files/remote-side';
import { TransferQueue } from '../files/transfers';
import type { Handlers } from '../rpc/contract-server';
import { PLANS_AT_ONCE, planHost, reachOf, safeEmit, type Emit, type FleetDeps } from './fleet-service';
import { DEFAULT_LIMITS, driveQueue, type Queued } from './schedule';

/** Uploads kept for `fleetUpload.get` (finished ones beyond it are forgotten, oldest first). */
const HISTORY_UPLOADS = 50;


/** One line of the upload audit log: who sent what where, and how each host ended. */
export interface FleetUploadAuditEntry {
  time: number;
  uploadId: string;
  localUser: string;
  localPath: string;
  remoteDir: string;
  totalBytes: number;
  fileCount: number;
  durationMs: number;
  counts: FleetUploadSummary['counts'];
  hosts: Array<{ name: string; instanceId: string | null; profile: string | null; via: string; state: string; bytes: number; errorCode: string | null }>;
}

export interface FleetUploadDeps extends Omit<FleetDeps, 'audit'> {
  audit(entry: FleetUploadAuditEntry): void;
}

interface HostUpload {
  info: FleetUploadHost;
  ref: HostRef;
  route?: Route;
  profile?: string;
}

interface Upload {
  summary: FleetUploadSummary;
  localPath: string;
  hosts: HostUpload[];
  abort: AbortController;
  emit: Emit;
  done: Promise<void>;
}

function counts(hosts: readonly HostUpload[]): FleetUploadSummary['counts'] {
  const c = { total: hosts.length, queued: 0, running: 0, ok: 0, error: 0, cancelled: 0 };
  for (const { info } of hosts) {
    if (info.state === 'queued' || info.state === 'waiting') c.queued++;
    else if (info.state === 'connecting' || info.state === 'sending') c.running++;
    else c[info.state]++;
  }
  return c;
}

/**
 * Files to many hosts: a local file or folder sent to one folder on each target host with the
 * Files view's transfer code (a temporary name made with O_EXCL beside the target, renamed over it
 * when whole, the mode kept), over the pool's connection to each host. Hosts are scheduled as a
 * fleet run's: at most 20 at once behind one endpoint, the whole upload at most `concurrency`. A
 * host that fails says why and the others go on. Each finished upload is audited.
 */
export class FleetUploads implements Disposable {
  private nextId = 1;
  private readonly uploads: Upload[] = [];

  constructor(private readonly deps: FleetUploadDeps) {}

  async start(args: ParsedArgs<'fleetUpload.start'>, emit: Emit): Promise<{ upload: FleetUploadSummary; hosts: FleetUploadHost[] }> {
    // The local side first: a missing path, a FIFO or a device is the person's to fix, before any host is dialled.
    const st = await stat(args.localPath).catch((err: unknown) => {
      throw localFailure(err, args.localPath);
    });
    await refuseSecretPlaces(args.localPath);
    const reason = notRegularReason(st);
    if (reason) throw notRegular(args.localPath, reason);
    const name = basename(args.localPath);
    const tree = await walkLocal(Buffer.from(args.localPath), Buffer.from(name), new AbortController().signal);
    if (tree.problems.length) throw tree.problems[0]!;
    const targets = await this.deps.resolveTargets(args.targets);
    if (!targets.length) fail('InvalidArguments', 'The targets name no hosts.', { field: 'targets' });
    // Planned 16 at a time (each may ask EC2 about its instance), in the targets' order.
    const hosts: HostUpload[] = new Array<HostUpload>(targets.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PLANS_AT_ONCE, targets.length) }, async () => {
        while (next < targets.length) {
          const i = next++;
          const t = targets[i]!;
          hosts[i] = await this.plan(t.key, t.name, t.ref);
        }
      }),
    );
    const summary: FleetUploadSummary = {
      uploadId: `u${this.nextId++}`,
      name,
      remoteDir: args.remoteDir,
      kind: st.isDirectory() ? 'dir' : 'file',
      totalBytes: tree.files.reduce((n, f) => n + f.size, 0),
      fileCount: tree.files.length,
      startedAt: Date.now(),
      endedAt: null,
      state: 'running',
      counts: counts(hosts),
      reach: reachOf(hosts.map((h) => h.info)),
    };
    const up: Upload = { summary, localPath: args.localPath, hosts, abort: new AbortController(), emit: safeEmit(emit, this.deps.log), done: Promise.resolve() };
    this.uploads.push(up);
    while (this.uploads.length > HISTORY_UPLOADS) {
      const i = this.uploads.findIndex((u) => u.summary.state !== 'running');
      if (i < 0) break;
      this.uploads.splice(i, 1);
    }
    up.done = this.drive(up, args.concurrency);
    return { upload: summary, hosts: hosts.map((h) => h.info) };
  }

  get(uploadId: string): { upload: FleetUploadSummary; hosts: FleetUploadHost[] } {
    const u = this.find(uploadId);
    return { upload: u.summary, hosts: u.hosts.map((h) => h.info) };
  }

  cancel(uploadId: string): void {
    this.find(uploadId).abort.abort();
  }

  /** Resolves when the upload has ended (tests). */
  whenDone(uploadId: string): Promise<FleetUploadSummary> {
    const u = this.find(uploadId);
    return u.done.then(() => u.summary);
  }

  dispose(): void {
    for (const u of this.uploads) u.abort.abort();
  }

  private find(uploadId: string): Upload {
    return this.uploads.find((u) => u.summary.uploadId === uploadId) ?? fail('NotFound', `No upload ${uploadId} is kept (the last ${HISTORY_UPLOADS} are).`, { uploadId });
  }

  private async plan(key: string, name: string, ref: HostRef): Promise<HostUpload> {
    const host: HostUpload = { info: { key, name, via: 'none', state: 'queued', bytes: 0, files: 0, durationMs: null }, ref };
    await planHost(this.deps, host);
    return host;
  }

  private async drive(up: Upload, concurrency: number): Promise<void> {
    const byKey = new Map(up.hosts.map((h) => [h.info.key, h]));
    const queued: Queued[] = up.hosts.filter((h) => h.info.state === 'queued').map((h) => ({ key: h.info.key, lane: h.info.via === 'eice' ? h.info.endpointId : undefined }));
    for (const h of up.hosts) up.emit('fleetUpload.host', { uploadId: up.summary.uploadId, host: h.info });
    await driveQueue(queued, { concurrency, perLane: DEFAULT_LIMITS.perLane }, up.abort.signal, {
      start: (key) => this.sendTo(up, byKey.get(key)!),
      cancelQueued: (key) => this.update(up, byKey.get(key)!, { state: 'cancelled' }),
      waiting: (key) => {
        const h = byKey.get(key)!;
        if (h.info.state === 'queued') this.update(up, h, { state: 'waiting' });
      },
      turned: () => {
        up.summary.counts = counts(up.hosts);
        if (up.summary.state === 'running') up.emit('fleetUpload.run', up.summary);
      },
    });
    up.summary.state = up.abort.signal.aborted ? 'cancelled' : 'done';
    up.summary.endedAt = Date.now();
    up.summary.counts = counts(up.hosts);
    up.emit('fleetUpload.run', up.summary);
    this.audit(up);
  }

  /** One host: a transfer queue of its own holding one upload, followed until it ends. */
  private async sendTo(up: Upload, host: HostUpload): Promise<void> {
    const t0 = Date.now();
    const signal = up.abort.signal;
    this.update(up, host, { state: 'connecting' });
    const route = host.route!;
    const side = new RemoteSide({
      label: host.info.name,
      borrow: async (_retry, s) => {
        const lease = await this.deps.pool.borrow(route, this.deps.hooks(s));
        if (host.info.state === 'connecting') this.update(up, host, { state: 'sending' });
        return lease;
      },
    });
    let finished!: (info: TransferInfo) => void;
    const ended = new Promise<TransferInfo>((r) => (finished = r));
    const queue = new TransferQueue(
      {
        transfer: (info) => {
          if (info.state === 'done' || info.state === 'failed' || info.state === 'cancelled' || info.state === 'skipped') finished(info);
          else if (info.bytes !== host.info.bytes) host.info.bytes = info.bytes;
        },
        queue: () => {},
      },
      this.deps.log,
    );
    const name = Buffer.from(up.summary.name);
    const t = queue.add('upload', up.summary.name, 1, { kind: 'local', roots: [{ path: Buffer.from(up.localPath), name }] }, { kind: 'remote', side, dir: Buffer.from(up.summary.remoteDir), sudo: false }, 'replace');
    const onAbort = () => queue.cancel(t.id);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      const info = await ended;
      const common = { bytes: info.bytes, files: info.files, durationMs: Date.now() - t0 };
      if (info.state === 'done' && info.problems.length === 0) return this.update(up, host, { ...common, state: 'ok' });
      if (info.state === 'cancelled' || (signal.aborted && info.error?.code === 'Cancelled')) return this.update(up, host, { ...common, state: 'cancelled' });
      const error = info.error ?? info.problems[0]?.error ?? new KeylessFailure('SessionClosed', `The upload to ${host.info.name} did not finish.`, true, { host: host.info.name }).toData();
      this.update(up, host, { ...common, state: 'error', error });
    } catch (err) {
      this.update(up, host, { durationMs: Date.now() - t0, state: 'error', error: toKeylessError(err) });
    } finally {
      signal.removeEventListener('abort', onAbort);
      queue.dispose();
    }
  }

  private update(up: Upload, host: HostUpload, patch: Partial<FleetUploadHost>): void {
    Object.assign(host.info, patch);
    up.emit('fleetUpload.host', { uploadId: up.summary.uploadId, host: host.info });
  }

  private audit(up: Upload): void {
    const s = up.summary;
    this.deps.audit({
      time: s.startedAt,
      uploadId: s.uploadId,
      localUser: this.deps.localUser,
      localPath: up.localPath,
      remoteDir: s.remoteDir,
      totalBytes: s.totalBytes,
      fileCount: s.fileCount,
      durationMs: (s.endedAt ?? Date.now()) - s.startedAt,
      counts: s.counts,
      hosts: up.hosts.map((h) => ({
        name: h.info.name,
        instanceId: h.info.instanceId ?? null,
        profile: h.profile ?? null,
        via: h.info.via,
        state: h.info.state,
        bytes: h.info.bytes,
        errorCode: h.info.error?.code ?? null,
      })),
    });
  }
}

/** The upload audit log (`fleet-uploads.jsonl`, one JSON object a line, owner-only). */
export class FleetUploadLog {
  private readonly out: JsonLinesFile;

  constructor(
    readonly file: string,
    log?: Logger,
  ) {
    this.out = new JsonLinesFile(file, 'upload audit log', log);
  }

  append(entry: FleetUploadAuditEntry): Promise<void> {
    return this.out.append({ kind: 'fleetUpload', ...entry });
  }

  flushed(): Promise<void> {
    return this.out.flushed();
  }
}

export function fleetUploadHandlers(uploads: FleetUploads): Pick<Handlers, 'fleetUpload.start' | 'fleetUpload.get' | 'fleetUpload.cancel'> {
  return {
    'fleetUpload.start': (args, { peer }) => uploads.start(args, (e, p) => peer.emit(e, p)),
    'fleetUpload.get': ({ uploadId }) => uploads.get(uploadId),
    'fleetUpload.cancel': ({ uploadId }) => (uploads.cancel(uploadId), { ok: true }),
  };
}

/**
 * The path comes from the renderer as text, so a page that went wrong could name any file this user
 * can read. What it may not name: a hidden file or folder (or one inside one: ~/.ssh, ~/.aws,
 * ~/.config hold keys and credentials), nor the home folder or a folder holding it (which would
 * carry those along). Judged on the real path, so a link elsewhere does not get round it.
 */
export async function refuseSecretPlaces(localPath: string, home = homedir()): Promise<void> {
  const real = await realpath(localPath).catch(() => localPath);
  const realHome = await realpath(home).catch(() => home);
  const parts = real.split(sep).filter(Boolean);
  const hidden = parts.some((p) => p.startsWith('.'));
  const holdsHome = realHome === real || realHome.startsWith(real.endsWith(sep) ? real : real + sep);
  if (hidden || holdsHome) fail('FileRefused', `${localPath} is ${hidden ? 'hidden or inside a hidden folder' : 'the home folder or holds it'}; Keyless does not send it to many hosts.`, { path: localPath, reason: hidden ? 'hidden' : 'holdsHome' });
}
