import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { ConnectStep, FlowStats, ParsedArgs, SavedHost } from '../../contract';
import { KeylessFailure, fail } from '../base/errors';
import { toDisposable, type Disposable } from '../base/lifecycle';
import { FileRefusal, READ_LIMITS, readRegularFile } from '../base/safe-read';
import type { Logger } from '../base/log';
import type { CallContext, PeerContext } from '../rpc/contract-server';
import { SshConnection, type SshIdentity } from '../ssh/connection';
import { fingerprintSha256, keyTypeOf, type KnownHosts } from '../ssh/known-hosts';
import { HIGH_WATERMARK, TerminalChannel } from '../ssh/terminal-channel';
import type { HostStore } from '../store/hosts';
import type { Prompts } from './prompts';
import { AsciicastRecording } from './recording';

interface Session extends Disposable {
  readonly peerId: string;
  /** Replaced when the session reconnects (EC2 sessions after a dropped tunnel). */
  channel: TerminalChannel;
  size: { cols: number; rows: number };
  recording: AsciicastRecording | undefined;
}

const MAX_PASSPHRASE_TRIES = 3;

/**
 * Terminal tabs on saved hosts. Tabs to the same host, port and user share one SSH connection;
 * each tab is its own shell channel, owned by the renderer that opened it.
 */
export class TerminalSessions implements Disposable {
  private nextId = 1;
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Map<string, SshConnection>();
  /** Sessions to record from their first byte (hosts that record automatically), by peer and open request. */
  private readonly recordOnOpen = new Map<string, { folder: string; includeInput: boolean; title: string }>();

  constructor(
    private readonly deps: {
      hosts: HostStore;
      knownHosts: KnownHosts;
      prompts: Prompts;
      log: Logger;
      agentSocket: string | undefined;
      /** The recording folder and whether to record input, as the settings say now. */
      recordingPrefs: () => Promise<{ folder: string; includeInput: boolean }>;
    },
  ) {}

  async open(args: ParsedArgs<'session.open'>, ctx: CallContext): Promise<{ sessionId: string }> {
    const { peer, signal } = ctx;
    const started = new Map<ConnectStep, number>();
    const report = (step: ConnectStep, status: 'start' | 'done' | 'failed') => {
      if (status === 'start') started.set(step, performance.now());
      const t0 = started.get(step);
      const ms = status !== 'start' && t0 !== undefined ? Math.round(performance.now() - t0) : undefined;
      peer.emit('progress', ms === undefined ? { requestId: args.requestId, step, status } : { requestId: args.requestId, step, status, ms });
    };

    report('resolve', 'start');
    let host: SavedHost;
    let identity: SshIdentity;
    try {
      host = await this.deps.hosts.get(args.hostId);
      identity = await this.identityFor(host, peer, args.requestId, signal);
      report('resolve', 'done');
    } catch (err) {
      report('resolve', 'failed');
      throw err;
    }

    const key = `${host.host}:${host.port}:${host.user}:${host.auth.type === 'keyFile' ? host.auth.path : 'agent'}`;
    let conn = this.connections.get(key);
    if (!conn || conn.isClosed) {
      conn = await SshConnection.open(
        {
          host: host.host,
          port: host.port,
          user: host.user,
          identity,
          verifyHostKey: (blob) => this.verifyHostKey(host, blob, peer, args.requestId, signal),
        },
        report,
        signal,
      );
      const opened = conn;
      this.connections.set(key, opened);
      opened.onClose(() => {
        if (this.connections.get(key) === opened) this.connections.delete(key);
      });
    }
    return this.attach(conn, args, ctx, report, host.id);
  }

  /**
   * Opens a shell tab on a connection (made here, or by the EC2 connect engine). The session
   * holds one reference to the connection; closing the tab releases it.
   */
  async attach(
    conn: SshConnection,
    args: { requestId: string; cols: number; rows: number },
    ctx: CallContext,
    report: (step: ConnectStep, status: 'start' | 'done' | 'failed') => void,
    hostLabel: string,
    /**
     * When given, a connection that drops with a retryable reason is replaced through it and a new
     * shell opened in the same session (state `reconnecting`, then `connected`), instead of closing.
     */
    reconnect?: (signal: AbortSignal) => Promise<SshConnection>,
  ): Promise<{ sessionId: string }> {
    const { peer, signal } = ctx;
    /** Stops a reconnect in progress when the tab is closed. */
    const closing = new AbortController();
    conn.ref();

    report('shell', 'start');
    let channel: TerminalChannel;
    try {
      const raw = await conn.shell({ term: 'xterm-256color', cols: args.cols, rows: args.rows, width: 0, height: 0 });
      if (signal.aborted) {
        raw.close();
        fail('Cancelled', 'The connection was cancelled.');
      }
      const sessionId = `s${this.nextId++}`;
      const channelFor = (rawChannel: typeof raw): TerminalChannel => {
        const made: TerminalChannel = new TerminalChannel(
          rawChannel,
          (data) => peer.emit('session.data', { sessionId, data }),
          () => {
            const end = () => {
              // A channel replaced (or being replaced) by a reconnect ends quietly.
              if (reconnecting || this.sessions.get(sessionId)?.channel !== made) return;
              peer.emit('session.state', { sessionId, state: 'closed' });
              // The shell ended (exit, or the connection dropped): the renderer does not close a
              // closed tab's session, so free it here, or its connection would stay open for good.
              this.sessions.get(sessionId)?.dispose();
            };
            // With a reconnect, let the connection say first whether it dropped.
            if (reconnect) setImmediate(end);
            else end();
          },
        );
        return made;
      };
      channel = channelFor(raw);
      let connection = conn;
      let reconnecting = false;
      const watch = (c: SshConnection) =>
        c.onClose((reason) => {
          if (reconnect && reason?.retryable && this.sessions.has(sessionId)) {
            reconnecting = true;
            peer.emit('session.state', { sessionId, state: 'reconnecting', error: reason.toData() });
            void replace(reason);
            return;
          }
          peer.emit('session.state', reason ? { sessionId, state: 'closed', error: reason.toData() } : { sessionId, state: 'closed' });
        });
      let stopWatching = watch(connection);
      const replace = async (reason: KeylessFailure) => {
        try {
          const next = await reconnect!(closing.signal);
          next.ref();
          const rawNext = await next.shell({ term: 'xterm-256color', cols: session.size.cols, rows: session.size.rows, width: 0, height: 0 }).catch((err: unknown) => {
            next.release();
            throw err;
          });
          if (!this.sessions.has(sessionId)) {
            rawNext.close();
            next.release();
            return;
          }
          const old = { channel: session.channel, connection, stopWatching };
          session.channel = channelFor(rawNext);
          connection = next;
          stopWatching = watch(next);
          reconnecting = false;
          old.stopWatching();
          old.channel.dispose();
          old.connection.release();
          if (session.recording) session.channel.tap = { output: (t) => session.recording?.output(t), input: (t) => session.recording?.input(t) };
          peer.emit('session.state', { sessionId, state: 'connected' });
          this.deps.log.info('session reconnected', { session: sessionId, host: hostLabel, after: reason.code });
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
        channel,
        size: { cols: args.cols, rows: args.rows },
        recording: undefined,
        dispose: () => {
          if (!this.sessions.delete(sessionId)) return;
          closing.abort();
          peer.owned.delete(ownership);
          stopWatching();
          this.endRecording(peer, sessionId, session);
          session.channel.dispose();
          connection.release();
        },
      };
      this.sessions.set(sessionId, session);
      peer.owned.add(ownership);
      const plan = this.recordOnOpen.get(`${peer.peerId}/${args.requestId}`);
      if (plan) this.beginRecording(peer, sessionId, session, plan);
      report('shell', 'done');
      peer.emit('session.state', { sessionId, state: 'connected' });
      this.deps.log.info('session opened', { session: sessionId, host: hostLabel });
      return { sessionId };
    } catch (err) {
      report('shell', 'failed');
      conn.release();
      throw err;
    }
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
  ack(peer: PeerContext, sessionId: string, bytes: number): void {
    this.get(peer, sessionId).channel.ack(bytes);
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
  get connectionCount(): number {
    return this.connections.size;
  }

  dispose(): void {
    for (const s of [...this.sessions.values()]) s.dispose();
    for (const c of this.connections.values()) c.end();
    this.connections.clear();
  }

  /** A session is reachable only by the renderer that opened it. */
  private get(peer: PeerContext, sessionId: string): Session {
    const s = this.sessions.get(sessionId);
    if (!s || s.peerId !== peer.peerId) fail('NotFound', 'That terminal session is not open.', { sessionId });
    return s;
  }

  private async identityFor(host: SavedHost, peer: PeerContext, requestId: string, signal: AbortSignal): Promise<SshIdentity> {
    if (host.auth.type === 'agent') {
      if (!this.deps.agentSocket) {
        fail('AgentUnavailable', 'No SSH agent is running (SSH_AUTH_SOCK is not set). Start one and add your key, or use a key file.');
      }
      return { kind: 'agent', socket: this.deps.agentSocket };
    }
    const path = host.auth.path.startsWith('~/') ? join(homedir(), host.auth.path.slice(2)) : host.auth.path;
    let data: Buffer;
    try {
      data = await readRegularFile(path, READ_LIMITS.keyFile);
    } catch (err) {
      if (err instanceof FileRefusal) throw err;
      fail('KeyFileUnreadable', `The key file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { path });
    }
    const plain = ssh2.utils.parseKey(data);
    if (!(plain instanceof Error)) return { kind: 'key', privateKey: data };
    if (!/encrypted|passphrase/i.test(plain.message)) {
      fail('KeyFileUnreadable', `${path} is not a private key Keyless can use: ${plain.message}.`, { path });
    }
    for (let attempt = 0; attempt < MAX_PASSPHRASE_TRIES; attempt++) {
      const answer = await this.deps.prompts.ask(peer, { kind: 'passphrase', requestId, keyPath: path, retry: attempt > 0 }, signal);
      if (typeof answer !== 'string') fail('Cancelled', 'No passphrase was given.');
      if (!(ssh2.utils.parseKey(data, answer) instanceof Error)) return { kind: 'key', privateKey: data, passphrase: answer };
    }
    fail('PassphraseWrong', `The passphrase for ${path} was wrong ${MAX_PASSPHRASE_TRIES} times.`, { path });
  }

  private async verifyHostKey(host: SavedHost, blob: Buffer, peer: PeerContext, requestId: string, signal: AbortSignal): Promise<void> {
    const verdict = await this.deps.knownHosts.verify(host.host, host.port, blob);
    const fingerprint = fingerprintSha256(blob);
    const keyType = keyTypeOf(blob);
    switch (verdict.kind) {
      case 'known':
        return;
      case 'revoked':
        fail('HostKeyRevoked', `The host key of ${host.host} (${fingerprint}) is marked revoked in ${verdict.file}.`, { host: host.host, fingerprint });
      // eslint-disable-next-line no-fallthrough
      case 'changed':
        fail(
          'HostKeyMismatch',
          `The host key of ${host.host} has changed: it was ${verdict.knownFingerprint} and is now ${fingerprint}.`,
          { host: host.host, port: host.port, keyType, fingerprint, knownFingerprint: verdict.knownFingerprint, file: verdict.file, line: verdict.line },
        );
      // eslint-disable-next-line no-fallthrough
      case 'otherType':
      case 'unknown': {
        const key = { host: host.host, port: host.port, keyType, fingerprint };
        // A new key type beside known ones is never asked as a first meeting: the question names the keys on record.
        const answer = await this.deps.prompts.ask(
          peer,
          verdict.kind === 'otherType' ? { kind: 'hostKeyTypeChanged', requestId, key, known: verdict.known } : { kind: 'hostKeyUnknown', requestId, key },
          signal,
        );
        if (answer !== true) {
          throw new KeylessFailure('HostKeyRejected', `The host key of ${host.host} (${fingerprint}) was not accepted.`, false, { host: host.host, fingerprint });
        }
        await this.deps.knownHosts.add(host.host, host.port, blob);
      }
    }
  }
}
