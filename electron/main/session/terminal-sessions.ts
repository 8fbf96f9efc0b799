import type { ClientChannel } from 'ssh2';
import type { ConnectStep, FlowStats, HostRef, ParsedArgs, RouteInfo } from '../../contract';
import { KeylessFailure, fail } from '../base/errors';
import { toDisposable, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import { trackStep, type ConnectHooks, type StepReporter } from '../connect/connector';
import type { ConnectionPool, Lease } from '../connect/pool';
import type { Route } from '../connect/route';
import type { CallContext, PeerContext } from '../rpc/contract-server';
import type { Prompts } from '../rpc/prompts';
import { HIGH_WATERMARK, TerminalChannel } from '../ssh/terminal-channel';
import { AsciicastRecording } from './recording';

/** Warn this long before the endpoint cuts a tunnel at its maximum duration (at most half of it). */
export const TUNNEL_EXPIRY_WARNING_S = 60;

interface Session extends Disposable {
  readonly peerId: string;
  /** Replaced when the session reconnects (after a dropped tunnel or network). */
  channel: TerminalChannel;
  size: { cols: number; rows: number };
  recording: AsciicastRecording | undefined;
}

/** What the audit log hears about a session after it opened. */
export interface SessionEvents {
  reconnected(e: { sessionId: string; ref: HostRef; route: RouteInfo; osUser: string; after: string }): Promise<void>;
  ended(e: { sessionId: string; ref: HostRef; route: RouteInfo; osUser: string; durationMs: number }): Promise<void>;
}

/** A tab's progress line: each step's start, and its time when it ends. */
export function progressReporter(peer: PeerContext, requestId: string): StepReporter {
  const started = new Map<ConnectStep, number>();
  return (step, status) => {
    if (status === 'start') started.set(step, performance.now());
    const t0 = started.get(step);
    const ms = status !== 'start' && t0 !== undefined ? Math.round(performance.now() - t0) : undefined;
    peer.emit('progress', ms === undefined ? { requestId, step, status } : { requestId, step, status, ms });
  };
}

/** The questions a connect may ask, put to the peer that asked for it. */
export function promptHooks(prompts: Prompts, peer: PeerContext, requestId: string, signal: AbortSignal, report: StepReporter): ConnectHooks {
  return {
    report,
    signal,
    askHostKey: async (key, known) =>
      (await prompts.ask(peer, known?.length ? { kind: 'hostKeyTypeChanged', requestId, key, known } : { kind: 'hostKeyUnknown', requestId, key }, signal)) === true,
    askPassphrase: async (keyPath, retry) => {
      const answer = await prompts.ask(peer, { kind: 'passphrase', requestId, keyPath, retry }, signal);
      return typeof answer === 'string' ? answer : null;
    },
  };
}

/**
 * Terminal tabs: a shell channel on a connection borrowed from the pool, owned by the renderer
 * that opened it. Tabs on the same route share the pool's connection; when it drops with a reason a
 * retry can fix, the tab reconnects visibly (a new connection, a new key, a new shell in the same
 * tab) instead of closing.
 */
export class TerminalSessions implements Disposable {
  private nextId = 1;
  private readonly sessions = new Map<string, Session>();
  /** Sessions to record from their first byte (hosts that record automatically), by peer and open request. */
  private readonly recordOnOpen = new Map<string, { folder: string; includeInput: boolean; title: string }>();

  constructor(
    private readonly deps: {
      pool: ConnectionPool;
      /** The route to a host (checked before anything is dialled). */
      routeOf: (ref: HostRef) => Promise<Route>;
      prompts: Prompts;
      log: Logger;
      events?: SessionEvents;
      /** The recording folder and whether to record input, as the settings say now. */
      recordingPrefs: () => Promise<{ folder: string; includeInput: boolean }>;
    },
  ) {}

  async open(args: ParsedArgs<'session.open'>, ctx: CallContext): Promise<{ sessionId: string; route: RouteInfo; osUser: string }> {
    const { peer, signal } = ctx;
    const resolving = trackStep(progressReporter(peer, args.requestId), 'resolve');
    const report = resolving.report;
    const ref: HostRef = args.hostId !== undefined ? { hostId: args.hostId } : { target: args.target! };
    let route: Route;
    report('resolve', 'start');
    try {
      route = await this.deps.routeOf(ref);
    } catch (err) {
      report('resolve', 'failed');
      throw err;
    }
    const hooks = promptHooks(this.deps.prompts, peer, args.requestId, signal, report);
    const lease = args.reconnect ? await this.deps.pool.borrowWithRetry(route, hooks, (attempt, e, waitS) => this.logRetry(route, attempt, e, waitS)) : await this.deps.pool.borrow(route, hooks);
    resolving.closeIfOpen();
    const label = route.hops[route.hops.length - 1]!.label;
    // A dropped connection is replaced in the same tab: backoff, a fresh key, a new shell.
    const reconnect = (closing: AbortSignal) =>
      this.deps.pool.borrowWithRetry(route, promptHooks(this.deps.prompts, peer, args.requestId, closing, progressReporter(peer, args.requestId)), (attempt, e, waitS) =>
        this.logRetry(route, attempt, e, waitS),
      );
    const sessionId = await this.attach(lease, args, ctx, report, label, ref, reconnect);
    return { sessionId, route: lease.route, osUser: lease.connection.osUser };
  }

  private logRetry(route: Route, attempt: number, e: KeylessFailure, waitS: number): void {
    this.deps.log.info('reconnect attempt failed', { to: route.hops[route.hops.length - 1]!.label, attempt, code: e.code, retryInS: waitS });
  }

  /**
   * Opens a shell on a lent connection. The session holds the lease; closing the tab gives it
   * back. When the connection drops with a retryable reason, `reconnect` gives a new lease and a
   * new shell opens in the same session (state `reconnecting`, then `connected`).
   */
  private async attach(
    lease: Lease,
    args: { requestId: string; cols: number; rows: number },
    ctx: CallContext,
    report: StepReporter,
    hostLabel: string,
    ref: HostRef,
    reconnect: (signal: AbortSignal) => Promise<Lease>,
  ): Promise<string> {
    const { peer, signal } = ctx;
    /** Stops a reconnect in progress when the tab is closed. */
    const closing = new AbortController();
    const openedAt = Date.now();
    report('shell', 'start');
    let raw: ClientChannel;
    try {
      raw = await lease.connection.ssh.shell({ term: 'xterm-256color', cols: args.cols, rows: args.rows, width: 0, height: 0 });
      if (signal.aborted) {
        raw.close();
        fail('Cancelled', 'The connection was cancelled.');
      }
    } catch (err) {
      report('shell', 'failed');
      lease.dispose();
      throw err;
    }
    const sessionId = `s${this.nextId++}`;
    let current = lease;
    let reconnecting = false;
    let expiry: NodeJS.Timeout | undefined;
    const channelFor = (rawChannel: ClientChannel): TerminalChannel => {
      const made: TerminalChannel = new TerminalChannel(
        rawChannel,
        (data) => peer.emit('session.data', { sessionId, data }),
        () =>
          // Let the connection say first whether it dropped (then the tab reconnects instead).
          setImmediate(() => {
            // A channel replaced (or being replaced) by a reconnect ends quietly.
            if (reconnecting || this.sessions.get(sessionId)?.channel !== made) return;
            peer.emit('session.state', { sessionId, state: 'closed' });
            // The shell ended (exit, or the connection dropped): the renderer does not close a
            // closed tab's session, so free it here, or its lease would hold the connection for good.
            this.sessions.get(sessionId)?.dispose();
          }),
      );
      return made;
    };
    const watch = (l: Lease) =>
      l.onDrop((reason) => {
        if (reason?.retryable && this.sessions.has(sessionId)) {
          reconnecting = true;
          peer.emit('session.state', { sessionId, state: 'reconnecting', error: reason.toData() });
          void replace(reason);
          return;
        }
        peer.emit('session.state', reason ? { sessionId, state: 'closed', error: reason.toData() } : { sessionId, state: 'closed' });
      });
    /** Tells the tab a minute before the endpoint cuts the tunnel (halfway through a shorter one). */
    const warnBeforeCut = (l: Lease) => {
      clearTimeout(expiry);
      const deadline = l.connection.tunnelDeadline;
      if (!deadline) return;
      const whole = deadline - l.openedAt;
      const lead = Math.min(TUNNEL_EXPIRY_WARNING_S * 1000, whole / 2);
      expiry = setTimeout(() => peer.emit('session.notice', { sessionId, kind: 'tunnelExpiring', secondsLeft: Math.max(0, Math.round((deadline - Date.now()) / 1000)) }), Math.max(0, deadline - Date.now() - lead));
      expiry.unref();
    };
    let stopWatching = watch(current);
    const replace = async (reason: KeylessFailure) => {
      try {
        const next = await reconnect(closing.signal);
        const rawNext = await next.connection.ssh.shell({ term: 'xterm-256color', cols: session.size.cols, rows: session.size.rows, width: 0, height: 0 }).catch((err: unknown) => {
          next.dispose();
          throw err;
        });
        if (!this.sessions.has(sessionId)) {
          rawNext.close();
          next.dispose();
          return;
        }
        const old = { channel: session.channel, lease: current, stopWatching };
        session.channel = channelFor(rawNext);
        current = next;
        stopWatching = watch(next);
        reconnecting = false;
        old.stopWatching();
        old.channel.dispose();
        old.lease.dispose();
        warnBeforeCut(next);
        if (session.recording) session.channel.tap = { output: (t) => session.recording?.output(t), input: (t) => session.recording?.input(t) };
        peer.emit('session.state', { sessionId, state: 'connected' });
        this.deps.log.info('session reconnected', { session: sessionId, host: hostLabel, after: reason.code });
        void this.deps.events?.reconnected({ sessionId, ref, route: next.route, osUser: next.connection.osUser, after: reason.code });
      } catch (err) {
        reconnecting = false;
        const failure = err instanceof KeylessFailure ? err : reason;
        peer.emit('session.state', { sessionId, state: 'closed', error: failure.toData() });
        this.sessions.get(sessionId)?.dispose();
      }
    };
    const ownership = toDisposable(() => session.dispose());
    const session: Session = {
      peerId: peer.peerId,
      channel: channelFor(raw),
      size: { cols: args.cols, rows: args.rows },
      recording: undefined,
      dispose: () => {
        if (!this.sessions.delete(sessionId)) return;
        closing.abort();
        peer.owned.delete(ownership);
        stopWatching();
        clearTimeout(expiry);
        this.endRecording(peer, sessionId, session);
        session.channel.dispose();
        current.dispose();
        void this.deps.events?.ended({ sessionId, ref, route: current.route, osUser: current.connection.osUser, durationMs: Date.now() - openedAt });
      },
    };
    this.sessions.set(sessionId, session);
    peer.owned.add(ownership);
    warnBeforeCut(current);
    const plan = this.recordOnOpen.get(`${peer.peerId}/${args.requestId}`);
    if (plan) this.beginRecording(peer, sessionId, session, plan);
    report('shell', 'done');
    peer.emit('session.state', { sessionId, state: 'connected' });
    this.deps.log.info('session opened', { session: sessionId, host: hostLabel, route: current.route.kind, jumps: current.route.jumps.length });
    return sessionId;
  }

  write(peer: PeerContext, sessionId: string, data: string): void {
    this.get(peer, sessionId).channel.write(data);
  }
  resize(peer: PeerContext, sessionId: string, cols: number, rows: number): void {
    const s = this.get(peer, sessionId);
    s.size = { cols, rows };
    s.channel.resize(cols, rows);
    s.recording?.resize(cols, rows);
  }
  ack(peer: PeerContext, sessionId: string, bytes: number, parseMs?: number): void {
    this.get(peer, sessionId).channel.ack(bytes, parseMs);
  }
  close(peer: PeerContext, sessionId: string): void {
    this.get(peer, sessionId).dispose();
  }
  stats(peer: PeerContext, sessionId: string): FlowStats {
    return { ...this.get(peer, sessionId).channel.counters, highWatermark: HIGH_WATERMARK };
  }

  async startRecording(peer: PeerContext, sessionId: string, title: string): Promise<{ name: string }> {
    const s = this.get(peer, sessionId);
    if (s.recording) return { name: s.recording.name };
    const prefs = await this.deps.recordingPrefs();
    const recording = await AsciicastRecording.create({
      folder: prefs.folder,
      sessionId,
      title,
      ...s.size,
      includeInput: prefs.includeInput,
      onError: (err) => {
        this.deps.log.warn('recording write failed', { session: sessionId, error: err.message });
        if (s.recording === recording) this.endRecording(peer, sessionId, s, 'The disk refused a write to the recording.');
      },
    });
    if (!this.sessions.has(sessionId)) {
      await recording.close();
      fail('NotFound', 'That terminal session is not open.', { sessionId });
    }
    s.recording = recording;
    s.channel.tap = { output: (t) => recording.output(t), input: (t) => recording.input(t) };
    this.deps.log.info('recording started', { session: sessionId });
    return { name: recording.name };
  }

  /**
   * The session that `requestId` opens is recorded from its first byte into `folder` (a real path
   * checked by checkRecordingFolder). Returns the undo, for once the open has finished either way.
   */
  recordFromStart(peer: PeerContext, requestId: string, plan: { folder: string; includeInput: boolean; title: string }): () => void {
    const key = `${peer.peerId}/${requestId}`;
    this.recordOnOpen.set(key, plan);
    return () => this.recordOnOpen.delete(key);
  }

  /** The recording a session is writing, if any. */
  recordingOf(peer: PeerContext, sessionId: string): AsciicastRecording | undefined {
    return this.get(peer, sessionId).recording;
  }

  private beginRecording(peer: PeerContext, sessionId: string, s: Session, plan: { folder: string; includeInput: boolean; title: string }): void {
    const recording = AsciicastRecording.begin({
      ...plan,
      sessionId,
      ...s.size,
      onError: (err) => {
        this.deps.log.warn('recording write failed', { session: sessionId, error: err.message });
        if (s.recording === recording) this.endRecording(peer, sessionId, s, 'The disk refused a write to the recording.');
      },
    });
    s.recording = recording;
    s.channel.tap = { output: (t) => recording.output(t), input: (t) => recording.input(t) };
    this.deps.log.info('recording started', { session: sessionId, automatic: true });
  }

  async stopRecording(peer: PeerContext, sessionId: string): Promise<void> {
    const s = this.get(peer, sessionId);
    const rec = s.recording;
    s.recording = undefined;
    s.channel.tap = undefined;
    await rec?.close();
  }

  private endRecording(peer: PeerContext, sessionId: string, s: Session, problem?: string): void {
    const rec = s.recording;
    if (!rec) return;
    s.recording = undefined;
    s.channel.tap = undefined;
    rec.dispose();
    peer.emit(
      'recording.stopped',
      problem
        ? { sessionId, name: rec.name, error: { code: 'RecordingFolderUnusable', message: problem, retryable: false } }
        : { sessionId, name: rec.name },
    );
  }

  dispose(): void {
    for (const s of [...this.sessions.values()]) s.dispose();
  }

  /** A session is reachable only by the renderer that opened it. */
  private get(peer: PeerContext, sessionId: string): Session {
    const s = this.sessions.get(sessionId);
    if (!s || s.peerId !== peer.peerId) fail('NotFound', 'That terminal session is not open.', { sessionId });
    return s;
  }
}
