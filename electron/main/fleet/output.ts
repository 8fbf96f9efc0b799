/** Bytes of each stream kept per host; past it the rest is counted, not kept, and where it was cut is noted. */
export const OUTPUT_CAP_BYTES = 64 * 1024;
/**
 * Bytes one run keeps of all its hosts' output together: 1,024 hosts' full 64 KiB of stdout. Past
 * it a host's output is counted, not kept, as past its own cap (a run may have 5,000 hosts, and 50
 * runs are kept: without it, a chatty command could hold gigabytes).
 */
export const RUN_OUTPUT_BYTES = 64 * 1024 * 1024;
const LAST_LINE_CHARS = 200;

/** What a run's hosts may keep between them; once it is spent, nothing more is kept. */
export class OutputBudget {
  used = 0;
  constructor(readonly limit = RUN_OUTPUT_BYTES) {}
  /** Up to `n` bytes more may be kept: how many. */
  take(n: number): number {
    const granted = Math.max(0, Math.min(n, this.limit - this.used));
    this.used += granted;
    return granted;
  }
}

/** One stream of one host's output: the first `cap` bytes, the total, and the last line seen. */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  /** The tail since the last newline, and the last complete non-empty line. */
  private partial = Buffer.alloc(0);
  private lastComplete = '';

  /** Whether the run's budget, not this stream's own cap, is what stopped the keeping. */
  cutByRun = false;

  constructor(
    private readonly cap = OUTPUT_CAP_BYTES,
    private readonly budget?: OutputBudget,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    // What is kept is always the stream's beginning: once the budget refused some, nothing after it is kept.
    if (this.kept < this.cap && !this.cutByRun) {
      const wanted = Math.min(chunk.length, this.cap - this.kept);
      const granted = this.budget ? this.budget.take(wanted) : wanted;
      if (granted < wanted) this.cutByRun = true;
      if (granted > 0) {
        this.chunks.push(chunk.subarray(0, granted));
        this.kept += granted;
      }
    }
    // Only the last line matters: look at the chunk's end, not the whole of it.
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      this.partial = Buffer.concat([this.partial, chunk]).subarray(-4096);
      return;
    }
    const before = Buffer.concat([this.partial, chunk.subarray(0, nl)]);
    const line = lastNonEmptyLine(before);
    if (line !== undefined) this.lastComplete = line;
    this.partial = Buffer.from(chunk.subarray(nl + 1)).subarray(-4096);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** The byte where keeping stopped, when some output was not kept. */
  get cutAt(): number | undefined {
    return this.total > this.kept ? this.kept : undefined;
  }

  get lastLine(): string {
    const tail = lastNonEmptyLine(this.partial);
    return clean(tail ?? this.lastComplete);
  }

  /** Lines of the kept output (a last line without a newline counts). */
  get lines(): number {
    const b = this.bytes;
    if (b.length === 0) return 0;
    let n = 0;
    for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
    return b[b.length - 1] === 0x0a ? n : n + 1;
  }
}

function lastNonEmptyLine(b: Buffer): string | undefined {
  const lines = b.toString('utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return lines[i]!;
  return undefined;
}

/** A line fit to show in a row: no control characters (a host's output may carry escape sequences), at most 200 characters. */
export function clean(line: string): string {
  // eslint-disable-next-line no-control-regex
  const text = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  return text.length > LAST_LINE_CHARS ? text.slice(0, LAST_LINE_CHARS - 1) + '…' : text;
}
