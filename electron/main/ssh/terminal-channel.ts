import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { Disposable } from '../base/lifecycle';

/**
 * The renderer's window: bytes of output sent but not yet parsed by xterm.js never exceed it.
 * Output travels as bytes (UTF-8 as sshd sent it) and xterm.js decodes it, so the window is
 * counted in bytes, like the SSH window behind it. 256 KiB keeps xterm.js fed while acks travel
 * (`npm run bench -- terminal`: 100 KB gave ~42 % of xterm.js alone, 256 KiB ~51 %) and bounds
 * what a keystroke's echo in another tab can queue behind on the shared transport (echo p95 24–29
 * ms beside a flood; 512 KiB gained nothing more and pushed that to 38–151 ms).
 */
export const HIGH_WATERMARK = 256 * 1024;
/**
 * Main's own reserve of output received but not yet sent: the ssh2 channel is paused when it
 * passes RESERVE_HIGH bytes and resumed when it falls below RESERVE_LOW. With a reserve,
 * an acknowledgement is answered at once with the next message; pausing on the renderer's
 * window instead (resume below a low watermark of unacked output) made the renderer drain its
 * whole window every cycle while sshd was asked for more.
 */
export const RESERVE_HIGH = 512 * 1024;
export const RESERVE_LOW = 256 * 1024;
/**
 * Output is gathered this long into one message, so a flood is a few large messages, not many
 * small ones. The first output after a quiet moment (the echo of a keystroke) is sent at once.
 */
export const COALESCE_MS = 5;
/**
 * The largest single message. Several messages in flight keep xterm.js busy while the
 * acknowledgement of the previous one travels back, instead of one HIGH_WATERMARK-sized message
 * followed by an idle round trip; the renderer acks every quarter window (ACK_NOW_BYTES there).
 */
export const MESSAGE_BYTES = 64 * 1024;
/**
 * How much ssh2 may hold unread for a paused channel before it stops granting window to sshd.
 * ssh2's default (2 MiB) would let a flood queue seconds of output behind a Ctrl-C.
 */
export const CHANNEL_READ_BUFFER = 64 * 1024;

export interface FlowCounters {
  unacked: number;
  maxUnacked: number;
  pauses: number;
  sentBytes: number;
}

/**
 * A shell channel's output side with back-pressure: output is coalesced and sent, as the bytes
 * sshd sent, while the renderer is less than HIGH_WATERMARK bytes behind; the rest waits in
 * main's reserve, and when that passes RESERVE_HIGH the ssh2 channel is paused, so the SSH
 * window closes and sshd stops reading from the program. A character whose bytes straddle two
 * messages is put together again by xterm.js's UTF-8 decoder, which keeps state between writes.
 */
export class TerminalChannel implements Disposable {
  /** Output waiting to be sent, oldest first, and its length in bytes. */
  private chunks: Buffer[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private disposed = false;
  /** When output was last sent (performance.now()). */
  private lastSendAt = -Infinity;
  /** The channel closed; `onEnd` runs once the last of its output has been sent. */
  private closed = false;
  readonly counters: FlowCounters = { unacked: 0, maxUnacked: 0, pauses: 0, sentBytes: 0 };
  private tapped: { output(text: string): void; input(text: string): void } | undefined;
  /** Decodes output to text for the tap only (recordings); made fresh when a tap is set. */
  private tapDecoder: StringDecoder | undefined;

  constructor(
    private readonly channel: ClientChannel,
    private readonly send: (data: Uint8Array) => void,
    private readonly onEnd: () => void,
  ) {
    // Node documents highWaterMark as fixed at construction; ssh2 makes its channels with 2 MiB.
    // Lowering it on the live stream makes push() report back-pressure sooner, so ssh2 stops
    // adjusting the window while we are paused.
    const state = (channel as unknown as { _readableState?: { highWaterMark: number } })._readableState;
    if (state) state.highWaterMark = CHANNEL_READ_BUFFER;
    const onData = (chunk: Buffer) => this.push(chunk);
    channel.on('data', onData);
    channel.stderr.on('data', onData);
    channel.on('close', () => {
      const rest = this.tapDecoder?.end();
      if (rest) this.tapped?.output(rest);
      this.closed = true;
      this.flush();
    });
  }

  /** Sees every piece of output (as text) as it arrives and every write, in order (recordings). */
  get tap(): { output(text: string): void; input(text: string): void } | undefined {
    return this.tapped;
  }
  set tap(t: { output(text: string): void; input(text: string): void } | undefined) {
    this.tapped = t;
    this.tapDecoder = t ? new StringDecoder('utf8') : undefined;
  }

  write(data: string): void {
    if (this.disposed) return;
    this.channel.write(data);
    this.tapped?.input(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.disposed) this.channel.setWindow(rows, cols, 0, 0);
  }

  ack(bytes: number): void {
    this.counters.unacked = Math.max(0, this.counters.unacked - bytes);
    this.flush();
    if (this.paused && this.queued < RESERVE_LOW) {
      this.paused = false;
      this.channel.resume();
    }
  }

  private push(chunk: Buffer): void {
    if (!chunk.length || this.disposed) return;
    if (this.tapDecoder) {
      const text = this.tapDecoder.write(chunk);
      if (text) this.tapped?.output(text);
    }
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (!this.paused && this.queued > RESERVE_HIGH) {
      this.paused = true;
      this.counters.pauses++;
      this.channel.pause();
    }
    // Coalescing is for trickles of small output; a full message's worth goes now, and so does
    // the first output after a quiet moment.
    if (this.queued >= MESSAGE_BYTES || (!this.timer && performance.now() - this.lastSendAt >= COALESCE_MS)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  /** The next `n` bytes of the queue as one buffer (copied only when they span chunks). */
  private take(n: number): Buffer {
    this.queued -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) return this.chunks.shift()!;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const part = Math.min(c.length, n - at);
      c.copy(out, at, 0, part);
      at += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    return out;
  }

  /** Sends what fits under the high watermark, in messages of at most MESSAGE_BYTES; the rest waits for acknowledgements. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.counters;
    while (this.queued > 0 && !this.disposed) {
      const n = Math.min(HIGH_WATERMARK - c.unacked, MESSAGE_BYTES, this.queued);
      if (n <= 0) break;
      const data = this.take(n);
      c.unacked += n;
      c.sentBytes += n;
      c.maxUnacked = Math.max(c.maxUnacked, c.unacked);
      this.lastSendAt = performance.now();
      this.send(data);
    }
    if (this.closed && this.queued === 0 && !this.disposed) {
      this.closed = false;
      this.onEnd();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.chunks = [];
    this.queued = 0;
    this.channel.removeAllListeners('data');
    this.channel.stderr.removeAllListeners('data');
    this.channel.on('error', () => {});
    this.channel.close();
  }
}
