/**
 * SFTP WRITE requests, and the start of a session, against OpenSSH's own sftp-server (the program
 * sshd runs for the sftp subsystem), spoken to over its stdin and stdout as a channel would carry it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN, SftpSession } from '../../../electron/main/ssh/sftp';
import { pump, Progress, Slots, WRITE_HEADROOM } from '../../../electron/main/files/pump';

const SERVER = '/usr/lib/openssh/sftp-server';
const missing = existsSync(SERVER) ? false : `${SERVER} is not installed (apt-get install openssh-server)`;
if (missing) console.log(`skipped: ${missing}`);

/**
 * A channel onto a local sftp-server that records every write it is given. It has the fields of
 * ssh2's channel that granting its window takes (see ChannelWindow), and records each grant in
 * `sent` beside the writes, with the event-loop turn each went out in.
 */
class ServerChannel extends EventEmitter {
  readonly writes: Buffer[] = [];
  readonly sent: Array<{ what: 'grant' | 'packet' | 'reply'; type?: number; turn: number }> = [];
  private turn = 0;
  private turnQueued = false;
  readonly incoming = { window: 2 * 1024 * 1024 };
  readonly outgoing = { id: 0, state: 'open' };
  readonly _client = { _protocol: { channelWindowAdjust: () => this.record({ what: 'grant' }) } };
  constructor(private readonly child: ChildProcess) {
    super();
    child.stdout!.on('data', (d: Buffer) => {
      this.record({ what: 'reply' });
      this.emit('data', d);
    });
    child.on('exit', () => this.emit('close'));
  }
  /** What was sent, numbered by turn: a turn ends when the event loop next runs its ticks. */
  private record(e: { what: 'grant' | 'packet' | 'reply'; type?: number }): void {
    this.sent.push({ ...e, turn: this.turn });
    if (!this.turnQueued) {
      this.turnQueued = true;
      process.nextTick(() => {
        this.turnQueued = false;
        this.turn++;
      });
    }
  }
  write(b: Buffer): boolean {
    this.writes.push(Buffer.from(b));
    // A packet's type follows its 4-byte length (a WRITE's bytes may come as a second write).
    if (b.length >= 5 && b.readUInt32BE(0) >= 1) this.record({ what: 'packet', type: b[4] });
    return this.child.stdin!.write(b);
  }
  close(): void {
    this.child.stdin!.end();
  }
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function session(): Promise<{ sftp: SftpSession; channel: ServerChannel; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyless-sftpw-'));
  dirs.push(dir);
  const child = spawn(SERVER, ['-e', '-l', 'ERROR'], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const channel = new ServerChannel(child);
  const sftp = await SftpSession.start(channel as unknown as ClientChannel);
  return { sftp, channel, dir };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(missing)('SFTP session start', () => {
  it('grants its larger window in the same turn as INIT, so no lone packet that gets no answer goes before the next request', async () => {
    const { sftp, channel } = await session();
    // The server named limits@openssh.com, and the session asked for them.
    expect(sftp.maxWrite).toBeGreaterThan(32 * 1024);
    const [grant, init, ...rest] = channel.sent;
    expect(grant).toMatchObject({ what: 'grant' });
    expect(init).toMatchObject({ what: 'packet', type: 1 });
    expect(init!.turn).toBe(grant!.turn);
    // After VERSION, the next thing sent is the limits request (EXTENDED), and nothing alone
    // before it: through an endpoint that holds a small write until the last is acknowledged, a
    // lone WINDOW_ADJUST made the request wait for the instance's delayed ACK (up to 40 ms).
    const afterVersion = rest.filter((e) => e.what !== 'reply');
    expect(afterVersion[0]).toMatchObject({ what: 'packet', type: 200 });
    expect(channel.sent.filter((e) => e.what === 'grant')).toHaveLength(1);
  });
});

describe.skipIf(missing)('SFTP writes', () => {
  it('with room before the bytes, each WRITE leaves as one write (header and bytes together) and the file is whole', async () => {
    const { sftp, channel, dir } = await session();
    const size = 3 * 1024 * 1024 + 17;
    const src = randomBytes(size);
    const handle = await sftp.open(Buffer.from(join(dir, 'up.bin')), OPEN.WRITE | OPEN.CREAT | OPEN.TRUNC);
    channel.writes.length = 0;
    const requests = await pumpUp(sftp, handle, src);
    await sftp.close(handle);
    expect(sha(await readFile(join(dir, 'up.bin')))).toBe(sha(src));
    // One write per WRITE request, and one for the CLOSE.
    expect(channel.writes.length).toBe(requests + 1);
    // Each of them an SFTP packet whose length is all of it.
    for (const w of channel.writes) expect(w.readUInt32BE(0) + 4).toBe(w.length);
  });

  it('without room the header goes first and the bytes after it, still one request, the file whole', async () => {
    const { sftp, channel, dir } = await session();
    const src = randomBytes(200 * 1024 + 3);
    const handle = await sftp.open(Buffer.from(join(dir, 'plain.bin')), OPEN.WRITE | OPEN.CREAT | OPEN.TRUNC);
    channel.writes.length = 0;
    // Bytes at the very start of their buffer: there is no room to use.
    const chunk = 64 * 1024;
    for (let at = 0; at < src.length; at += chunk) await sftp.write(handle, at, Buffer.from(src.subarray(at, at + chunk)), 0);
    await sftp.close(handle);
    expect(sha(await readFile(join(dir, 'plain.bin')))).toBe(sha(src));
    expect(channel.writes.length).toBe(2 * Math.ceil(src.length / chunk) + 1);
  });
});

/** Uploads `src` through the pump, as a transfer does; returns how many WRITE requests it made. */
async function pumpUp(sftp: SftpSession, handle: Buffer, src: Buffer): Promise<number> {
  let requests = 0;
  await pump(
    {
      read: async (offset, length, into) => {
        const n = Math.min(length, src.length - offset);
        if (n <= 0) return null;
        src.copy(into!, 0, offset, offset + n);
        return into!.subarray(0, n);
      },
    },
    {
      write: async (offset, data, room = 0) => {
        expect(room).toBeGreaterThanOrEqual(WRITE_HEADROOM);
        requests++;
        await sftp.write(handle, offset, data, room);
      },
    },
    { from: 0, size: src.length, chunk: Math.min(sftp.maxWrite, 255 * 1024), inFlight: 8, slots: new Slots(8), signal: new AbortController().signal, progress: new Progress(0), onBytes: () => {} },
  );
  return requests;
}
