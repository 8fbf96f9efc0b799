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
  /** Accepted connections waiting for a stream of their own (at `maxStreams`), in order; the others in `live` hold one. */
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly localPort: number,
    private readonly openStream: (signal: AbortSignal) => Promise<Duplex>,
    private readonly onStreamError: (err: unknown) => void,
    private readonly halfClose: boolean,
    private readonly maxStreams: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /**
   * `halfClose: false` (an EICE tunnel, which has no half-close): when the local client stops
   * sending, the stream stays open so the answer still arrives; it closes with the socket.
   * `maxStreams`: connections carried at once; the next ones wait, paused, for one to end (each
   * EICE tunnel takes one of the endpoint's 20 slots, shared with terminals and transfers).
   */
  static listen(
    localPort: number,
    openStream: (signal: AbortSignal) => Promise<Duplex>,
    onStreamError: (err: unknown) => void = () => {},
    opts: { halfClose?: boolean; maxStreams?: number } = {},
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
        resolve(new LocalForward(server, (server.address() as { port: number }).port, openStream, onStreamError, opts.halfClose ?? true, opts.maxStreams ?? Infinity));
      });
    });
  }

  /** Connections accepted and not yet closed (carried, or waiting for a stream). */
  get active(): number {
    return this.live.size;
  }

  private accept(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    const room = this.live.size - this.waiting.length < this.maxStreams;
    const entry: { socket: Socket; stream?: Duplex } = { socket };
    this.live.add(entry);
    const ac = new AbortController();
    socket.setNoDelay(true);
    const end = () => {
      if (!this.live.delete(entry)) return;
      ac.abort();
      socket.destroy();
      entry.stream?.destroy();
      // A waiting connection leaves the queue; one that held a stream hands it to the next.
      const i = this.waiting.indexOf(start);
      if (i >= 0) this.waiting.splice(i, 1);
      else this.waiting.shift()?.();
    };
    socket.once('close', end);
    socket.on('error', end);
    const start = () => this.carry(entry, ac.signal, end);
    if (room) start();
    else this.waiting.push(start);
  }

  private carry(entry: { socket: Socket; stream?: Duplex }, signal: AbortSignal, end: () => void): void {
    const { socket } = entry;
    this.openStream(signal).then(
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
    this.waiting.length = 0;
  }
}
