import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { KeylessFailure } from '../base/errors';
import type { Disposable } from '../base/lifecycle';

/**
 * A listener on 127.0.0.1 (never another interface) that carries each accepted connection over a
 * stream of its own: an EICE tunnel per connection, like `aws ec2-instance-connect open-tunnel
 * --local-port`, or an SSH channel. The accepted socket is paused until its stream is open, so
 * nothing the client sends first is lost.
 */
export class LocalForward implements Disposable {
  private readonly live = new Set<{ socket: Socket; stream?: Duplex }>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly localPort: number,
    private readonly openStream: (signal: AbortSignal) => Promise<Duplex>,
    private readonly onStreamError: (err: unknown) => void,
    private readonly halfClose: boolean,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /**
   * `halfClose: false` (an EICE tunnel, which has no half-close): when the local client stops
   * sending, the stream stays open so the answer still arrives; it closes with the socket.
   */
  static listen(
    localPort: number,
    openStream: (signal: AbortSignal) => Promise<Duplex>,
    onStreamError: (err: unknown) => void = () => {},
    opts: { halfClose?: boolean } = {},
  ): Promise<LocalForward> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new KeylessFailure(
            err.code === 'EADDRINUSE' ? 'ConnectionRefused' : 'NetworkError',
            err.code === 'EADDRINUSE' ? `Local port ${localPort} is already in use; pick another.` : `Could not listen on 127.0.0.1:${localPort} (${err.code ?? err.message}).`,
            false,
            { port: localPort },
          ),
        );
      });
      server.listen(localPort, '127.0.0.1', () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve(new LocalForward(server, (server.address() as { port: number }).port, openStream, onStreamError, opts.halfClose ?? true));
      });
    });
  }

  /** Connections being carried now. */
  get active(): number {
    return this.live.size;
  }

  private accept(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    const entry: { socket: Socket; stream?: Duplex } = { socket };
    this.live.add(entry);
    const ac = new AbortController();
    socket.setNoDelay(true);
    const end = () => {
      if (!this.live.delete(entry)) return;
      ac.abort();
      socket.destroy();
      entry.stream?.destroy();
    };
    socket.once('close', end);
    socket.on('error', end);
    this.openStream(ac.signal).then(
      (stream) => {
        if (!this.live.has(entry)) return void stream.destroy();
        entry.stream = stream;
        stream.on('error', (err) => {
          this.onStreamError(err);
          end();
        });
        stream.once('close', end);
        socket.pipe(stream, { end: this.halfClose });
        stream.pipe(socket);
        socket.resume();
      },
      (err: unknown) => {
        this.onStreamError(err);
        end();
      },
    );
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const e of [...this.live]) {
      e.socket.destroy();
      e.stream?.destroy();
    }
    this.live.clear();
  }
}
