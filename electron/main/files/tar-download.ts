import type { Readable } from 'node:stream';
import { KeylessFailure } from '../base/errors';
import { drainedOrClosed } from './channel-wait';
import type { RemoteSide } from './remote-side';

/**
 * Many small files move faster as one tar stream over a command than as SFTP requests (each file
 * an open, reads and a close: round trips that a stream does not wait for). Used for downloads of
 * folders of small files when the host has GNU tar; anything else, or any trouble, is left to SFTP.
 */

/** Whether the host's `tar` is GNU tar (it reads a NUL-separated list of names on its input). */
export async function hasGnuTar(side: RemoteSide, signal: AbortSignal): Promise<boolean> {
  try {
    const ch = await side.exec(Buffer.from('tar --version'), signal);
    let out = '';
    // The first line says it; a host that answers without end is not kept in memory.
    ch.on('data', (d: Buffer) => {
      if (out.length < 200) out += d.toString('latin1', 0, 200);
    });
    ch.stderr.on('data', () => {});
    await new Promise<void>((resolve) => ch.on('close', () => resolve()));
    return /GNU tar/.test(out.slice(0, 200));
  } catch {
    return false;
  }
}

/**
 * Streams `paths` (absolute, bytes) from the host as one tar archive: the names go to tar on its
 * standard input, NUL-separated, so no name ever reaches a shell or a command line. Links are
 * followed (`--dereference`, as the SFTP walk does). `onFile` gets each file's path (bytes), its
 * mode and its contents as a stream, one after another; the archive waits while it works.
 */
export async function tarStream(
  side: RemoteSide,
  paths: Buffer[],
  signal: AbortSignal,
  onFile: (path: Buffer, mode: number, size: number, data: Readable) => Promise<void>,
): Promise<void> {
  // tar-stream is loaded at the first folder download, not at start (as ssh/ssh2.ts and aws/sdk.ts).
  const { extract } = await import('tar-stream');
  const ch = await side.exec(Buffer.from('tar --null --no-recursion --dereference -cf - -T -'), signal);
  let stderr = '';
  ch.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  const exit = new Promise<number | null>((resolve) => ch.on('exit', (code: number | null) => resolve(code)));
  const onAbort = () => ch.close();
  signal.addEventListener('abort', onAbort, { once: true });
  let stopped = false;
  try {
    // Names as latin1 text: one character per byte, so a name that is not UTF-8 comes back as it was.
    // (tar-stream 3 reads `filenameEncoding`; its @types do not name it.)
    const archive = extract({ filenameEncoding: 'latin1' } as Parameters<typeof extract>[0]);
    ch.pipe(archive);
    // The names go in while the archive is read: a list longer than the channel's window (a few
    // MiB: thousands of long paths) waits for tar to take it, and tar waits for its output to be read.
    // `stopped` ends the feeding when the channel closes or the archive stops being read (a cancel,
    // a bad entry): no write goes to a channel being closed, and a refused write is no unhandled error.
    ch.once('close', () => (stopped = true));
    const feeding = (async () => {
      for (const p of paths) {
        if (stopped) return;
        if (!ch.write(Buffer.concat([p, Buffer.of(0)]))) await drainedOrClosed(ch);
      }
      if (!stopped) ch.end();
    })().catch(() => {
      // A write refused by a channel that is going away: the archive's own end says what happened.
    });
    for await (const entry of archive) {
      if (signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
      const h = entry.header;
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      // GNU tar drops the leading slash of absolute names.
      await onFile(Buffer.concat([Buffer.from('/'), Buffer.from(h.name, 'latin1')]), (h.mode ?? 0o644) & 0o7777, h.size ?? 0, entry as unknown as Readable);
    }
    await feeding;
    const code = await exit;
    if (signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
    // Exit 1: some file changed while read; 2: some could not be read. Files it sent are whole;
    // the caller moves what is missing over SFTP, which names each file's own problem.
    if (code !== 0 && code !== 1 && code !== 2) throw new KeylessFailure('SftpFailed', `tar on ${side.label} stopped (${code ?? 'cut off'}).`, code === null, { host: side.label, message: stderr.slice(0, 200) });
  } finally {
    stopped = true;
    signal.removeEventListener('abort', onAbort);
    ch.close();
  }
}
