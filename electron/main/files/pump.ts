import { KeylessFailure } from '../base/errors';

/** Where bytes come from: a range at a time (a remote file over SFTP, a local file, the renderer). */
export interface RangeReader {
  /**
   * Up to `length` bytes at `offset` (fewer near the end); null at the end. A reader may return
   * them in `into` (the caller's, big enough for `length` plus READ_HEADROOM, and not touched
   * again by the reader once the read has resolved) instead of a buffer of its own.
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer | null>;
}

/** Room a reader may use in `into` besides the bytes asked for (an SFTP DATA reply's header). */
export const READ_HEADROOM = 64;
/**
 * Room kept free before where a reader puts the bytes, for a writer to put its request's header in
 * (an SFTP WRITE's): header and bytes then leave as one write, one run of SSH packets.
 */
export const WRITE_HEADROOM = 64;
/** Where they go, at any offset in any order. */
export interface RangeWriter {
  /**
   * `room`: how many bytes just before `data`, in the same buffer, the writer may overwrite (they
   * are the caller's and unused until this write has resolved); 0 when none.
   */
  write(offset: number, data: Buffer, room?: number): Promise<void>;
}

/** The bytes before `data` inside `scratch` (0 when `data` is not inside it). */
function roomBefore(data: Buffer, scratch: Buffer): number {
  if (data.buffer !== scratch.buffer) return 0;
  const room = data.byteOffset - scratch.byteOffset;
  return room >= 0 && room + data.length <= scratch.length ? room : 0;
}

/** Request slots shared by every file of a transfer: what bounds its memory, whatever the sizes. */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(readonly size: number) {
    this.free = size;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** How far a pump got: every byte before `done` is written (what a resume starts from). */
export class Progress {
  done = 0;
  private readonly finished = new Map<number, number>();
  constructor(from: number) {
    this.done = from;
  }
  /** [offset, end) is written. */
  mark(offset: number, end: number): void {
    if (offset !== this.done) {
      this.finished.set(offset, end);
      return;
    }
    this.done = end;
    for (let next = this.finished.get(this.done); next !== undefined; next = this.finished.get(this.done)) {
      this.finished.delete(this.done);
      this.done = next;
    }
  }
}

export interface PumpOptions {
  /** Where to start (a resume starts where `Progress.done` stopped). */
  from: number;
  /** The size the file had when it was opened: reading stops there (a file that grows is moved as it was). */
  size: number;
  /** Bytes per request: at most what the server reads or writes at once. */
  chunk: number;
  /** Requests one file keeps in flight at most (besides the shared slots). */
  inFlight: number;
  slots: Slots;
  signal: AbortSignal;
  progress: Progress;
  /** Bytes written, as they are. */
  onBytes(n: number): void;
}

/**
 * Copies [from, size) from `reader` to `writer` with several requests in flight: reads are asked
 * for ahead of the writes, so the link is kept busy across its round trip, as OpenSSH's sftp and
 * ssh2's fastGet do; memory is bounded by the requests in flight (chunk × slots), not by the file.
 * Returns where the file ended (before `size` when it shrank meanwhile).
 */
export async function pump(reader: RangeReader, writer: RangeWriter, opts: PumpOptions): Promise<number> {
  let next = opts.from;
  let end = opts.size;
  let failure: unknown;
  const worker = async () => {
    // One buffer a worker reads into and writes from again and again: moving a file allocates no
    // buffer per request, so the garbage collector (which V8 runs each time some tens of MB of
    // buffers have been made) runs far less often. A write has resolved before the next read.
    let scratch: Buffer | undefined;
    let readInto: Buffer | undefined;
    while (failure === undefined && next < end) {
      if (opts.signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
      const offset = next;
      const length = Math.min(opts.chunk, end - offset);
      next += length;
      await opts.slots.take();
      try {
        let at = offset;
        // A short read (the server gave less) is continued by the same worker.
        while (at < offset + length && at < end) {
          scratch ??= Buffer.allocUnsafe(WRITE_HEADROOM + opts.chunk + READ_HEADROOM);
          readInto ??= scratch.subarray(WRITE_HEADROOM);
          const data = await reader.read(at, offset + length - at, readInto);
          if (opts.signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
          if (data === null || data.length === 0) {
            // The file is shorter than it was: it ends here.
            end = Math.min(end, at);
            break;
          }
          await writer.write(at, data, roomBefore(data, scratch));
          opts.progress.mark(at, at + data.length);
          opts.onBytes(data.length);
          at += data.length;
        }
      } finally {
        opts.slots.give();
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(opts.inFlight, Math.ceil((end - opts.from) / opts.chunk))) }, () =>
    worker().catch((err: unknown) => {
      failure ??= err;
    }),
  );
  await Promise.all(workers);
  if (failure !== undefined) throw failure;
  return end;
}
