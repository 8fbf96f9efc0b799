import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { KeylessFailure } from '../base/errors';
import { InstanceConnector } from '../connect/instance-connector';
import { pushKey, REPUSH_AFTER_MS, type KeyPushTarget } from '../connect/key-push';
import { agentAddress, agentName, openAgentPlace, releaseAgent, takeAgent } from './agent-socket';
import type { BridgeContext } from './bridge-context';

export interface ProxyArgs {
  user: string;
  host: string;
  port: number;
}

export interface ProxyIo {
  stdin: Readable;
  stdout: Writable;
  /** Resolves when OpenSSH is gone (it sends the proxy SIGHUP when it exits). */
  hangup: Promise<void>;
}

/** How the proxy ended, for the exit status. */
export type ProxyEnd = { ok: true } | { ok: false; error: unknown };

/**
 * `keyless proxy %r %h %p`, OpenSSH's ProxyCommand: resolves the host, makes (or, when another
 * proxy to the same host is running, borrows) the key its agent socket serves, pushes it ‖ opens
 * the tunnel (or TCP connection) the planner chose, and relays OpenSSH's bytes over it. The agent
 * pushes again before listing its key when the last push is older than 45 s (a late
 * authentication), and stays up while other proxies hold it.
 */
export async function runProxy(ctx: BridgeContext, args: ProxyArgs, io: ProxyIo): Promise<ProxyEnd> {
  const abort = new AbortController();
  const { signal } = abort;
  agentName(args.user, args.host, args.port);
  // Resolving reads two small files; the agent folder's check and the person's secret come beside it.
  const [{ target }, { place, secret }] = await Promise.all([ctx.resolve(args.host, args.user, args.port), openAgentPlace(ctx.paths.agentDir)]);
  const address = agentAddress(place, args.user, args.host, args.port);
  const connector = new InstanceConnector({ clients: ctx.clients, inventory: ctx.inventory, knownHosts: ctx.knownHosts, log: ctx.log });
  const planned = connector.plan(target);
  planned.catch(() => {});

  let pushTarget: Promise<KeyPushTarget> = planned.then(({ instance, osUser }) => ({
    profile: target.profile,
    region: target.region,
    instanceId: target.instanceId,
    osUser,
    ...(instance.availabilityZone ? { availabilityZone: instance.availabilityZone } : {}),
  }));
  let lastPush: Promise<number> | undefined;
  const push = (publicKey: string) => {
    lastPush = pushTarget.then((t) => pushKey(ctx.clients, t, publicKey, signal));
    lastPush.catch(() => {});
    return lastPush;
  };

  // The tunnel (or TCP connection) opens while the agent is set up: neither waits for the other.
  const opening = planned.then(({ plan }): Promise<Duplex> => (plan.kind === 'eice' ? connector.openTunnel(target, plan, plan.port, signal) : tcp(plan.address, plan.port)));
  opening.catch(() => {});
  const dropOpening = () => {
    abort.abort();
    void opening.then((s) => s.destroy(), () => {});
  };

  // The push starts as soon as the key is made, when no other proxy's agent is live (almost
  // always): it waits neither for ssh2 nor for the agent's socket.
  let early: { publicKey: string; pushed: Promise<number> } | undefined;
  const ownKey = (publicKey: string) => void (early = { publicKey, pushed: push(publicKey) });
  const role = await takeAgent({ address, pipe: place.pipes, secret }, ownKey, (publicKey) => async () => {
    // Before the agent lists its key: the push has landed, and is young enough to outlive the authentication.
    try {
      const at = await (lastPush ?? push(publicKey));
      if (Date.now() - at > REPUSH_AFTER_MS) {
        ctx.log.info('pushing the key again before a late authentication', { instance: target.instanceId });
        if (lastPush && (await lastPush) === at) await push(publicKey);
        else await lastPush;
      }
    } catch (err) {
      ctx.log.warn('the agent lists no key: its push failed', { instance: target.instanceId, code: err instanceof KeylessFailure ? err.code : String(err) });
      throw err;
    }
  }).catch((err: unknown) => {
    dropOpening();
    throw err;
  });
  const pushed = early?.publicKey === role.publicKey ? early.pushed : push(role.publicKey);

  let stream: Duplex | undefined;
  try {
    stream = await opening.catch(async (err: unknown) => {
      // A failed push says more (denied, stopped) than the tunnel that raced it.
      throw (await pushed.then(() => undefined, (e: unknown) => e)) ?? err;
    });
    // ssh2, to sign with the key, loads while OpenSSH exchanges banners and keys over the tunnel.
    if (role.kind === 'owner') role.agent.prepare().catch(() => {});
    await pushed;
    const s = stream;
    await relay(s, io);
    return { ok: true };
  } catch (err) {
    dropOpening();
    stream?.destroy();
    pushTarget = Promise.reject(err);
    pushTarget.catch(() => {});
    return { ok: false, error: err };
  } finally {
    await releaseAgent(role, io.hangup);
  }
}

function tcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port, noDelay: true });
    s.setTimeout(15_000, () => s.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    s.once('connect', () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      const where = { host, port, step: 'connect' };
      if (err.code === 'ECONNREFUSED') reject(new KeylessFailure('ConnectionRefused', `Nothing accepts SSH connections on ${host} port ${port}.`, true, where));
      else if (err.code === 'ETIMEDOUT') reject(new KeylessFailure('Timeout', `${host} port ${port} did not answer in time.`, true, where));
      else reject(new KeylessFailure('NetworkError', `The network connection to ${host} failed (${err.code ?? err.message}).`, true, where));
    });
  });
}

/** OpenSSH's bytes both ways, with back-pressure, until either side ends. */
function relay(stream: Duplex, io: ProxyIo): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      io.stdin.unpipe(stream);
      stream.unpipe(io.stdout);
      io.stdout.end();
      if (err) reject(err instanceof KeylessFailure ? err : new KeylessFailure('TunnelClosed', err instanceof Error ? err.message : String(err), true));
      else resolve();
    };
    io.stdin.pipe(stream);
    stream.pipe(io.stdout, { end: false });
    let answered = false;
    stream.once('data', () => (answered = true));
    // Closed before the host said a word: say so, rather than leave ssh to say "Connection closed by UNKNOWN".
    const ended = () =>
      finish(answered ? undefined : new KeylessFailure('TunnelClosed', 'the connection closed before the host answered.', true, { step: 'connect' }));
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', (err) => finish(err));
    io.stdin.once('end', () => {
      // OpenSSH closed its side: the remote may still be sending (its exit status); wait for it.
      stream.end();
    });
    void io.hangup.then(() => {
      stream.destroy();
      finish();
    });
  });
}
