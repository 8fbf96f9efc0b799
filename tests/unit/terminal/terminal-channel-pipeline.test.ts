import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNEL_READ_BUFFER, HIGH_WATERMARK, MESSAGE_BYTES, TerminalChannel } from '../../../electron/main/ssh/terminal-channel';

class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  readonly _readableState = { highWaterMark: 2 * 1024 * 1024 };
  readonly pause = vi.fn(() => this);
  readonly resume = vi.fn(() => this);
  readonly write = vi.fn();
  readonly setWindow = vi.fn();
  readonly close = vi.fn();
}

let fake: FakeChannel;
let sent: Buffer[];
let tc: TerminalChannel;

beforeEach(() => {
  vi.useFakeTimers();
  fake = new FakeChannel();
  sent = [];
  tc = new TerminalChannel(fake as unknown as ClientChannel, (d) => sent.push(Buffer.from(d)), () => {});
});
afterEach(() => {
  tc.dispose();
  vi.useRealTimers();
});

describe('terminal output pipeline', () => {
  it('keeps ssh2 from buffering megabytes for a paused channel', () => {
    expect(fake._readableState.highWaterMark).toBe(CHANNEL_READ_BUFFER);
  });

  it('sends a bulk piece at once, in messages no larger than MESSAGE_BYTES bytes, several in flight', () => {
    fake.emit('data', Buffer.from('x'.repeat(3 * MESSAGE_BYTES + 10)));
    // No coalescing wait for a full message's worth.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sent.map((s) => s.length))).toBeLessThanOrEqual(MESSAGE_BYTES);
    vi.advanceTimersByTime(10);
    expect(Buffer.concat(sent).toString('utf8')).toBe('x'.repeat(3 * MESSAGE_BYTES + 10));
    expect(tc.counters.unacked).toBeLessThanOrEqual(HIGH_WATERMARK);
  });

  it('an acknowledgement of one message lets the next one go while the rest is still unparsed', () => {
    fake.emit('data', Buffer.from('y'.repeat(HIGH_WATERMARK + 4 * MESSAGE_BYTES)));
    const before = sent.length;
    expect(tc.counters.unacked).toBe(HIGH_WATERMARK);
    tc.ack(MESSAGE_BYTES);
    expect(sent.length).toBe(before + 1);
    expect(tc.counters.unacked).toBe(HIGH_WATERMARK);
  });

  it('shows a recording every piece of output and input, in order', () => {
    const seen: string[] = [];
    tc.tap = { output: (t) => seen.push(`o:${t}`), input: (t) => seen.push(`i:${t}`) };
    fake.emit('data', Buffer.from('$ '));
    tc.write('ls\r');
    fake.emit('data', Buffer.from('a b\r\n'));
    expect(seen).toEqual(['o:$ ', 'i:ls\r', 'o:a b\r\n']);
    expect(fake.write).toHaveBeenCalledWith('ls\r');
  });
});
