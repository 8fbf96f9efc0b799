import type { Ec2HostEntry, ForwardInfo, KeylessError, PortForward } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';

export type ForwardKind = ForwardInfo['kind'];

/** What the person fills in to open a forward; localPort 0 lets the system pick a free port. */
export interface ForwardRequest {
  kind: ForwardKind;
  localPort: number;
  remoteHost: string;
  remotePort: number;
}

let nextRequest = 1;

/** One saved forward's identity: two entries with the same key are the same forward. */
export const savedKey = (f: PortForward): string => [f.kind, f.localPort, f.kind === 'ssh' ? f.remoteHost : '', f.remotePort].join('|');

const asError = (err: unknown): KeylessError =>
  err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };

/**
 * The port forwards of one saved EC2 host as the sheet shows them: the open ones (from main,
 * kept current by `forward.closed`), the saved ones, and the last thing that went wrong.
 */
export class HostPortForwards {
  open = $state<ForwardInfo[]>([]);
  saved = $state<PortForward[]>([]);
  instanceId = $state('');
  error = $state<KeylessError | undefined>(undefined);
  busy = $state(false);
  /** Which open forward each saved one (by `savedKey`) was started as. */
  startedFrom = $state<Record<string, string>>({});
  /** A forward that stopped by itself, with why (its connection dropped). */
  closedNotice = $state<{ forwardId: string; error?: KeylessError } | undefined>(undefined);
  private readonly unsubscribe: () => void;

  constructor(
    private readonly backend: Backend,
    readonly hostId: string,
  ) {
    this.unsubscribe = backend.on('forward.closed', (e) => {
      if (!this.open.some((f) => f.forwardId === e.forwardId)) return;
      this.open = this.open.filter((f) => f.forwardId !== e.forwardId);
      this.closedNotice = e.error ? { forwardId: e.forwardId, error: e.error } : { forwardId: e.forwardId };
    });
  }

  async refresh(): Promise<void> {
    await this.guard(async () => {
      const [host, { forwards }] = await Promise.all([this.readHost(), this.backend.invoke('forward.list', {})]);
      this.saved = host?.portForwards ?? [];
      if (host) this.instanceId = host.instanceId;
      // forward.list holds every forward of this window; the sheet shows this instance's.
      this.open = forwards.filter((f) => !host || f.instanceId === host.instanceId);
    });
  }

  async start(req: ForwardRequest): Promise<ForwardInfo | undefined> {
    return this.guard(async () => {
      const info = await this.backend.invoke('forward.open', {
        requestId: `fw${Date.now().toString(36)}${nextRequest++}`,
        kind: req.kind,
        localPort: req.localPort,
        ...(req.kind === 'ssh' ? { remoteHost: req.remoteHost.trim() || 'localhost' } : {}),
        remotePort: req.remotePort,
        hostId: this.hostId,
      });
      this.open = [...this.open.filter((f) => f.forwardId !== info.forwardId), info];
      return info;
    });
  }

  async stop(forwardId: string): Promise<void> {
    await this.guard(async () => {
      await this.backend.invoke('forward.close', { forwardId });
      this.open = this.open.filter((f) => f.forwardId !== forwardId);
    });
  }

  /**
   * Adds a forward to the host's saved `portForwards` (kind, local port — 0 for any free port —
   * and where it goes). The host is read again first so that a change made elsewhere is kept; the
   * store refuses the save (StoreConflict) if it moved meanwhile.
   */
  async saveWithHost(req: ForwardRequest): Promise<void> {
    await this.guard(async () => {
      const base = await this.readHost();
      if (!base) throw new BackendError({ code: 'NotFound', message: this.hostId, retryable: false });
      const entry: PortForward = { kind: req.kind, localPort: req.localPort, remoteHost: req.kind === 'ssh' ? req.remoteHost.trim() || 'localhost' : 'localhost', remotePort: req.remotePort };
      if (base.portForwards.some((f) => savedKey(f) === savedKey(entry))) return;
      const saved = await this.backend.invoke('hosts.save', { host: { ...base, portForwards: [...base.portForwards, entry] }, base });
      if (saved.kind === 'ec2') this.saved = saved.portForwards;
    });
  }

  /** A saved forward started as it was saved: its kind, its local port (or any free one), its target. */
  async startSaved(f: PortForward): Promise<ForwardInfo | undefined> {
    const info = await this.start({ kind: f.kind, localPort: f.localPort, remoteHost: f.remoteHost, remotePort: f.remotePort });
    if (info) this.startedFrom = { ...this.startedFrom, [savedKey(f)]: info.forwardId };
    return info;
  }

  /** The open forward a saved one is running as, if any (for "any free port", the one it started). */
  openOf(f: PortForward): ForwardInfo | undefined {
    const started = this.startedFrom[savedKey(f)];
    const byStart = started ? this.open.find((o) => o.forwardId === started) : undefined;
    if (byStart || f.localPort === 0) return byStart;
    return this.open.find((o) => o.kind === f.kind && o.localPort === f.localPort && o.remotePort === f.remotePort && (f.kind === 'eice' || o.remoteHost === f.remoteHost));
  }

  isOpen(f: PortForward): boolean {
    return this.openOf(f) !== undefined;
  }

  private async readHost(): Promise<Ec2HostEntry | undefined> {
    const host = (await this.backend.invoke('hosts.list', {})).hosts.find((h) => h.id === this.hostId);
    return host?.kind === 'ec2' ? host : undefined;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    this.busy = true;
    this.error = undefined;
    try {
      return await fn();
    } catch (err) {
      this.error = asError(err);
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    this.unsubscribe();
  }
}

/** The saved EC2 host with this id (undefined: gone, or a plain SSH host). */
export async function savedEc2Host(backend: Backend, hostId: string): Promise<Ec2HostEntry | undefined> {
  try {
    const host = (await backend.invoke('hosts.list', {})).hosts.find((h) => h.id === hostId);
    return host?.kind === 'ec2' ? host : undefined;
  } catch {
    return undefined;
  }
}

/** Which saved EC2 host's port-forwards sheet is open (undefined: none). */
export const portForwardsSheet = $state<{ hostId: string | undefined }>({ hostId: undefined });
