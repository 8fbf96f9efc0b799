import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COALESCE_MS, DRAIN_MS, HIGH_WATERMARK, INTERRUPT_HOLD_MS, IN_FLIGHT_MAX, IN_FLIGHT_MIN, RESERVE_HIGH, RESERVE_LOW, TerminalChannel } from '../../../electron/main/ssh/terminal-channel';

/** The parts of an ssh2 ClientChannel that TerminalChannel uses, with spies. */
class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  paused = false;
  readonly pause = vi.fn(() => {
    this.paused = true;
    return this;
  });
  readonly resume = vi.fn(() => {
    this.paused = false;
    return this;
  });
  readonly write = vi.fn();
  readonly setWindow = vi.fn();
  readonly close = vi.fn();
  /** What sshd would send: only while not paused, like a Readable in flowing mode. */
  produce(chunk: Buffer): boolean {
    if (this.paused) return false;
    this.emit('data', chunk);
    return true;
  }
}

let fake: FakeChannel;
let sent: Buffer[];
let ended: number;
let tc: TerminalChannel;

beforeEach(() => {
  vi.useFakeTimers();
  fake = new FakeChannel();
  sent = [];
  ended = 0;
  tc = new TerminalChannel(fake as unknown as ClientChannel, (d) => sent.push(Buffer.from(d)), () => ended++);
});
afterEach(() => {
  tc.dispose();
  vi.useRealTimers();
});

const tick = () => vi.advanceTimersByTime(COALESCE_MS + 1);
const sentBytes = () => sent.reduce((n, s) => n + s.length, 0);
/** Each message as text (these tests send ASCII unless they say otherwise). */
const texts = () => sent.map((b) => b.toString('utf8'));
/** Everything sent, decoded as the renderer's xterm.js would: as one UTF-8 stream. */
const joined = () => Buffer.concat(sent).toString('utf8');

describe('terminal output flow control', () => {
  it('sends the first output after a quiet moment at once (an echo), and coalesces what follows it', () => {
    fake.produce(Buffer.from('$'));
    expect(texts()).toEqual(['$']);
    fake.produce(Buffer.from('hello '));
    fake.produce(Buffer.from('world'));
    expect(texts()).toEqual(['$']);
    tick();
    expect(texts()).toEqual(['$', 'hello world']);
    // Output keeps coming within COALESCE_MS: still gathered.
    fake.produce(Buffer.from('a'));
    fake.produce(Buffer.from('b'));
    expect(texts()).toEqual(['$', 'hello world']);
    tick();
    expect(texts()).toEqual(['$', 'hello world', 'ab']);
    // Quiet for a while: the next keystroke's echo goes at once.
    vi.advanceTimersByTime(100);
    fake.produce(Buffer.from('x'));
    expect(texts()).toEqual(['$', 'hello world', 'ab', 'x']);
  });

  it('a flood with no acks: pauses, never has more than HIGH_WATERMARK unacked, and holds at most RESERVE_HIGH plus one chunk in main', () => {
    const chunk = Buffer.from('x'.repeat(16 * 1024));
    let produced = 0;
    for (let i = 0; i < 200; i++) {
      if (fake.produce(chunk)) produced += chunk.length;
      tick();
      expect(tc.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
      expect(produced - sentBytes()).toBeLessThanOrEqual(RESERVE_HIGH + chunk.length);
    }
    expect(fake.pause).toHaveBeenCalled();
    expect(tc.counters.pauses).toBe(1);
    expect(fake.resume).not.toHaveBeenCalled();
    expect(sentBytes()).toBeLessThanOrEqual(HIGH_WATERMARK);
    expect(produced).toBeLessThan(200 * chunk.length);
    expect(tc.counters.maxUnacked).toBeLessThanOrEqual(HIGH_WATERMARK);
  });

  it("resumes only once acks bring main's reserve below RESERVE_LOW, never passing HIGH_WATERMARK", () => {
    let produced = 0;
    for (let i = 0; i < 100 && fake.produce(Buffer.from('y'.repeat(10_000))); i++) {
      produced += 10_000;
      tick();
    }
    tick();
    expect(fake.paused).toBe(true);
    expect(tc.counters.unacked).toBe(HIGH_WATERMARK);
    // The renderer acks in steps; each ack lets the same amount go from main's reserve.
    let acked = 0;
    while (fake.paused) {
      const toAck = sentBytes() - acked;
      if (toAck === 0) break;
      const reserveBefore = produced - sentBytes();
      const step = Math.min(toAck, 7_000);
      tc.ack(step);
      acked += step;
      expect(tc.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
      if (fake.resume.mock.calls.length === 0) {
        expect(produced - sentBytes()).toBeGreaterThanOrEqual(RESERVE_LOW);
        continue;
      }
      // Resumed by this ack: the reserve had been at or above RESERVE_LOW and is now below it.
      expect(reserveBefore).toBeGreaterThanOrEqual(RESERVE_LOW);
      expect(produced - sentBytes()).toBeLessThan(RESERVE_LOW);
    }
    expect(fake.resume).toHaveBeenCalledTimes(1);
    expect(fake.paused).toBe(false);
  });

  it("acks that leave main's reserve at or above RESERVE_LOW do not resume the producer", () => {
    // All at once: the renderer's ack below comes a moment later (a page at full speed keeps the whole window).
    for (let i = 0; i < 100 && fake.produce(Buffer.from('z'.repeat(10_000))); i++);
    tick();
    expect(fake.paused).toBe(true);
    tc.ack(HIGH_WATERMARK / 2); // the renderer parsed half its window: that much more is sent from the reserve
    expect(tc.counters.unacked).toBe(HIGH_WATERMARK);
    expect(fake.resume).not.toHaveBeenCalled();
  });

  it('everything arrives, in order, with a renderer that acks late', () => {
    const LINES = 60_000;
    let input = '';
    let n = 0;
    const acks: number[] = [];
    let seen = 0;
    let longest = 0;
    for (let round = 0; round < 5000 && (n < LINES || seen < sent.length || tc.counters.unacked > 0); round++) {
      for (let k = 0; k < 1500 && n < LINES; k++) {
        const line = `line ${n} ${'#'.repeat(n % 97)}\r\n`;
        if (!fake.produce(Buffer.from(line))) break;
        input += line;
        longest = Math.max(longest, line.length);
        n++;
      }
      expect(input.length - sentBytes()).toBeLessThanOrEqual(RESERVE_HIGH + longest);
      tick();
      while (seen < sent.length) acks.push(sent[seen++]!.length);
      // The renderer is slower than the producer: it acks every tenth tick.
      if (round % 10 === 9) while (acks.length) tc.ack(acks.shift()!);
      expect(tc.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
    }
    expect(n).toBe(LINES);
    expect(joined()).toBe(input);
    expect(tc.counters.pauses).toBeGreaterThan(0);
    expect(fake.paused).toBe(false);
  });

  it('decodes multibyte UTF-8 split across chunks', () => {
    const text = 'こんにちは 世界 🙂 Grüße ✓ 𝄞';
    const bytes = Buffer.from(text);
    // Split at every byte: a character's bytes arrive in separate chunks.
    for (let i = 0; i < bytes.length; i++) fake.produce(bytes.subarray(i, i + 1));
    tick();
    expect(joined()).toBe(text);
    expect(joined()).not.toContain('\uFFFD');
  });

  it('sends bytes as sshd sent them: a character cut by the watermark is whole again in the stream', () => {
    const text = 'a' + '🙂'.repeat(HIGH_WATERMARK / 4 + 100); // the window ends inside an emoji (its bytes 2–4 wait)
    fake.produce(Buffer.from(text));
    tick();
    expect(sentBytes()).toBe(HIGH_WATERMARK);
    expect(tc.counters.unacked).toBe(HIGH_WATERMARK);
    tc.ack(sentBytes());
    tick();
    expect(Buffer.concat(sent).equals(Buffer.from(text))).toBe(true);
    expect(joined()).toBe(text);
  });

  it('delivers the last output before reporting the end', () => {
    fake.produce(Buffer.from('q'.repeat(90_000)));
    tick();
    fake.produce(Buffer.from('q'.repeat(RESERVE_HIGH + 20_000))); // 10,000 fit the window; the reserve is over RESERVE_HIGH: paused
    expect(fake.paused).toBe(true);
    fake.emit('data', Buffer.from([0xe2, 0x9c])); // the first two bytes of ✓, then the shell exits
    fake.emit('close');
    expect(tc.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
    expect(ended).toBe(0); // output is still waiting for the renderer
    for (let guard = 0; guard < 10 && tc.counters.unacked > 0; guard++) tc.ack(tc.counters.unacked);
    expect(joined()).toBe('q'.repeat(110_000 + RESERVE_HIGH) + '\uFFFD');
    expect(ended).toBe(1);
  });

  it('reports the end at once when nothing is waiting', () => {
    fake.produce(Buffer.from('bye\r\n'));
    fake.emit('close');
    expect(joined()).toBe('bye\r\n');
    expect(ended).toBe(1);
  });

  it('resize and write reach the channel; nothing after dispose', () => {
    tc.write('ls\r');
    tc.resize(100, 30);
    expect(fake.write).toHaveBeenCalledWith('ls\r');
    expect(fake.setWindow).toHaveBeenCalledWith(30, 100, 0, 0);
    tc.dispose();
    expect(fake.close).toHaveBeenCalled();
    tc.write('more');
    fake.produce(Buffer.from('late'));
    tick();
    expect(fake.write).toHaveBeenCalledTimes(1);
    expect(joined()).not.toContain('late');
  });
});

/**
 * An ssh2 channel with the window bookkeeping ssh2 1.x keeps (lib/client.js CHANNEL_DATA, lib/Channel.js
 * windowAdjust), and a sshd running a program that writes without end: sshd sends only what the
 * window it was granted allows, in packets of at most 32 KiB, and its answer to a WINDOW_ADJUST
 * comes `rttMs` after it was sent.
 */
class Ssh2Channel extends FakeChannel {
  static readonly MAX_WINDOW = 2 * 1024 * 1024;
  readonly incoming = { window: Ssh2Channel.MAX_WINDOW };
  readonly outgoing = { id: 7, state: 'open' };
  /** What sshd may send: the window as sshd sees it. */
  sshdWindow = Ssh2Channel.MAX_WINDOW;
  /** The bytes sshd has read from the program (all of them sent as `data`). */
  produced = 0;
  /** WINDOW_ADJUST messages sent by ssh2 itself (its top-up) and by the code under test. */
  ssh2TopUps = 0;
  readonly adjusts: number[] = [];
  rttMs = 0;
  readonly _client = {
    _protocol: {
      channelWindowAdjust: (id: number, amount: number) => {
        expect(id).toBe(7);
        this.adjusts.push(amount);
        if (this.rttMs > 0) setTimeout(() => (this.sshdWindow += amount), this.rttMs);
        else this.sshdWindow += amount;
      },
    },
  };

  /** sshd sends what its window allows (up to `limit` bytes), as ssh2 receives it. */
  flood(limit = Infinity): void {
    while (this.sshdWindow > 0 && limit > 0) {
      const n = Math.min(32 * 1024, this.sshdWindow, limit);
      this.sshdWindow -= n;
      limit -= n;
      if (this.incoming.window === 0) throw new Error('ssh2 would drop this data');
      this.incoming.window -= n;
      this.emit('data', Buffer.alloc(n, 0x79));
      this.produced += n;
      // ssh2's top-up while the stream is flowing (push() returned true).
      if (this.incoming.window <= Ssh2Channel.MAX_WINDOW / 2) {
        this.ssh2TopUps++;
        this.incoming.window += Ssh2Channel.MAX_WINDOW - this.incoming.window;
        this.sshdWindow += Ssh2Channel.MAX_WINDOW - this.incoming.window;
      }
    }
  }
}

describe('the SSH window, granted as the renderer parses', () => {
  let ch: Ssh2Channel;
  let out: Buffer[];
  let w: TerminalChannel;
  beforeEach(() => {
    ch = new Ssh2Channel();
    out = [];
    w = new TerminalChannel(ch as unknown as ClientChannel, (d) => out.push(Buffer.from(d)), () => {});
  });
  afterEach(() => w.dispose());
  const delivered = () => out.reduce((n, b) => n + b.length, 0);
  /** The renderer parses everything it has been sent. */
  const parseAll = () => w.ack(w.counters.unacked);

  it('ssh2 never tops the window up by itself, and sshd stops once the first window is used and nothing is parsed', () => {
    for (let i = 0; i < 50; i++) {
      ch.flood();
      tick();
    }
    expect(ch.ssh2TopUps).toBe(0);
    expect(ch.adjusts).toEqual([]);
    expect(ch.produced).toBe(Ssh2Channel.MAX_WINDOW); // what ssh2 granted when it opened the channel
    expect(delivered()).toBe(HIGH_WATERMARK);
  });

  it('after the first window, what sshd has sent and the renderer has not parsed stays under the in-flight bound, and all of it arrives in order', () => {
    let parsed = 0;
    for (let round = 0; round < 400; round++) {
      ch.flood();
      tick();
      // The renderer parses 48 KiB a round: slower than sshd.
      const n = Math.min(48 * 1024, w.counters.unacked);
      w.ack(n);
      parsed += n;
      if (ch.produced > Ssh2Channel.MAX_WINDOW + IN_FLIGHT_MIN) expect(ch.produced - parsed).toBeLessThanOrEqual(w.inFlightLimit);
      expect(w.inFlight).toBeLessThanOrEqual(Math.max(w.inFlightLimit, Ssh2Channel.MAX_WINDOW));
      expect(w.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
    }
    expect(ch.produced).toBeGreaterThan(3 * Ssh2Channel.MAX_WINDOW);
    expect(ch.ssh2TopUps).toBe(0);
    expect(Math.min(...ch.adjusts)).toBeGreaterThanOrEqual(32 * 1024);
    expect(w.inFlightLimit).toBe(IN_FLIGHT_MIN); // a round trip of 0 ms: the smallest bound
    expect(w.counters.pauses).toBeGreaterThan(0);
    parseAll();
    tick();
    parseAll();
    expect(Buffer.concat(out).equals(Buffer.alloc(ch.produced, 0x79))).toBe(true);
  });

  it('a far host: the bound grows with the round trip until the renderer, not the window, is what limits', () => {
    ch.rttMs = 100;
    let maxLimit = 0;
    let atOneSecond = 0;
    for (let ms = 0; ms < 2000; ms += 10) {
      if (ms === 1000) atOneSecond = ch.produced;
      ch.flood();
      vi.advanceTimersByTime(10);
      parseAll(); // a renderer faster than the link
      maxLimit = Math.max(maxLimit, w.inFlightLimit);
    }
    expect(maxLimit).toBe(IN_FLIGHT_MAX);
    // ssh2's own window (topped up to 2 MiB when half was used) let through at most 2 MiB a round trip.
    expect(ch.produced - atOneSecond).toBeGreaterThanOrEqual(10 * 2 * 1024 * 1024);
    expect(Buffer.concat(out).equals(Buffer.alloc(ch.produced, 0x79))).toBe(true);
  });

  it("a page that parses slowly is given a smaller window, so a Ctrl-C waits behind less; a page at full speed keeps the whole one", () => {
    let parsed = 0;
    /** `ms` of a flood, the renderer parsing up to `perTenMs` bytes every 10 ms; returns the most sshd had sent and the renderer not yet parsed. */
    const run = (ms: number, perTenMs: number) => {
      let most = 0;
      for (let t = 0; t < ms; t += 10) {
        ch.flood();
        vi.advanceTimersByTime(10);
        const n = Math.min(perTenMs, w.counters.unacked);
        w.ack(n);
        parsed += n;
        most = Math.max(most, ch.produced - parsed);
      }
      return most;
    };
    // At full speed (1 MiB per 10 ms, faster than sshd's window lets through): past ssh2's first
    // window, the renderer is sent its whole window and the bound is today's.
    run(3000, 1024 * 1024);
    expect(w.rendererWindow).toBe(HIGH_WATERMARK);
    expect(w.inFlightLimit).toBe(IN_FLIGHT_MIN);
    expect(w.counters.maxUnacked).toBe(HIGH_WATERMARK);
    // The page slows to 8 KiB per 10 ms (under 1 MB/s, like `yes` at half speed): once what was
    // already in flight is parsed, far less is sent ahead of it.
    run(2000, 8 * 1024);
    const behindSlow = run(2000, 8 * 1024);
    expect(w.rendererWindow).toBeLessThan(HIGH_WATERMARK / 4);
    expect(behindSlow).toBeLessThan(IN_FLIGHT_MIN / 4);
    expect(w.counters.unacked).toBeLessThanOrEqual(w.rendererWindow);
    // Back at full speed: the whole window again.
    run(1000, 1024 * 1024);
    expect(w.rendererWindow).toBe(HIGH_WATERMARK);
    expect(w.inFlightLimit).toBe(IN_FLIGHT_MIN);
    parseAll();
    tick();
    parseAll();
    expect(Buffer.concat(out).equals(Buffer.alloc(ch.produced, 0x79))).toBe(true);
  });

  it('Ctrl-C: while the key travels to the shell, less is let in ahead of its answer; then the window is whole again, nothing lost', () => {
    let parsed = 0;
    const step = (perTenMs: number, programWrites = true) => {
      if (programWrites) ch.flood();
      vi.advanceTimersByTime(10);
      const n = Math.min(perTenMs, w.counters.unacked);
      w.ack(n);
      parsed += n;
    };
    for (let t = 0; t < 6000; t += 10) step(16 * 1024); // past ssh2's first window, a page at about 1.6 MB/s
    const usual = w.inFlightLimit;
    expect(ch.produced - parsed).toBeGreaterThan(usual / 2);
    w.write('\x03');
    expect(ch.write).toHaveBeenCalledWith('\x03');
    // The key reaches the shell 300 ms later, the program writing all the while: what its answer
    // now waits behind (sent by sshd, not yet drawn) is two grants at most, not the usual bound.
    for (let t = 0; t < 300; t += 10) step(16 * 1024);
    expect(ch.produced - parsed).toBeLessThanOrEqual(2 * 32 * 1024);
    expect(2 * 32 * 1024).toBeLessThan(usual / 2);
    // A while later (the program took the key as input and goes on), the usual bound again.
    for (let t = 0; t < INTERRUPT_HOLD_MS + 500; t += 10) step(16 * 1024);
    expect(ch.produced - parsed).toBeGreaterThan(usual / 2);
    parseAll();
    tick();
    parseAll();
    expect(Buffer.concat(out).equals(Buffer.alloc(ch.produced, 0x79))).toBe(true);
  });

  it('acks that take long to come back (a busy machine) do not pass for a slow page: the window grows until the page is kept busy', () => {
    // The page parses 20 KiB per 10 ms and says how long it took; each ack reaches main 100 ms later.
    const acks: Array<{ at: number; bytes: number; parseMs: number }> = [];
    let parsed = 0;
    let now = 0;
    let parsedLastSecond = 0;
    for (; now < 8000; now += 10) {
      ch.flood();
      vi.advanceTimersByTime(10);
      const held = w.counters.unacked - acks.reduce((n, a) => n + a.bytes, 0); // delivered, not yet parsed
      const n = Math.min(held, 20 * 1024);
      if (n > 0) acks.push({ at: now + 100, bytes: n, parseMs: n / 2048 });
      parsed += n;
      if (now >= 7000) parsedLastSecond += n;
      while (acks.length && acks[0]!.at <= now) {
        const a = acks.shift()!;
        w.ack(a.bytes, a.parseMs);
      }
    }
    // DRAIN_MS of parsing would be 120 KiB; a round trip of acks is 200 KiB of parsing.
    expect(w.rendererWindow).toBeGreaterThan(200 * 1024);
    expect(parsedLastSecond).toBeGreaterThan(0.9 * 100 * 20 * 1024); // busy at least 90 % of the last second
    expect(w.rendererWindow).toBeLessThanOrEqual(2 * 2048 * DRAIN_MS); // but never more than twice DRAIN_MS of parsing
    expect(parsed).toBeGreaterThan(0);
  });

  it('a trickle (the program, not the page, sets the pace) leaves the whole window for the flood after it', () => {
    for (let i = 0; i < 200; i++) {
      ch.emit('data', Buffer.from('$ ls\r\n'));
      parseAll(); // parsed as it comes; the page then waits for the program
      vi.advanceTimersByTime(60);
    }
    expect(w.rendererWindow).toBe(HIGH_WATERMARK);
    ch.flood();
    tick();
    expect(w.counters.unacked).toBe(HIGH_WATERMARK);
  });

  it('a closed channel is granted nothing more', () => {
    ch.flood();
    tick();
    ch.outgoing.state = 'closed';
    ch.emit('close');
    for (let i = 0; i < 20; i++) parseAll();
    expect(ch.adjusts).toEqual([]);
  });
});
