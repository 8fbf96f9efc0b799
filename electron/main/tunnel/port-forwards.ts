import type { Duplex } from 'node:stream';
import type { ForwardInfo, KeylessError } from '../../contract';
import { fail, toKeylessError } from '../base/errors';
import { DisposableMap, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { PeerContext } from '../rpc/contract-server';
import { LocalForward } from './local-forward';

/** An SSH connection lent to a forward (a pool lease): channels on it, told when it drops. */
export interface ForwardConnection extends Disposable {
  forwardOut(srcPort: number, dstHost: string, dstPort: number): Promise<Duplex>;
  onDrop(listener: (reason?: { toData(): KeylessError }) => void): () => void;
  readonly isClosed: boolean;
}

/** What a forward asks of the connect layer. */
export interface ForwardRoutes {
  /** The host's pooled SSH connection (a lease, given back when the forward stops). */
  borrow(signal: AbortSignal): Promise<ForwardConnection>;
  /** Instance Connect Endpoint tunnels straight to the instance's port (EC2 instances only), and the address they reach. */
  endpointTunnel(port: number): Promise<{ address: string; open: (signal: AbortSignal) => Promise<Duplex> }>;
}

export interface ForwardRequest {
  kind: 'ssh' | 'eice';
  localPort: number;
  remoteHost?: string | undefined;
  remotePort: number;
  /** The instance id or the host's name, as the sheet lists it. */
  label: string;
}

interface Forward extends Disposable {
  readonly peerId: string;
  readonly info: ForwardInfo;
}

/**
 * Tunnels one EICE forward holds at once: half an endpoint's 20 (TUNNELS_PER_ENDPOINT, which the
 * connection layer above keeps to), so a forward's connections (a burst of scp, say) never take
 * every slot from the terminals and transfers on the same endpoint. The next connections wait,
 * paused, for one of its own to end.
 */
export const EICE_FORWARD_TUNNELS = 10;

/**
 * Local port forwards, owned by the renderer that started them: a listener on 127.0.0.1 whose
 * connections go through the host's pooled SSH connection (`ssh`), or each through an endpoint
 * tunnel of its own (`eice`, like `aws ec2-instance-connect open-tunnel --local-port`).
 */
export class PortForwards implements Disposable {
  private readonly forwards = new DisposableMap<string, Forward>();
  private next = 1;

  constructor(private readonly log: Logger) {}

  async open(req: ForwardRequest, routes: ForwardRoutes, peer: PeerContext, signal: AbortSignal): Promise<ForwardInfo> {
    const forwardId = `f${this.next++}`;
    const failed = (err: unknown) => this.log.warn('forwarded connection failed', { forward: forwardId, code: toKeylessError(err).code });
    let listener: LocalForward;
    let remoteHost: string;
    let connection: ForwardConnection | undefined;
    if (req.kind === 'eice') {
      const tunnels = await routes.endpointTunnel(req.remotePort);
      remoteHost = tunnels.address;
      listener = await LocalForward.listen(req.localPort, tunnels.open, failed, { halfClose: false, maxStreams: EICE_FORWARD_TUNNELS });
    } else {
      const conn = (connection = await routes.borrow(signal));
      const host = (remoteHost = req.remoteHost ?? 'localhost');
      try {
        listener = await LocalForward.listen(
          req.localPort,
          async () => {
            if (conn.isClosed) fail('SessionClosed', `The SSH connection to ${req.label} has closed.`);
            return conn.forwardOut(0, host, req.remotePort);
          },
          failed,
        );
      } catch (err) {
        conn.dispose();
        throw err;
      }
      // A drop while the listener was starting came before anyone watched for it: the forward would
      // stay listed on a connection that is gone.
      if (conn.isClosed) {
        listener.dispose();
        conn.dispose();
        fail('SessionClosed', `The SSH connection to ${req.label} closed while the forward was starting.`);
      }
    }
    const info = (): ForwardInfo => ({
      forwardId,
      kind: req.kind,
      instanceId: req.label,
      localAddress: '127.0.0.1',
      localPort: listener.localPort,
      remoteHost,
      remotePort: req.remotePort,
      active: listener.active,
    });
    const ownership = { dispose: () => this.forwards.deleteAndDispose(forwardId) };
    const stopWatching = connection?.onDrop((reason) => {
      if (!this.forwards.has(forwardId)) return;
      peer.emit('forward.closed', reason ? { forwardId, error: reason.toData() } : { forwardId });
      this.forwards.deleteAndDispose(forwardId);
    });
    this.forwards.set(forwardId, {
      peerId: peer.peerId,
      get info() {
        return info();
      },
      dispose: () => {
        peer.owned.delete(ownership);
        stopWatching?.();
        listener.dispose();
        connection?.dispose();
      },
    });
    peer.owned.add(ownership);
    this.log.info('port forward opened', { forward: forwardId, kind: req.kind, to: req.label, localPort: listener.localPort, remotePort: req.remotePort });
    return info();
  }

  list(peer: PeerContext): ForwardInfo[] {
    return [...this.forwards.values()].filter((f) => f.peerId === peer.peerId).map((f) => f.info);
  }

  close(peer: PeerContext, forwardId: string): void {
    const f = this.forwards.get(forwardId);
    if (!f || f.peerId !== peer.peerId) fail('NotFound', 'That port forward is not open.', { forwardId });
    this.forwards.deleteAndDispose(forwardId);
  }

  dispose(): void {
    this.forwards.dispose();
  }
}
