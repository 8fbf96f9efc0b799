import { RowFilter, sameRows, warmUp, type FilterState, type Idle, type Row } from './inventory-filter';
import { SENT_CANDIDATES_MAX, type FromMatcher, type ToMatcher } from './row-matching';

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
 * Warm-up steps on the page run as tasks of their own right after the
 * rows are shown, not in idle moments: those come between the first keystrokes, and a step run
 * then made those keystrokes slower.
 */
const soon: Idle = (work) => {
  const id = setTimeout(() => work(() => Infinity), 0);
  return () => clearTimeout(id);
};

/**
 * How much the page searches itself, within the keystroke's own frame, rather than asking the
 * worker (whose answer is painted a frame later at best): a search over this many rows (terms,
 * text as written, and fuzzy text of up to eight words, which the page's own scorer ranks in the
 * same pass), and, for a query of more words, this many candidates for fuzzysort to score.
 */
export interface PageBudget {
  scan: number;
  fuzzy: number;
}
/**
 * Over the bench's 10,000 rows one pass takes 0.6–2 ms for terms, text as written and one fuzzy
 * word, 1–6 ms for several words (word-score.ts), so every keystroke is answered in its own
 * frame (tests/bench/inventory.ts: 100 % of them, from 93 % when broad fuzzy queries went to the
 * worker); past 20,000 rows the worker searches, so a far bigger inventory never holds the page.
 * Only as many candidates as the worker sends back can be narrowed on the page anyway.
 */
export const PAGE_BUDGET: PageBudget = { scan: 20_000, fuzzy: SENT_CANDIDATES_MAX };
/** Never on the page while the worker lives (tests of the worker's side). */
export const NO_PAGE_BUDGET: PageBudget = { scan: 0, fuzzy: 0 };

/**
 * The inventory filter for the page. A keystroke is answered on the page, in its own frame, when
 * that is cheap: the empty filter, a query answered lately over the same rows (erasing back), and
 * any search over at most `PageBudget.scan` rows (every row of an inventory of that size, or the
 * last answer's candidates when a character is typed on). The page holds the prepared rows
 * anyway. A search over more rows runs in a worker (row-matcher.worker.ts) so the page is never
 * held by a huge inventory; the worker sends back the answer's row indices and, when few, its
 * candidates, so the keystrokes after it narrow on the page again. Both sides run the same
 * `RowFilter`: an answer is the one `filterRows` gives, in the same order, wherever it was found.
 *
 * Each query carries a sequence number and each inventory a version; an answer for anything but
 * the newest query over the current rows is dropped, so typing fast can never end on an earlier
 * query's rows.
 *
 * If there is no worker, or it fails to start (or dies), every query runs on the page,
 * synchronously as before the worker existed; the newest query is re-run there.
 */
export class RowMatcher {
  private rows: Row[] = [];
  private version = 0;
  private seq = 0;
  private query = '';
  /** Whether the worker has a query of ours it has not answered. */
  private asked = false;
  /** The rows last shown: an answer with the same rows hands over this same array, so nothing downstream re-renders. */
  private shownRows: Row[] | undefined;
  /** Answers over the current rows by query, oldest used first: what the page's filter narrows from after each. */
  private answers = new Map<string, FilterState>();
  /** The filter on the page: the cheap keystrokes, and every one when there is no worker. */
  private readonly sync = new RowFilter();
  private stopWarmUp = () => {};

  constructor(
    private readonly onMatched: Matched,
    private worker: MatcherWorker | undefined,
    private readonly budget: PageBudget = PAGE_BUDGET,
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
    this.shownRows = undefined;
    this.answers.clear();
    this.sync.restore(undefined);
    this.stopWarmUp();
    if (this.worker) this.worker.postMessage({ kind: 'rows', version: this.version, instances: rows.map((r) => r.inst) });
    // The page scans every row for a fuzzy query's candidates too: the columns it scans are built here, not on a keystroke.
    this.stopWarmUp = warmUp(rows, soon);
    this.match(this.query);
  }

  match(query: string): void {
    this.query = query;
    const seq = ++this.seq;
    const known = this.answers.get(query);
    if (!query.trim()) this.show(this.rows, query, null);
    else if (known) {
      this.sync.restore(known);
      this.show(known.result, query, known);
    } else {
      const rows = this.onPage(query);
      if (rows) this.show(rows, query, this.sync.state!);
      else this.ask(query, seq);
    }
  }

  /** Asks the worker. */
  private ask(query: string, seq: number): void {
    if (this.worker) {
      this.worker.postMessage({ kind: 'query', version: this.version, seq, query });
      this.asked = true;
    }
  }

  dispose(): void {
    this.stopWarmUp();
    this.worker?.terminate();
    this.worker = undefined;
  }

  /**
   * The page's answer when it is within the budget (every query when there is no worker), else
   * null. A query of more words than the page's scorer ranks is scanned for its candidates first
   * (the cheap part) and scored by fuzzysort on the page only if they are few enough.
   */
  private onPage(query: string): Row[] | null {
    if (!this.worker) return this.sync.run(this.rows, query);
    const size = this.sync.searchSize(this.rows, query);
    if (size.rows <= (size.fuzzy ? this.budget.fuzzy : this.budget.scan)) return this.sync.run(this.rows, query);
    if (size.fuzzy && size.rows <= this.budget.scan) return this.sync.run(this.rows, query, this.budget.fuzzy);
    return null;
  }

  /** Shows an answer found now (`state` is what it leaves the page's filter with; null for the empty filter). */
  private show(rows: Row[], query: string, state: FilterState | null): void {
    if (this.asked && this.worker) {
      this.worker.postMessage({ kind: 'drop' });
      this.asked = false;
    }
    if (this.shownRows && sameRows(this.shownRows, rows)) rows = this.shownRows;
    else this.shownRows = rows;
    if (state) this.keep(query, state.result === rows ? state : { ...state, result: rows });
    this.onMatched(rows, query);
  }

  private keep(query: string, state: FilterState): void {
    this.answers.delete(query);
    this.answers.set(query, state);
    if (this.answers.size > KEPT_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
  }

  private answered(msg: FromMatcher): void {
    if (msg.seq !== this.seq || msg.version !== this.version) return;
    this.asked = false;
    const rows = this.rowsAt(msg.indices);
    const candidates = !msg.candidates ? null : msg.candidates === msg.indices ? rows : this.rowsAt(msg.candidates);
    const state = RowFilter.stateOf(this.rows, this.query, rows, candidates);
    this.sync.restore(state);
    this.show(rows, this.query, state);
  }

  private rowsAt(indices: Int32Array): Row[] {
    const rows = new Array<Row>(indices.length);
    for (let k = 0; k < indices.length; k++) rows[k] = this.rows[indices[k]!]!;
    return rows;
  }

  private fallBack(): void {
    const failed = this.worker;
    this.worker = undefined;
    this.asked = false;
    failed?.terminate();
    this.stopWarmUp = warmUp(this.rows, soon);
    if (failed) this.match(this.query);
  }
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
