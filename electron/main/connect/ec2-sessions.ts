import { resolveSettings, type ConnectStep, type ForwardInfo, type ParsedArgs } from '../../contract';
import { KeylessFailure, fail, toKeylessError } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { CallContext, PeerContext } from '../rpc/contract-server';
import type { Prompts } from '../session/prompts';
import type { TerminalSessions } from '../session/terminal-sessions';
import type { KnownHostKey } from '../ssh/known-hosts';
import type { HostStore } from '../store/hosts';
import { LocalForward } from '../tunnel/local-forward';
import type { Ec2Connection, Ec2Target, InstanceConnector } from './instance-connector';
import { assertEicePort } from './plan';

type Reporter = (step: ConnectStep, status: 'start' | 'done' | 'failed') => void;

/** Warn this long before the endpoint cuts a tunnel at its maximum duration (at most half of it). */
export const TUNNEL_EXPIRY_WARNING_S = 60;
/** Waits between reconnect attempts (seconds), the last one repeating. */
export const RECONNECT_BACKOFF_S = [1, 2, 4, 8, 15, 30];
export const MAX_RECONNECT_ATTEMPTS = 8;

interface SharedConnection extends Disposable {
  readonly conn: Ec2Connection;
}

interface Forward extends Disposable {
  readonly peerId: string;
  readonly info: ForwardInfo;
  readonly listener: LocalForward;
}

function progressReporter(peer: PeerContext, requestId: string): Reporter {
  const started = new Map<ConnectStep, number>();
  return (step, status) => {
    if (status === 'start') started.set(step, performance.now());
    const t0 = started.get(step);
    const ms = status !== 'start' && t0 !== undefined ? Math.round(performance.now() - t0) : undefined;
    peer.emit('progress', ms === undefined ? { requestId, step, status } : { requestId, step, status, ms });
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(new KeylessFailure('Cancelled', 'Reconnecting was stopped.', true)));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Terminals and port forwards on EC2 instances. Tabs to the same instance, OS user and route
 * share one connection (ref-counted by the terminal sessions); every new authentication uses a
 * new key. A tunnel with a maximum duration warns its tabs a minute before the cut.
 */
export class Ec2Sessions implements Disposable {
  private readonly shared = new Map<string, SharedConnection>();
  private readonly pending = new Map<string, Promise<SharedConnection>>();
  private readonly forwards = new Map<string, Forward>();
  private nextForward = 1;

  constructor(
    private readonly deps: {
      connector: InstanceConnector;
      sessions: TerminalSessions;
      prompts: Prompts;
      hosts: HostStore;
      log: Logger;
    },
  ) {}

  /** Whether a saved host is an EC2 instance (so `session.open` comes here). */
  async isEc2Host(hostId: string): Promise<boolean> {
    try {
      return (await this.deps.hosts.entry(hostId)).kind === 'ec2';
    } catch {
      return false;
    }
  }

  /** The target a saved EC2 host connects to, with profile, region, user and route inherited from its groups. */
  async targetOf(hostId: string): Promise<Ec2Target> {
    const { hosts, groups } = await this.deps.hosts.tree();
    const host = hosts.find((h) => h.id === hostId) ?? fail('NotFound', `No saved host has the id ${hostId}.`, { id: hostId });
    if (host.kind !== 'ec2') fail('InvalidArguments', `${host.name} is not an EC2 instance.`, { field: 'hostId' });
    const eff = resolveSettings(host, host.groupId, groups);
    const region = eff.region.value ?? fail('InvalidArguments', `${host.name} has no region: set one on the host or one of its groups.`, { field: 'region' });
    return {
      // A profile that only comes from the default means the SDK's default chain (AWS_PROFILE…).
      ...(eff.profile.value && eff.profile.from.kind !== 'default' ? { profile: eff.profile.value } : {}),
      region,
      instanceId: host.instanceId,
      // The default user only applies when nothing says otherwise; the AMI knows better.
      ...(eff.osUser.value && eff.osUser.from.kind !== 'default' ? { osUser: eff.osUser.value } : {}),
      connectionType: eff.connectionType.value ?? 'auto',
      ...(host.endpointId ? { endpointId: host.endpointId } : {}),
      port: host.port,
      ...(host.maxTunnelDuration ? { maxTunnelDuration: host.maxTunnelDuration } : {}),
    };
  }

  /** The target of a saved host (by id) or of one given in full. */
  async resolve(where: { hostId?: string | undefined; target?: ParsedArgs<'session.openEc2'>['target'] }): Promise<Ec2Target> {
    if (where.hostId) return this.targetOf(where.hostId);
    const t = where.target!;
    return {
      ...(t.profile ? { profile: t.profile } : {}),
      region: t.region,
      instanceId: t.instanceId,
      ...(t.osUser ? { osUser: t.osUser } : {}),
      connectionType: t.connectionType,
      ...(t.endpointId ? { endpointId: t.endpointId } : {}),
      port: t.port,
      ...(t.maxTunnelDuration ? { maxTunnelDuration: t.maxTunnelDuration } : {}),
    };
  }

  /** `session.open` on a saved EC2 host. */
  async openSaved(args: ParsedArgs<'session.open'>, ctx: CallContext): Promise<{ sessionId: string }> {
    const { sessionId } = await this.openTerminal({ ...args, reconnect: false }, ctx);
    return { sessionId };
  }

  async openTerminal(args: ParsedArgs<'session.openEc2'>, ctx: CallContext): Promise<{ sessionId: string; instanceId: string; osUser: string; via: 'direct' | 'eice' }> {
    const report = progressReporter(ctx.peer, args.requestId);
    const target = await this.resolve(args);
    const shared = await this.connection(target, args.requestId, ctx, report, args.reconnect);
    let sessionId = '';
    // A dropped connection (tunnel cut, network loss) is replaced in the same tab: backoff, a fresh key.
    const reconnect = async (signal: AbortSignal) => {
      const again = await this.connection(target, args.requestId, { peer: ctx.peer, signal }, progressReporter(ctx.peer, args.requestId), true);
      this.warnBeforeCut(again.conn, ctx.peer, sessionId, target.maxTunnelDuration);
      return again.conn.ssh;
    };
    ({ sessionId } = await this.deps.sessions.attach(shared.conn.ssh, args, ctx, report, target.instanceId, reconnect));
    this.warnBeforeCut(shared.conn, ctx.peer, sessionId, target.maxTunnelDuration);
    return { sessionId, instanceId: target.instanceId, osUser: shared.conn.osUser, via: shared.conn.plan.kind };
  }

  /** Tells the tab a minute before the endpoint cuts the tunnel (halfway through a shorter one). */
  private warnBeforeCut(conn: Ec2Connection, peer: PeerContext, sessionId: string, maxTunnelDuration: number | undefined): void {
    const deadline = conn.tunnelDeadline;
    if (!deadline) return;
    const lead = Math.min(TUNNEL_EXPIRY_WARNING_S, (maxTunnelDuration ?? 0) / 2) * 1000;
    const notify = () => peer.emit('session.notice', { sessionId, kind: 'tunnelExpiring', secondsLeft: Math.max(0, Math.round((deadline - Date.now()) / 1000)) });
    const timer = setTimeout(notify, Math.max(0, deadline - Date.now() - lead));
    timer.unref();
    conn.ssh.onClose(() => clearTimeout(timer));
  }

  private key(t: Ec2Target): string {
    return [t.profile ?? '', t.region, t.instanceId, t.osUser ?? '', t.port, t.connectionType, t.endpointId ?? '', t.maxTunnelDuration ?? ''].join('|');
  }

  /** The shared connection for a target: the open one, the one being opened, or a new one. */
  private async connection(target: Ec2Target, requestId: string, ctx: CallContext, report: Reporter, reconnect: boolean): Promise<SharedConnection> {
    const key = this.key(target);
    const open = this.shared.get(key);
    if (open && !open.conn.ssh.isClosed) return open;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const p = this.connectWithRetry(target, requestId, ctx, report, reconnect).then((conn) => {
      const entry: SharedConnection = { conn, dispose: () => conn.ssh.end() };
      this.shared.set(key, entry);
      conn.ssh.onClose((reason) => {
        if (this.shared.get(key) === entry) this.shared.delete(key);
        this.deps.log.info('instance connection closed', { instance: target.instanceId, reason: reason?.code });
      });
      return entry;
    });
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  /** One attempt, or with `reconnect` retries of retryable failures with backoff, each with a fresh key. */
  async connectWithRetry(target: Ec2Target, requestId: string, ctx: CallContext, report: Reporter, reconnect: boolean): Promise<Ec2Connection> {
    const hooks = {
      report,
      signal: ctx.signal,
      askHostKey: async (key: { host: string; port: number; keyType: string; fingerprint: string }, known?: KnownHostKey[]) =>
        (await this.deps.prompts.ask(ctx.peer, known?.length ? { kind: 'hostKeyTypeChanged', requestId, key, known } : { kind: 'hostKeyUnknown', requestId, key }, ctx.signal)) === true,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.connector.connect(target, hooks);
      } catch (err) {
        const e = err instanceof KeylessFailure ? err : undefined;
        if (!reconnect || !e?.retryable || e.code === 'Cancelled' || attempt + 1 >= MAX_RECONNECT_ATTEMPTS || ctx.signal.aborted) throw err;
        const wait = RECONNECT_BACKOFF_S[Math.min(attempt, RECONNECT_BACKOFF_S.length - 1)]!;
        this.deps.log.info('reconnect attempt failed', { instance: target.instanceId, attempt: attempt + 1, code: e.code, retryInS: wait });
        await sleep(wait * 1000, ctx.signal);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Port forwards
  // ---------------------------------------------------------------------------------------------

  async openForward(args: ParsedArgs<'forward.open'>, ctx: CallContext): Promise<ForwardInfo> {
    const { connector } = this.deps;
    const target = await this.resolve(args);
    const forwardId = `f${this.nextForward++}`;
    const report = progressReporter(ctx.peer, args.requestId);
    let listener: LocalForward;
    let remoteHost: string;
    let release: () => void = () => {};
    if (args.kind === 'eice') {
      // Checked before anything else: an endpoint tunnels to 22 and 3389 only.
      assertEicePort(args.remotePort);
      report('resolve', 'start');
      const { plan } = await connector.plan({ ...target, connectionType: 'eice', port: args.remotePort }).catch((err: unknown) => {
        report('resolve', 'failed');
        throw err;
      });
      report('resolve', 'done');
      if (plan.kind !== 'eice') fail('NoEndpoint', `${target.instanceId} cannot be reached through an endpoint.`);
      remoteHost = plan.address;
      listener = await LocalForward.listen(
        args.localPort,
        (signal) => connector.openTunnel(target, plan, args.remotePort, signal),
        (err) => this.deps.log.warn('forwarded connection failed', { forward: forwardId, code: toKeylessError(err).code }),
        { halfClose: false },
      );
    } else {
      const shared = await this.connection({ ...target }, args.requestId, ctx, report, false);
      const ssh = shared.conn.ssh;
      ssh.ref();
      release = () => ssh.release();
      remoteHost = args.remoteHost ?? 'localhost';
      const host = remoteHost;
      try {
        listener = await LocalForward.listen(
          args.localPort,
          async () => {
            if (ssh.isClosed) fail('SessionClosed', `The SSH connection to ${target.instanceId} has closed.`);
            return ssh.forwardOut(0, host, args.remotePort);
          },
          (err) => this.deps.log.warn('forwarded connection failed', { forward: forwardId, code: toKeylessError(err).code }),
        );
      } catch (err) {
        release();
        throw err;
      }
      ssh.onClose((reason) => {
        if (!this.forwards.has(forwardId)) return;
        ctx.peer.emit('forward.closed', reason ? { forwardId, error: reason.toData() } : { forwardId });
        this.forwards.get(forwardId)?.dispose();
      });
    }
    const info = (): ForwardInfo => ({
      forwardId,
      kind: args.kind,
      instanceId: target.instanceId,
      localAddress: '127.0.0.1',
      localPort: listener.localPort,
      remoteHost,
      remotePort: args.remotePort,
      active: listener.active,
    });
    const ownership = { dispose: () => forward.dispose() };
    const forward: Forward = {
      peerId: ctx.peer.peerId,
      listener,
      get info() {
        return info();
      },
      dispose: () => {
        if (!this.forwards.delete(forwardId)) return;
        ctx.peer.owned.delete(ownership);
        listener.dispose();
        release();
      },
    };
    this.forwards.set(forwardId, forward);
    ctx.peer.owned.add(ownership);
    this.deps.log.info('port forward opened', { forward: forwardId, kind: args.kind, instance: target.instanceId, localPort: listener.localPort, remotePort: args.remotePort });
    return info();
  }

  listForwards(peer: PeerContext): ForwardInfo[] {
    return [...this.forwards.values()].filter((f) => f.peerId === peer.peerId).map((f) => f.info);
  }

  closeForward(peer: PeerContext, forwardId: string): void {
    const f = this.forwards.get(forwardId);
    if (!f || f.peerId !== peer.peerId) fail('NotFound', 'That port forward is not open.', { forwardId });
    f.dispose();
  }

  dispose(): void {
    for (const f of [...this.forwards.values()]) f.dispose();
    for (const s of [...this.shared.values()]) s.dispose();
    this.shared.clear();
  }
}
