import { RowFilter, warmUp, type Idle, type Row } from './inventory-filter';
import type { FromMatcher, ToMatcher } from './row-matching';

/** As much of a `Worker` as the matcher uses, so a test can stand in for one. */
export interface MatcherWorker {
  postMessage(message: ToMatcher): void;
  onmessage: ((e: MessageEvent<FromMatcher>) => void) | null;
  onerror: ((e: Event) => void) | null;
  terminate(): void;
}

/** The rows a query keeps, and the query, once they are known: the view shows them. */
export type Matched = (rows: Row[], query: string) => void;

/** Answers kept per inventory, the most recently used: enough for erasing back through a long query. */
const KEPT_ANSWERS = 32;

/**
 * Warm-up steps on the page (synchronous fallback only) run as tasks of their own right after the
 * rows are shown, not in idle moments: those come between the first keystrokes, and a step run
 * then made those keystrokes slower.
 */
const soon: Idle = (work) => {
  const id = setTimeout(() => work(() => Infinity), 0);
  return () => clearTimeout(id);
};

/**
 * The inventory filter for the page: the matching runs in a worker (row-matcher.worker.ts) so a
 * keystroke never holds the page while ten thousand rows are searched; the page only turns the
 * answer's row indices back into its rows and paints the visible window.
 *
 * Each query carries a sequence number and each inventory a version; an answer for anything but
 * the newest query over the current rows is dropped, so typing fast can never end on an earlier
 * query's rows. An empty filter is answered at once (every row, in order) without asking, and so
 * is a query the worker answered lately over the same rows (erasing back to what was typed before).
 *
 * If there is no worker, or it fails to start (or dies), the same `RowFilter` runs on the page
 * instead, answering synchronously as before the worker existed; the newest query is re-run there.
 */
export class RowMatcher {
  private rows: Row[] = [];
  private version = 0;
  private seq = 0;
  private query = '';
  private shown: { version: number; indices: Int32Array; rows: Row[] } | undefined;
  /** The worker's answers over the current rows by query, oldest used first. */
  private answers = new Map<string, Row[]>();
  private sync: RowFilter | undefined;
  private stopWarmUp = () => {};

  constructor(
    private readonly onMatched: Matched,
    private worker: MatcherWorker | undefined,
  ) {
    if (worker) {
      worker.onmessage = (e) => this.answered(e.data);
      worker.onerror = () => this.fallBack();
    } else this.fallBack();
  }

  /** Whether the matching runs in a worker (false: on the page, the fallback). */
  get inWorker(): boolean {
    return !!this.worker;
  }

  /** A new inventory: sent to the worker once, in the order the view shows it; the current query runs over it. */
  setRows(rows: Row[]): void {
    this.rows = rows;
    this.version++;
    this.shown = undefined;
    this.answers.clear();
    this.stopWarmUp();
    if (this.worker) this.worker.postMessage({ kind: 'rows', version: this.version, instances: rows.map((r) => r.inst) });
    else this.stopWarmUp = warmUp(rows, soon);
    this.match(this.query);
  }

  match(query: string): void {
    this.query = query;
    const seq = ++this.seq;
    const known = this.answers.get(query);
    if (!query.trim()) this.onMatched(this.rows, query);
    else if (known) {
      this.answers.delete(query);
      this.answers.set(query, known);
      this.onMatched(known, query);
    } else if (this.worker) this.worker.postMessage({ kind: 'query', version: this.version, seq, query });
    else this.onMatched((this.sync ??= new RowFilter()).run(this.rows, query), query);
  }

  dispose(): void {
    this.stopWarmUp();
    this.worker?.terminate();
    this.worker = undefined;
  }

  private answered(msg: FromMatcher): void {
    if (msg.seq !== this.seq || msg.version !== this.version) return;
    const { indices } = msg;
    // The same rows as the last answer (typing on inside a match): the same array, so nothing downstream re-renders.
    const last = this.shown;
    let rows: Row[];
    if (last && last.version === msg.version && sameIndices(last.indices, indices)) rows = last.rows;
    else {
      rows = new Array<Row>(indices.length);
      for (let k = 0; k < indices.length; k++) rows[k] = this.rows[indices[k]!]!;
      this.shown = { version: msg.version, indices, rows };
    }
    this.answers.set(this.query, rows);
    if (this.answers.size > KEPT_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
    this.onMatched(rows, this.query);
  }

  private fallBack(): void {
    const failed = this.worker;
    this.worker = undefined;
    failed?.terminate();
    this.sync = new RowFilter();
    this.stopWarmUp = warmUp(this.rows, soon);
    if (failed) this.match(this.query);
  }
}

function sameIndices(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** The matcher with its worker, or on the page where workers cannot be made. */
export function startRowMatcher(onMatched: Matched): RowMatcher {
  let worker: MatcherWorker | undefined;
  try {
    if (typeof Worker !== 'undefined') worker = new Worker(new URL('./row-matcher.worker.ts', import.meta.url), { type: 'module', name: 'inventory-filter' }) as MatcherWorker;
  } catch {
    worker = undefined;
  }
  return new RowMatcher(onMatched, worker);
}
