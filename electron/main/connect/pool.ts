import type { RouteInfo } from '../../contract';
import { KeylessFailure } from '../base/errors';
import { toDisposable, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import { sleep, untilAborted } from '../base/sleep';
import type { Connection, ConnectHooks, Connector, Dialer } from './connector';
import { jumpRoute, routeKey, type Hop, type Route } from './route';

/** How long a connection stays open after its last consumer let go, so a closed-then-reopened tab reuses it. */
export const LINGER_MS = 10_000;
/** Waits between reconnect attempts (seconds), the last one repeating. */
export const RECONNECT_BACKOFF_S = [1, 2, 4, 8, 15, 30];
export const MAX_RECONNECT_ATTEMPTS = 8;
/**
 * A connection whose tunnel the endpoint cuts within this long (at most a quarter of its whole
 * duration, for short ones) is not lent for new work: it would not last.
 */
export const NEW_WORK_MARGIN_MS = 5 * 60_000;

/** What a consumer holds: the connection while it is lent, given back with `dispose()`. */
export interface Lease extends Disposable {
  readonly connection: Connection;
  /** The way it was made: the last hop's route and the jump hosts before it. */
  readonly route: RouteInfo;
  /** When the connection was made (epoch ms). */
  readonly openedAt: number;
  /**
   * Told once when the connection drops (no reason: closed cleanly), at once when it has dropped
   * already; never after `dispose()`. A lease outlives its connection until disposed.
   */
  onDrop(listener: (reason?: KeylessFailure) => void): () => void;
}

interface Entry {
  readonly key: string;
  readonly connection: Connection;
  readonly route: RouteInfo;
  readonly openedAt: number;
  /** The jump hosts' own pooled connection, held while this one lives. */
  readonly jump: Lease | undefined;
  refs: number;
  linger: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Set when the connection has closed, with why (no reason: closed cleanly). */
  dropped?: { reason: KeylessFailure | undefined };
}

export interface PoolDeps {
  connectors: { [K in Hop['kind']]: Connector<Extract<Hop, { kind: K }>> };
  log: Logger;
  lingerMs?: number;
}

/**
 * Every SSH connection Keyless makes, lent to its consumers (terminal channels, port forwards,
 * file transfers, command runs, the OpenSSH bridge) and shared by those asking for the same route:
 * keyed by everything that makes two connections different (each hop's target, user, identity,
 * AWS profile, jump chain), ref-counted by leases, closed a short while after the last lease is
 * given back. A route through jump hosts borrows the jump hosts' connection from this same pool
 * and opens a `direct-tcpip` channel on it for the next hop. Consumers never dial.
 */
export class ConnectionPool implements Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private disposed = false;

  constructor(private readonly deps: PoolDeps) {}

  /** A lease on the route's connection: the open one, the one being opened, or a new one. */
  async borrow(route: Route, hooks: ConnectHooks): Promise<Lease> {
    if (this.disposed) throw new KeylessFailure('Cancelled', 'Keyless is shutting down.', true);
    const key = routeKey(route);
    for (;;) {
      const open = this.entries.get(key);
      if (open && this.lendable(open)) return this.lease(open);
      const inFlight = this.pending.get(key);
      if (inFlight) {
        let entry: Entry;
        try {
          entry = await untilAborted(inFlight, hooks.signal, 'The connection was cancelled.');
        } catch (err) {
          // The opening is the borrower's that started it: its cancel is not this one's, which opens its own.
          if (hooks.signal.aborted || this.disposed || !(err instanceof KeylessFailure) || err.code !== 'Cancelled') throw err;
          if (this.pending.get(key) === inFlight) this.pending.delete(key);
          continue;
        }
        // It may have dropped between opening and this borrower's turn: look again.
        if (this.lendable(entry)) return this.lease(entry);
        continue;
      }
      const made = this.open(key, route, hooks);
      this.pending.set(key, made);
      try {
        return this.lease(await made);
      } finally {
        if (this.pending.get(key) === made) this.pending.delete(key);
      }
    }
  }

  /**
   * `borrow`, retrying what a retry can fix (a dropped tunnel, a network loss) with backoff, each
   * try a new connection with a new key. Used to reconnect consumers whose connection dropped.
   */
  async borrowWithRetry(route: Route, hooks: ConnectHooks, onRetry?: (attempt: number, err: KeylessFailure, waitS: number) => void): Promise<Lease> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.borrow(route, hooks);
      } catch (err) {
        const e = err instanceof KeylessFailure ? err : undefined;
        if (!e?.retryable || e.code === 'Cancelled' || attempt + 1 >= MAX_RECONNECT_ATTEMPTS || hooks.signal.aborted) throw err;
        const wait = RECONNECT_BACKOFF_S[Math.min(attempt, RECONNECT_BACKOFF_S.length - 1)]!;
        onRetry?.(attempt + 1, e, wait);
        await sleep(wait * 1000, hooks.signal, 'Reconnecting was stopped.');
      }
    }
  }

  /**
   * Closes one idle (lingering) connection through `endpointId`, giving its tunnel slot to work
   * that waits for one. Returns whether there was one.
   */
  releaseIdle(endpointId: string): boolean {
    for (const e of this.entries.values()) {
      if (e.refs === 0 && !e.closed && e.route.endpointId === endpointId) {
        this.deps.log.info('idle connection closed for waiting work', { endpoint: endpointId });
        this.close(e);
        return true;
      }
    }
    return false;
  }

  /** The open connections, for tests and diagnostics. */
  connections(): Array<{ key: string; refs: number; route: RouteInfo }> {
    return [...this.entries.values()].map((e) => ({ key: e.key, refs: e.refs, route: e.route }));
  }

  dispose(): void {
    this.disposed = true;
    for (const e of [...this.entries.values()]) this.close(e);
  }

  private lendable(e: Entry): boolean {
    if (e.closed || e.connection.ssh.isClosed) return false;
    const deadline = e.connection.tunnelDeadline;
    if (deadline === undefined) return true;
    const margin = Math.min(NEW_WORK_MARGIN_MS, (deadline - e.openedAt) / 4);
    return deadline - Date.now() > margin;
  }

  private async open(key: string, route: Route, hooks: ConnectHooks): Promise<Entry> {
    const hop = route.hops[route.hops.length - 1]!;
    const jumps = jumpRoute(route);
    let jump: Lease | undefined;
    let dial: Dialer | undefined;
    if (jumps) {
      hooks.report('jump', 'start');
      try {
        // The jump hosts' own steps stay out of the tab's line; their questions (a host key) still reach the person.
        jump = await this.borrow(jumps, { ...hooks, report: () => {} });
        hooks.report('jump', 'done');
      } catch (err) {
        hooks.report('jump', 'failed');
        throw err;
      }
      const through = jump;
      dial = (host, port) => through.connection.ssh.forwardOut(0, host, port);
    }
    let connection: Connection;
    try {
      connection = await this.connectHop(hop, dial, hooks);
    } catch (err) {
      jump?.dispose();
      throw err;
    }
    const entry: Entry = {
      key,
      connection,
      route: { ...connection.route, jumps: jumps ? jumps.hops.map((h) => h.label) : [] },
      openedAt: Date.now(),
      jump,
      refs: 0,
      linger: undefined,
      closed: false,
    };
    if (this.disposed) {
      this.close(entry);
      throw new KeylessFailure('Cancelled', 'Keyless is shutting down.', true);
    }
    this.entries.set(key, entry);
    connection.ssh.onClose((reason) => {
      entry.dropped = { reason };
      this.forget(entry);
      this.deps.log.info('connection closed', { to: hop.label, reason: reason?.code });
    });
    return entry;
  }

  private connectHop(hop: Hop, dial: Dialer | undefined, hooks: ConnectHooks): Promise<Connection> {
    return hop.kind === 'ssh' ? this.deps.connectors.ssh.connect(hop, dial, hooks) : this.deps.connectors.ec2.connect(hop, dial, hooks);
  }

  private lease(entry: Entry): Lease {
    entry.refs++;
    clearTimeout(entry.linger);
    entry.linger = undefined;
    const listeners = new Set<(reason?: KeylessFailure) => void>();
    let disposed = false;
    const stop = entry.connection.ssh.onClose((reason) => {
      for (const l of [...listeners]) l(reason);
    });
    const lease = toDisposable(() => {
      disposed = true;
      stop();
      listeners.clear();
      entry.refs--;
      if (entry.refs === 0 && !entry.closed) {
        const linger = this.deps.lingerMs ?? LINGER_MS;
        if (linger <= 0) return this.close(entry);
        const t = setTimeout(() => this.close(entry), linger);
        t.unref();
        entry.linger = t;
      }
    });
    return {
      connection: entry.connection,
      route: entry.route,
      openedAt: entry.openedAt,
      onDrop: (l) => {
        if (disposed) return () => {};
        // A listener added after the drop (after an await, say) is told at once, not never.
        if (entry.dropped) {
          l(entry.dropped.reason);
          return () => {};
        }
        listeners.add(l);
        return () => listeners.delete(l);
      },
      dispose: () => lease.dispose(),
    };
  }

  private close(entry: Entry): void {
    this.forget(entry);
    entry.connection.ssh.end();
  }

  /** The entry is gone (closed here, or dropped): out of the map, its jump lease given back. */
  private forget(entry: Entry): void {
    if (entry.closed) return;
    entry.closed = true;
    clearTimeout(entry.linger);
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    entry.jump?.dispose();
  }
}
