import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { Disposable } from '../base/lifecycle';

/** The renderer's window: characters of output sent but not yet parsed by xterm.js never exceed it. */
export const HIGH_WATERMARK = 100_000;
/**
 * Main's own reserve of output received but not yet sent: the ssh2 channel is paused when it
 * passes RESERVE_HIGH characters and resumed when it falls below RESERVE_LOW. With a reserve,
 * an acknowledgement is answered at once with the next message; pausing on the renderer's
 * window instead (resume below a low watermark of unacked output) made the renderer drain its
 * whole window every cycle while sshd was asked for more.
 */
export const RESERVE_HIGH = 256 * 1024;
export const RESERVE_LOW = 128 * 1024;
/**
 * Output is gathered this long into one message, so a flood is a few large messages, not many
 * small ones. The first output after a quiet moment (the echo of a keystroke) is sent at once.
 */
export const COALESCE_MS = 5;
/**
 * The largest single message. Several smaller messages in flight keep xterm.js busy while the
 * acknowledgement of the previous one travels back, instead of one HIGH_WATERMARK-sized message
 * followed by an idle round trip.
 */
export const MESSAGE_CHARS = 32 * 1024;
/**
 * How much ssh2 may hold unread for a paused channel before it stops granting window to sshd.
 * ssh2's default (2 MiB) would let a flood queue seconds of output behind a Ctrl-C.
 */
export const CHANNEL_READ_BUFFER = 64 * 1024;

export interface FlowCounters {
  unacked: number;
  maxUnacked: number;
  pauses: number;
  sentChars: number;
}

/**
 * A shell channel's output side with back-pressure: output is decoded to text on character
 * boundaries, coalesced, and sent while the renderer is less than HIGH_WATERMARK behind; the
 * rest waits in main's reserve, and when that passes RESERVE_HIGH the ssh2 channel is paused,
 * so the SSH window closes and sshd stops reading from the program.
 */
export class TerminalChannel implements Disposable {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private disposed = false;
  /** When output was last sent (performance.now()). */
  private lastSendAt = -Infinity;
  /** The channel closed; `onEnd` runs once the last of its output has been sent. */
  private closed = false;
  readonly counters: FlowCounters = { unacked: 0, maxUnacked: 0, pauses: 0, sentChars: 0 };
  /** Sees every piece of output as it arrives and every write, in order (recordings). */
  tap: { output(text: string): void; input(text: string): void } | undefined;

  constructor(
    private readonly channel: ClientChannel,
    private readonly send: (data: string) => void,
    private readonly onEnd: () => void,
  ) {
    // Node documents highWaterMark as fixed at construction; ssh2 makes its channels with 2 MiB.
    // Lowering it on the live stream makes push() report back-pressure sooner, so ssh2 stops
    // adjusting the window while we are paused.
    const state = (channel as unknown as { _readableState?: { highWaterMark: number } })._readableState;
    if (state) state.highWaterMark = CHANNEL_READ_BUFFER;
    const onData = (chunk: Buffer) => this.push(this.decoder.write(chunk));
    channel.on('data', onData);
    channel.stderr.on('data', onData);
    channel.on('close', () => {
      this.push(this.decoder.end());
      this.closed = true;
      this.flush();
    });
  }

  write(data: string): void {
    if (this.disposed) return;
    this.channel.write(data);
    this.tap?.input(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.disposed) this.channel.setWindow(rows, cols, 0, 0);
  }

  ack(chars: number): void {
    this.counters.unacked = Math.max(0, this.counters.unacked - chars);
    this.flush();
    if (this.paused && this.buffer.length < RESERVE_LOW) {
      this.paused = false;
      this.channel.resume();
    }
  }

  private push(text: string): void {
    if (!text || this.disposed) return;
    this.tap?.output(text);
    this.buffer += text;
    if (!this.paused && this.buffer.length > RESERVE_HIGH) {
      this.paused = true;
      this.counters.pauses++;
      this.channel.pause();
    }
    // Coalescing is for trickles of small output; a full message's worth goes now, and so does
    // the first output after a quiet moment.
    if (this.buffer.length >= MESSAGE_CHARS || (!this.timer && performance.now() - this.lastSendAt >= COALESCE_MS)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  /** Sends what fits under the high watermark, in messages of at most MESSAGE_CHARS; the rest waits for acknowledgements. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.counters;
    while (this.buffer && !this.disposed) {
      const room = HIGH_WATERMARK - c.unacked;
      let take = Math.min(room, MESSAGE_CHARS, this.buffer.length);
      // Never split a surrogate pair across two messages.
      if (take < this.buffer.length && /[\uD800-\uDBFF]/.test(this.buffer.charAt(take - 1))) take--;
      if (take <= 0) break;
      const data = this.buffer.slice(0, take);
      this.buffer = this.buffer.slice(take);
      c.unacked += data.length;
      c.sentChars += data.length;
      c.maxUnacked = Math.max(c.maxUnacked, c.unacked);
      this.lastSendAt = performance.now();
      this.send(data);
    }
    if (this.closed && !this.buffer && !this.disposed) {
      this.closed = false;
      this.onEnd();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.channel.removeAllListeners('data');
    this.channel.stderr.removeAllListeners('data');
    this.channel.on('error', () => {});
    this.channel.close();
  }
}
