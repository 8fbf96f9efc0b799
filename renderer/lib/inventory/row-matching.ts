import type { InventoryInstance } from '../../../electron/contract';
import { RowFilter, toRow, warmUp, type Idle, type Row } from './inventory-filter';

/**
 * What the inventory view and its filter worker say to each other. The rows go over once per
 * inventory (in the view's order, so an answer can be row indices); each keystroke sends only the
 * query and gets back the indices of the matching rows, best first, in a buffer handed over rather
 * than copied.
 */
export type ToMatcher =
  | { kind: 'rows'; version: number; instances: InventoryInstance[] }
  | { kind: 'query'; version: number; seq: number; query: string }
  /** The page answered on its own: a query still waiting need not be searched. */
  | { kind: 'drop' };
/**
 * `candidates`: the rows a query extending this one can keep (see `RowFilter`), when few enough
 * for the page to narrow the next keystroke from them itself; absent otherwise.
 */
export type FromMatcher = { kind: 'matched'; version: number; seq: number; indices: Int32Array; candidates?: Int32Array };

/** Candidates the worker sends back with an answer at most: more would be searched in the worker anyway. */
export const SENT_CANDIDATES_MAX = 4000;

/**
 * The worker's side: the rows prepared once per inventory (fuzzysort's prepared text, the query
 * candidates, the character masks) and the same `RowFilter` the page used to run itself, so a
 * query's answer is the one `filterRows` gives, in the same order.
 */
export class RowMatchService {
  private rows: Row[] = [];
  private version = -1;
  private index = new Map<Row, number>();
  private filter = new RowFilter();
  private stopWarmUp = () => {};

  constructor(private readonly idle?: Idle) {}

  setRows(version: number, instances: readonly InventoryInstance[]): void {
    this.version = version;
    this.rows = instances.map(toRow);
    this.index = new Map(this.rows.map((r, i) => [r, i]));
    this.filter = new RowFilter();
    this.stopWarmUp();
    if (this.idle) this.stopWarmUp = warmUp(this.rows, this.idle);
  }

  /**
   * The indices of the rows `query` keeps, best first, and of its candidates when there are at
   * most `SENT_CANDIDATES_MAX` (and they are not the kept rows themselves: then the page takes
   * those); null when the query is for rows this side no longer holds.
   */
  match(version: number, query: string): { indices: Int32Array; candidates?: Int32Array } | null {
    if (version !== this.version) return null;
    const kept = this.filter.run(this.rows, query);
    const indices = this.indicesOf(kept);
    const candidates = this.filter.state?.candidates;
    if (!candidates || candidates.length > SENT_CANDIDATES_MAX) return { indices };
    return { indices, candidates: candidates === kept ? indices : this.indicesOf(candidates) };
  }

  private indicesOf(rows: readonly Row[]): Int32Array {
    const out = new Int32Array(rows.length);
    for (let k = 0; k < rows.length; k++) out[k] = this.index.get(rows[k]!)!;
    return out;
  }
}
