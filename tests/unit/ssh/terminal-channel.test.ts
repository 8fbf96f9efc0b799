import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COALESCE_MS, HIGH_WATERMARK, RESERVE_HIGH, RESERVE_LOW, TerminalChannel } from '../../../electron/main/ssh/terminal-channel';

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
    for (let i = 0; i < 100 && fake.produce(Buffer.from('z'.repeat(10_000))); i++) tick();
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
