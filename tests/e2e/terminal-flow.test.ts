import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIGH_WATERMARK } from '../../electron/main/ssh/terminal-channel';
import { addHost, connect, hook, startWorld, terminalSkip, until, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping terminal flow-control tests: ${terminalSkip}`);

/**
 * A deterministic stream of `bytes` bytes of UTF-8 text (seeded xorshift): printable ASCII,
 * Japanese, and 4-byte emoji that become surrogate pairs in JavaScript, in lines of varied length.
 */
function deterministicStream(bytes: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(bytes + 8);
  const pieces = [Buffer.from('あ'), Buffer.from('漢'), Buffer.from('😀'), Buffer.from('é')];
  let x = seed >>> 0;
  let n = 0;
  let col = 0;
  while (n < bytes) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const r = x % 100;
    if (col > 20 && r < 2) {
      out[n++] = 0x0a;
      col = 0;
    } else if (r < 6) {
      const p = pieces[x % pieces.length]!;
      p.copy(out, n);
      n += p.length;
      col++;
    } else {
      out[n++] = 0x20 + (x % 95);
      col++;
    }
  }
  // Cut at a line end so the stream is whole UTF-8.
  const end = out.lastIndexOf(0x0a, bytes) + 1;
  return out.subarray(0, end);
}

describe.skipIf(terminalSkip)('terminal flow control, end to end (sshd → ssh2 → harness WebSocket → xterm.js in Chromium)', () => {
  let world: TerminalWorld;

  beforeAll(async () => {
    world = await startWorld();
    await addHost(world.page, 'flood box', world.sshd[0]!);
    await connect(world.page, 'flood box');
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
  });

  it('survives `yes` for 10 s: Ctrl-C brings the prompt back, unacknowledged output never passes the high watermark', async () => {
    const { page } = world;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${world.app.process.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const rssBefore = rss();
    await page.keyboard.type('yes\n');
    let rssPeak = rssBefore;
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      await page.waitForTimeout(500);
      rssPeak = Math.max(rssPeak, rss());
    }
    const during = await hook.stats(page);
    await page.keyboard.press('Control+C');
    await page.keyboard.type('echo "flood over: $((6*7))"\n');
    await waitForText(page, /^flood over: 42\s*$/m, undefined, 30_000);
    const after = await hook.stats(page);

    expect(during.highWatermark).toBe(HIGH_WATERMARK);
    expect(after.maxUnacked).toBeLessThanOrEqual(HIGH_WATERMARK);
    // The flood really did push back: main paused the channel, and a lot went through.
    expect(after.pauses).toBeGreaterThan(0);
    expect(after.sentBytes).toBeGreaterThan(1_000_000);
    // Memory stays bounded whatever the remote prints (generous: the whole backend process).
    expect(rssPeak - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });

  it('delivers every byte: a 50 MB deterministic stream hashes the same in xterm.js as at the source', async () => {
    const { page } = world;
    const source = deterministicStream(50 * 1024 * 1024);
    const file = join(world.home, 'stream.txt');
    writeFileSync(file, source);
    const expected = createHash('sha256').update(source).digest('hex');

    await page.evaluate(() => window.keylessTest.capture());
    // -opost: the PTY passes the bytes through as they are (no LF → CR LF), so the hash can match.
    await page.keyboard.type(`clear; stty -opost; printf 'KL-%s\\n' BEGIN; cat ${file}; printf 'KL-%s\\n' END; stty opost\n`);
    const t0 = Date.now();
    // Polls only the tail of what was parsed: reading the whole buffer would steal the page's time.
    await until(async () => (await page.evaluate(() => window.keylessTest.capturedTail(40).tail)).includes('KL-END'), 55_000, 'the end marker');
    const seconds = (Date.now() - t0) / 1000;
    console.info(`every-byte: ${(source.length / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s (${(source.length / 1e6 / seconds).toFixed(1)} MB/s)`);
    const got = await page.evaluate(() => window.keylessTest.capturedHash('KL-BEGIN\n', 'KL-END'));
    expect(got.found).toBe(true);
    expect(got.hash).toBe(expected);
    const stats = await hook.stats(page);
    expect(stats.maxUnacked).toBeLessThanOrEqual(HIGH_WATERMARK);
  });
});
