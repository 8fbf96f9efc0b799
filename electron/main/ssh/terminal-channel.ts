import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { Disposable } from '../base/lifecycle';
import { ChannelWindow } from './channel-window';

/**
 * The renderer's largest window: bytes of output sent but not yet parsed by xterm.js never exceed
 * it. Output travels as bytes (UTF-8 as sshd sent it) and xterm.js decodes it, so the window is
 * counted in bytes, like the SSH window behind it. 256 KiB keeps xterm.js fed while acks travel
 * (`npm run bench -- terminal`: 100 KB gave ~42 % of xterm.js alone, 256 KiB ~51 %) and bounds
 * what a keystroke's echo in another tab can queue behind on the shared transport (echo p95 24–29
 * ms beside a flood; 512 KiB gained nothing more and pushed that to 38–151 ms). A page that parses
 * slowly gets less (see DRAIN_MS).
 */
export const HIGH_WATERMARK = 256 * 1024;
/**
 * What a shell channel offers sshd when it opens (connection.ts): a renderer's window, not ssh2's
 * 2 MiB. With 2 MiB a `yes` typed as the first thing in a tab runs that far ahead of a slow page
 * before Keyless's grants bound it (a Ctrl-C then waited behind a million characters).
 */
export const SHELL_OPEN_WINDOW = HIGH_WATERMARK;
/**
 * The renderer's window is what it parses in this long (ms), between WINDOW_MIN and
 * HIGH_WATERMARK. Everything past the network when Ctrl-C reaches the shell (main's reserve and
 * the renderer's window, 1.5× the window together) is still drawn, so this is what an interrupt
 * waits behind on a nearby host: at full speed xterm.js parses 256 KiB of `cat` in under 10 ms
 * (the window stays whole), but a page at half speed parses `yes` at under 1 MB/s, where 256 KiB
 * plus the reserve took over half a second to drain.
 */
export const DRAIN_MS = 60;
/** The smallest renderer window: an SSH packet's worth, so a slow page still gets whole packets. */
export const WINDOW_MIN = 32 * 1024;
/**
 * Only where the SSH window cannot be managed (see ShellWindow): main's own reserve of output
 * received but not yet sent; the ssh2 channel is paused when it passes RESERVE_HIGH bytes and
 * resumed when it falls below RESERVE_LOW. With a reserve, an acknowledgement is answered at once
 * with the next message; pausing on the renderer's window instead (resume below a low watermark
 * of unacked output) made the renderer drain its whole window every cycle while sshd was asked
 * for more.
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
 * How much ssh2 may hold unread for a paused channel before it stops granting window to sshd
 * (without ShellWindow). ssh2's default (2 MiB) would let a flood queue seconds of output behind a Ctrl-C.
 */
export const CHANNEL_READ_BUFFER = 64 * 1024;
/**
 * Bounds on output in flight: what sshd may send (the SSH window we granted and it has not used)
 * plus what main holds plus what the renderer has not parsed. Everything in flight when Ctrl-C
 * reaches the shell is still drawn (nothing is dropped), so this is what an interrupt waits
 * behind. The bound adapts: the renderer's window plus twice what the renderer parses in one
 * round trip to sshd, between IN_FLIGHT_MIN and IN_FLIGHT_MAX. IN_FLIGHT_MIN is the renderer's
 * window and half as much again, so a nearby host has the next bytes in main when an ack comes;
 * IN_FLIGHT_MAX is what ssh2 (a 2 MiB window) and the old reserve allowed together, so a far host
 * (`npm run bench -- terminal --interrupt`: cat at 100 ms round trip) keeps its throughput.
 */
export const IN_FLIGHT_MIN = HIGH_WATERMARK + HIGH_WATERMARK / 2;
export const IN_FLIGHT_MAX = 2 * 1024 * 1024 + 512 * 1024;
/** A window adjustment smaller than one SSH packet (ssh2's 32 KiB) waits for more room: fewer messages. */
const GRANT_MIN = 32 * 1024;
/** Round trips are the smallest of this many recent samples: a sample is stretched by a busy sshd, never shortened. */
const RTT_SAMPLES = 8;
/**
 * The renderer's pace is measured over stretches of at least this long (ms, or two round trips)
 * and counted when at least RATE_MIN_BYTES were parsed; the largest of the last RATE_SAMPLES
 * counts, so quiet moments do not shrink the window a far host needs.
 */
const RATE_MIN_MS = 50;
const RATE_MIN_BYTES = 64 * 1024;
const RATE_SAMPLES = 10;
/**
 * The renderer's drain rate (bytes it parses per ms it had output to parse, as it reports with
 * its acks; per ms of wall time if it does not) is sampled over stretches of at least DRAIN_SAMPLE_MS in which
 * output was never all parsed (a trickle, where the program and not the page sets the pace, is
 * never a sample), and the median of the last DRAIN_SAMPLES counts: one pause (a collection, a
 * frame) neither shrinks nor grows the window. Counting parse time, not wall time, keeps a window
 * too small for the round trip of acks (main or the page waiting for a CPU on a busy machine)
 * from measuring as a slow page and shrinking further.
 */
const DRAIN_SAMPLE_MS = 50;
const DRAIN_SAMPLES = 3;
/**
 * When the renderer waited for output for more than STARVED of a stretch (the window does not
 * cover the round trip of acks), the window is made WINDOW_GROWTH times larger, up to
 * WINDOW_SCALE_MAX times DRAIN_MS of parsing (a busy machine's slow acks cost a slow page some
 * pace rather than its Ctrl-C: under load 15 an unbounded growth gave back the whole window);
 * each stretch it waits for less than FED, it eases back towards DRAIN_MS of
 * parsing by WINDOW_EASE (slowly: a window just large enough is not starved, one 1.5× smaller was).
 */
const STARVED = 0.1;
const FED = 0.03;
const WINDOW_GROWTH = 1.5;
const WINDOW_EASE = 1.05;
const WINDOW_SCALE_MAX = 2;
/**
 * The terminal's interrupt characters (Ctrl-C, Ctrl-\, Ctrl-Z: INTR, QUIT and SUSP as stty sets
 * them by default). For INTERRUPT_HOLD_MS after one is typed, output in flight is bounded by two
 * grants' worth instead of the page's usual bound: the shell's answer (`^C` and the prompt) then
 * queues behind little, and the program's output written while the key travels waits in the PTY,
 * where the kernel's own handling of the signal flushes it as on any terminal (`stty noflsh`
 * keeps it). Keyless drops nothing it has received; a program that takes the key as input (an
 * editor) has a smaller window for a moment.
 */
const INTERRUPT_KEYS = ['\x03', '\x1a', '\x1c'];
export const INTERRUPT_HOLD_MS = 1000;

export interface FlowCounters {
  unacked: number;
  maxUnacked: number;
  /** Times sshd was held: the SSH window ran out (or, without ShellWindow, the channel was paused). */
  pauses: number;
  sentBytes: number;
}

/**
 * The SSH window of a shell channel, granted as the renderer parses output. Pausing the stream
 * still leaves up to 2 MiB that sshd has read from the program and must be drawn after a Ctrl-C,
 * so ssh2's count is lifted by OFFSET (its top-up never fires and its "no window" check never
 * drops data) and the grants are ours. ssh2's initial 2 MiB is granted before the shell starts and
 * cannot be taken back: the bound holds once that is used.
 */
class ShellWindow {
  /** Far above any window ssh2 could grant (2 MiB), far below 2^53. */
  private static readonly OFFSET = 2 ** 40;
  private constructor(private readonly window: ChannelWindow, overcount: number) {
    window.lift(ShellWindow.OFFSET - overcount);
  }

  /** Undefined when this ssh2 does not look like the one this was written for: then the stream's back-pressure is all there is. */
  static take(channel: ClientChannel): ShellWindow | undefined {
    const window = ChannelWindow.of(channel);
    return window && new ShellWindow(window, window.overcount);
  }

  /** What sshd may still send. */
  get credit(): number {
    return Math.max(0, this.window.count - ShellWindow.OFFSET);
  }

  grant(bytes: number): void {
    this.window.grant(bytes);
  }
}

/**
 * A shell channel's output side with back-pressure: output is coalesced and sent, as the bytes
 * sshd sent, while the renderer is less than its window (rendererWindow) behind; the rest waits in main.
 * sshd is granted SSH window only while output in flight (window, main, renderer) is under the
 * adaptive bound (IN_FLIGHT_MIN…IN_FLIGHT_MAX), so when the window closes sshd stops reading from
 * the program and a Ctrl-C waits behind that bound at most. Without ShellWindow the ssh2 channel
 * is paused instead when main holds RESERVE_HIGH. A character whose bytes straddle two messages
 * is put together again by xterm.js's UTF-8 decoder, which keeps state between writes.
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
  /** Our grant of the SSH window; undefined: ssh2 grants it and the stream is paused instead. */
  private readonly window: ShellWindow | undefined;
  /** When a grant went to a sshd that had no window left (performance.now()), until its output comes. */
  private stalledGrantAt: number | undefined;
  /** When an interrupt key was last typed (performance.now(); see INTERRUPT_KEYS). */
  private interruptedAt: number | undefined;
  private rtts: number[] = [];
  /** The renderer's recent paces (bytes per ms), and the stretch being measured. */
  private rates: number[] = [];
  private rateFrom = 0;
  private rateBytes = 0;
  /** The renderer's drain rates (bytes per ms), and the stretch with output unparsed being measured (since when, and bytes parsed in it). */
  private drains: number[] = [];
  private drainFrom: number | undefined;
  private drainBytes = 0;
  /** Parse time the renderer reported in the stretch; NaN once an ack came without it. */
  private drainParseMs = 0;
  /** How many times DRAIN_MS of parsing the window is (see STARVED). */
  private windowScale = 1;

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
    this.window = ShellWindow.take(channel);
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
    if (INTERRUPT_KEYS.some((k) => data.includes(k))) this.interruptedAt = performance.now();
    this.channel.write(data);
    this.tapped?.input(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.disposed) this.channel.setWindow(rows, cols, 0, 0);
  }

  /**
   * The renderer's window now: DRAIN_MS of parsing at its measured drain rate (more while it is
   * left waiting for output, see STARVED), between WINDOW_MIN and HIGH_WATERMARK; HIGH_WATERMARK
   * until measured.
   */
  get rendererWindow(): number {
    const d = this.drains;
    if (!d.length) return HIGH_WATERMARK;
    const rate = [...d].sort((a, b) => a - b)[(d.length - 1) >> 1]!;
    return Math.round(Math.min(HIGH_WATERMARK, Math.max(WINDOW_MIN, rate * DRAIN_MS * this.windowScale)));
  }

  /**
   * The bound on output in flight now (see IN_FLIGHT_MIN): past the network, the renderer's
   * window and half as much again in main (IN_FLIGHT_MIN for a page at full speed, less for a
   * slow one); for a far host, enough more to cover the round trip at the pace the renderer takes
   * output, so `cat` is limited by the page and not by the window.
   */
  get inFlightLimit(): number {
    // Limited by the window, the renderer parses about a window per round trip: twice that lets
    // the window double each round trip until the renderer is what limits.
    const rate = this.rates.length ? Math.max(...this.rates) : 0;
    const window = this.rendererWindow;
    return Math.min(IN_FLIGHT_MAX, Math.max(window + window / 2, window + 2 * rate * this.rtt));
  }

  /** The round trip to sshd (ms), as the smallest recent sample; 0 until measured. */
  private get rtt(): number {
    return this.rtts.length ? Math.min(...this.rtts) : 0;
  }

  /** Output sshd has read from the program and the renderer has not parsed, at most (what a Ctrl-C now would still draw). */
  get inFlight(): number {
    return (this.window?.credit ?? 0) + this.queued + this.counters.unacked;
  }

  /** The renderer has parsed `bytes` more, and had output to parse for `parseMs` of the time since its last ack if it says. */
  ack(bytes: number, parseMs?: number): void {
    const acked = Math.min(bytes, this.counters.unacked);
    this.counters.unacked -= acked;
    this.measureRate(acked);
    this.measureDrain(acked, parseMs);
    this.flush();
    // Caught up with nothing waiting in main: the program, not the page, set the pace of this stretch.
    if (this.counters.unacked === 0) this.drainFrom = undefined;
    this.grant();
    if (this.paused && this.queued < RESERVE_LOW) {
      this.paused = false;
      this.channel.resume();
    }
  }

  private measureRate(acked: number): void {
    this.rateBytes += acked;
    const now = performance.now();
    const ms = now - this.rateFrom;
    if (ms < Math.max(RATE_MIN_MS, 2 * this.rtt)) return;
    if (this.rateBytes >= RATE_MIN_BYTES) {
      this.rates.push(this.rateBytes / ms);
      if (this.rates.length > RATE_SAMPLES) this.rates.shift();
    }
    this.rateFrom = now;
    this.rateBytes = 0;
  }

  /** Counts `acked` bytes parsed into the current stretch, and ends it as a sample once it is DRAIN_SAMPLE_MS long. */
  private measureDrain(acked: number, parseMs: number | undefined): void {
    if (this.drainFrom === undefined) return;
    this.drainBytes += acked;
    this.drainParseMs += parseMs ?? NaN;
    const now = performance.now();
    const ms = now - this.drainFrom;
    if (ms < DRAIN_SAMPLE_MS) return;
    const parsing = Number.isNaN(this.drainParseMs) ? ms : Math.min(ms, Math.max(1, this.drainParseMs));
    this.drains.push(this.drainBytes / parsing);
    if (this.drains.length > DRAIN_SAMPLES) this.drains.shift();
    const waited = 1 - parsing / ms;
    if (waited > STARVED && this.rendererWindow < HIGH_WATERMARK) this.windowScale = Math.min(WINDOW_SCALE_MAX, this.windowScale * WINDOW_GROWTH);
    else if (waited < FED) this.windowScale = Math.max(1, this.windowScale / WINDOW_EASE);
    this.drainFrom = now;
    this.drainBytes = 0;
    this.drainParseMs = 0;
  }

  /** Tops sshd's window up to the in-flight bound, in adjustments of at least GRANT_MIN (or a quarter of a small bound). */
  private grant(): void {
    const w = this.window;
    if (!w || this.disposed || this.closed) return;
    const credit = w.credit;
    let limit = this.inFlightLimit;
    const least = Math.min(GRANT_MIN, limit / 4);
    if (this.interruptedAt !== undefined) {
      if (performance.now() - this.interruptedAt < INTERRUPT_HOLD_MS) limit = 2 * least;
      else this.interruptedAt = undefined;
    }
    const room = limit - credit - this.queued - this.counters.unacked;
    if (room < least) return;
    if (credit === 0) {
      this.counters.pauses++;
      this.stalledGrantAt = performance.now();
    }
    w.grant(room);
  }

  private push(chunk: Buffer): void {
    if (!chunk.length || this.disposed) return;
    if (this.stalledGrantAt !== undefined) {
      // sshd had stopped for want of window; this is its answer to our grant: one round trip.
      this.rtts.push(performance.now() - this.stalledGrantAt);
      if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
      this.stalledGrantAt = undefined;
    }

    if (this.tapDecoder) {
      const text = this.tapDecoder.write(chunk);
      if (text) this.tapped?.output(text);
    }
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (!this.window && !this.paused && this.queued > RESERVE_HIGH) {
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

  /**
   * Sends what fits in the renderer's window, in messages of at most MESSAGE_BYTES (half a smaller
   * window, so a slow page still has the next message while it acks one); the rest waits for
   * acknowledgements.
   */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.counters;
    const window = this.rendererWindow;
    const message = Math.min(MESSAGE_BYTES, Math.floor(window / 2));
    while (this.queued > 0 && !this.disposed) {
      const n = Math.min(window - c.unacked, message, this.queued);
      if (n <= 0) break;
      if (this.drainFrom === undefined) {
        this.drainFrom = performance.now();
        this.drainBytes = 0;
        this.drainParseMs = 0;
      }
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
