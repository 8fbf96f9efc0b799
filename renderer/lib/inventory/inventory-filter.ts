import fuzzysort from 'fuzzysort';
import { combine, holds, scoreColumn, scoreIn, scoreWord, scoreWords, wordsIn, type ScoreColumn } from './word-score';
import { FUZZY_FROM, candidateOf, isSubsequence, parseQuery, searchText, tagValue, termsTest, type InventoryInstance, type QueryCandidate, type QueryTerm } from '../../../electron/contract';

/**
 * An instance with what the filter needs prepared once per inventory, not once per keystroke. It is
 * the query language's candidate (electron/contract/query.ts: the same fields, tags and folded text
 * a smart group matches), plus what the fuzzy ranking and the table need.
 */
export interface Row extends QueryCandidate {
  /** Unique across profiles and regions (an instance id is unique only within its account). */
  key: string;
  inst: InventoryInstance;
  /** Each searchable field prepared on its own, so a fuzzy match never strings letters across fields. */
  name: Fuzzysort.Prepared;
  id: Fuzzysort.Prepared;
  ips: Fuzzysort.Prepared;
  tagText: Fuzzysort.Prepared;
  /** The tags column as shown (`key=value`, Name left out), built once rather than on every render. */
  tagLine: string;
  /** Per searchable field (name, id, ips, tagText), the characters it holds as two bit masks: see `charMask`. */
  masks: number[];
  /**
   * A row is its own line in the table (see `Line`): the ungrouped table's lines are the filter's
   * answer itself, with nothing made per row at each keystroke.
   */
  kind: 'row';
  row: Row;
}

export const rowKey = (i: Pick<InventoryInstance, 'profile' | 'region' | 'id'>) => `${i.profile}/${i.region}/${i.id}`;

export function toRow(inst: InventoryInstance): Row {
  const { fields, tags, folded } = candidateOf(inst);
  const [, , ips, tagText] = searchText(inst);
  const row: Row = {
    key: rowKey(inst),
    inst,
    name: fuzzysort.prepare(inst.name),
    id: fuzzysort.prepare(inst.id),
    ips: fuzzysort.prepare(ips),
    tagText: fuzzysort.prepare(tagText),
    fields,
    tags,
    tagLine: Object.entries(inst.tags)
      .filter(([k]) => k !== 'Name')
      .map(([k, v]) => `${k}=${v}`)
      .join('  '),
    masks: folded.flatMap(charMask),
    folded,
    kind: 'row',
    row: undefined as unknown as Row,
  };
  row.row = row;
  return row;
}

/**
 * The ASCII characters of a folded string (see `fold`) as two bit masks: letters and digits in one,
 * other printable ASCII in the other (several characters may share a bit). A word can be a
 * subsequence of a field only if the field's masks hold all of the word's bits, so most fields
 * are ruled out without searching them. Only bits 0–29 are used, so a mask is always a small
 * integer to the engine (a 31st bit would make some rows' mask arrays hold doubles and the loop
 * over them slower).
 */
export function charMask(folded: string): [number, number] {
  let a = 0;
  let b = 0;
  for (let k = 0; k < folded.length; k++) {
    const c = folded.charCodeAt(k);
    if (c >= 97 && c <= 122) a |= 1 << (c - 97);
    else if (c >= 48 && c <= 57) a |= 1 << (26 + ((c - 48) % 4));
    else if (c > 32 && c < 127) b |= 1 << c % 30;
  }
  return [a, b];
}

/**
 * What fuzzysort searches for one row: only the fields that can match this query. The others are
 * null, which it skips at once (undefined would send it down its dotted-path lookup for each).
 */
interface SearchView {
  row: Row;
  name: Fuzzysort.Prepared | null;
  id: Fuzzysort.Prepared | null;
  ips: Fuzzysort.Prepared | null;
  tagText: Fuzzysort.Prepared | null;
}

/**
 * Bit k set when field k of the row (name, id, ips, tagText) holds at least one of the words as
 * a subsequence; 0 when some word is in no field. The character masks rule most fields out before
 * any string is searched.
 */
function fieldsFor(row: Row, words: readonly string[], masks: readonly number[]): number {
  const m = row.masks;
  const f = row.folded;
  let any = 0;
  for (let w = 0; w < words.length; w++) {
    const qa = masks[2 * w]!;
    const qb = masks[2 * w + 1]!;
    const word = words[w]!;
    let here = 0;
    for (let k = 0; k < 4; k++) {
      if ((m[2 * k]! & qa) === qa && (m[2 * k + 1]! & qb) === qb && isSubsequence(word, f[k]!)) here |= 1 << k;
    }
    if (here === 0) return 0;
    any |= here;
  }
  return any;
}

/**
 * fuzzysort over the rows, best first, and the candidates it was given.
 *
 * fuzzysort matches a word in a field only if the word's characters appear there in order, and a
 * row only if each word does in some field. So the candidates are the rows where that holds, each
 * handed over with only the fields that hold a word: fuzzysort finds nothing in the others, so
 * leaving them out changes no score, only saves it scanning them. Typing on only ever shrinks the
 * candidates and nothing else decides them, so they are what the next keystroke narrows from (the
 * matches themselves are not: a longer query can score above the threshold where a shorter one
 * did not). Null, without scoring, when there are more than `maxScored` candidates.
 */
function fuzzyRows(words: readonly string[], rows: readonly Row[], all: readonly Row[] = rows, maxScored = Infinity): { result: Row[]; candidates: Row[] } | null {
  const text = words.join(' ');
  words = [...new Set(words)];
  // A word given twice is still a query with a space to fuzzysort (the whole text may match as one).
  if (words.length === 1 && !text.includes(' ')) return rankedByWord(words[0]!, rows, all);
  if (words.length <= MANY_WORDS) return rankedByWords(words, text, rows, all);
  // More words than the page's scorer takes: fuzzysort itself scores the candidates.
  const masks = words.flatMap((w) => charMask(w));
  const candidates: Row[] = [];
  const views: SearchView[] = [];
  // Most of the inventory to look through: one regular expression per field over all of it.
  const cols = rows.length * 2 > all.length ? columnsOf(all) : null;
  const scanned = cols ? scanColumns(words, cols) : null;
  // `rows` keeps `all`'s order, so a row's place in `all` is found by walking on from the last one.
  let j = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (scanned) while (j < all.length && all[j] !== row) j++;
    const on = scanned && j < all.length ? scanned[j]! : fieldsFor(row, words, masks);
    if (on === 0) continue;
    candidates.push(row);
    views.push({ row, name: on & 1 ? row.name : null, id: on & 2 ? row.id : null, ips: on & 4 ? row.ips : null, tagText: on & 8 ? row.tagText : null });
  }
  // Past the caller's budget: the scoring (the costly part) is left to be done elsewhere.
  if (candidates.length > maxScored) return null;
  const result = views.length ? fuzzysort.go(text, views, { keys: FIELD_KEYS, threshold: THRESHOLD }).map((m) => m.obj.row) : [];
  return { result, candidates };
}

/**
 * `fuzzyRows` for a query of one word: each row's fields scored by the page's own scorer
 * (word-score.ts: fuzzysort's score, to the bit, without its per-call costs) in one pass that is
 * the candidate scan too, and the rows sorted best first. Rows with equal scores keep the
 * inventory's order (fuzzysort's heap leaves them in no particular one).
 */
function rankedByWord(word: string, rows: readonly Row[], all: readonly Row[]): { result: Row[]; candidates: Row[] } {
  const cols = scoreColumnsOf(all);
  const w = scoreWord(word);
  const [qa, qb] = charMask(word);
  const masks = cols.masks;
  const score = scores(rows.length);
  const candidates: Row[] = [];
  const whole = rows === all;
  // `rows` keeps `all`'s order, so a row's place in `all` is found by walking on from the last one.
  let j = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (whole) j = r;
    else while (j < all.length && all[j] !== row) j++;
    // Not `all`'s rows after all (never so from `RowFilter`): scored over themselves instead.
    if (j === all.length) return rankedByWord(word, rows, rows);
    let best = -Infinity;
    for (let k = 0; k < 4; k++) {
      if ((masks[8 * j + 2 * k]! & qa) !== qa || (masks[8 * j + 2 * k + 1]! & qb) !== qb) continue;
      const here = scoreIn(w, cols.fields[k] ?? fieldColumn(cols, k), j);
      if (here !== -Infinity) best = combine(best, here);
    }
    if (best === -Infinity) continue;
    score[candidates.length] = best;
    candidates.push(row);
  }
  const order = bestFirst(score, candidates.length);
  const result = new Array<Row>(order.length);
  for (let k = 0; k < order.length; k++) result[k] = candidates[order[k]!]!;
  return { result, candidates };
}

/** Every row's four searchable fields as score columns (word-score.ts), each made when first needed, and their character masks side by side. */
interface ScoreColumns {
  rows: readonly Row[];
  fields: Array<ScoreColumn | undefined>;
  /** Row r's masks at 8r…8r+7: two per field, as `Row.masks`. */
  masks: Int32Array;
}

/** The searchable fields, in the order fuzzysort's keys combine them (and the score columns hold them). */
const FIELD_KEYS = ['name', 'id', 'ips', 'tagText'] as const;
const scoreColumnsCache = new WeakMap<readonly Row[], ScoreColumns>();

function scoreColumnsOf(rows: readonly Row[]): ScoreColumns {
  let cols = scoreColumnsCache.get(rows);
  if (cols) return cols;
  const masks = new Int32Array(8 * rows.length);
  for (let r = 0; r < rows.length; r++) masks.set(rows[r]!.masks, 8 * r);
  cols = { rows, fields: [undefined, undefined, undefined, undefined], masks };
  scoreColumnsCache.set(rows, cols);
  return cols;
}

/** Field k's score column (a few milliseconds per 10,000 rows: `warmUp` makes each in a task of its own). */
function fieldColumn(cols: ScoreColumns, k: number): ScoreColumn {
  return (cols.fields[k] ??= scoreColumn(cols.rows.map((r) => r[FIELD_KEYS[k]!])));
}

/**
 * Scratch space the ranking reuses from one keystroke to the next: typed arrays of an
 * inventory's length made afresh at every key are memory outside the engine's heap that it
 * collects only now and then, in a pause that can land in a keystroke's frame.
 */
let scratchScores = new Float64Array(0);
let scratchKeys = new Float64Array(0);
let scratchOrder = new Int32Array(0);
function scores(n: number): Float64Array {
  if (scratchScores.length < n) {
    scratchScores = new Float64Array(n);
    scratchKeys = new Float64Array(n);
    scratchOrder = new Int32Array(n);
  }
  return scratchScores;
}

/** Queries of more words than this are left to fuzzysort itself (a row's score is a loop over its words per field). */
const MANY_WORDS = 8;

/**
 * `fuzzyRows` for a query of several words, fuzzysort's way (each word's best share over the
 * fields, a field matching more words scoring higher, the words found in order scoring higher),
 * by the page's scorer (`wordsIn`): a row is kept when every word is in some field.
 */
function rankedByWords(words: readonly string[], text: string, rows: readonly Row[], all: readonly Row[]): { result: Row[]; candidates: Row[] } {
  const cols = scoreColumnsOf(all);
  const q = scoreWords(words, text);
  const n = q.words.length;
  const masks = cols.masks;
  const wordMasks = words.flatMap((w) => charMask(w));
  const total = scores(rows.length);
  const best = new Float64Array(n);
  const shares = new Float64Array(n);
  const candidates: Row[] = [];
  const whole = rows === all;
  let j = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (whole) j = r;
    else while (j < all.length && all[j] !== row) j++;
    if (j === all.length) return rankedByWords(words, text, rows, rows);
    // Every word in some field, or the row is out: the cheap in-order check before any scoring.
    let every = true;
    for (let w = 0; w < n && every; w++) {
      let some = false;
      for (let k = 0; k < 4 && !some; k++) {
        some = (masks[8 * j + 2 * k]! & wordMasks[2 * w]!) === wordMasks[2 * w] && (masks[8 * j + 2 * k + 1]! & wordMasks[2 * w + 1]!) === wordMasks[2 * w + 1] && holds(q.words[w]!, cols.fields[k] ?? fieldColumn(cols, k), j);
      }
      every = some;
    }
    if (!every) continue;
    best.fill(-Infinity);
    for (let k = 0; k < 4; k++) {
      // A field holding none of the words' characters cannot match any of them.
      const fa = masks[8 * j + 2 * k]!;
      const fb = masks[8 * j + 2 * k + 1]!;
      let some = false;
      for (let w = 0; w < n && !some; w++) some = (fa & wordMasks[2 * w]!) === wordMasks[2 * w] && (fb & wordMasks[2 * w + 1]!) === wordMasks[2 * w + 1];
      if (!some || !wordsIn(q, cols.fields[k] ?? fieldColumn(cols, k), j, shares)) continue;
      for (let w = 0; w < n; w++) best[w] = combine(best[w]!, shares[w]!);
    }
    let score = 0;
    for (let w = 0; w < n && score !== -Infinity; w++) score = best[w] === -Infinity ? -Infinity : score + best[w]!;
    if (score === -Infinity) continue;
    total[candidates.length] = score;
    candidates.push(row);
  }
  const order = bestFirst(total, candidates.length);
  const result = new Array<Row>(order.length);
  for (let k = 0; k < order.length; k++) result[k] = candidates[order[k]!]!;
  return { result, candidates };
}

/**
 * The positions 0…n-1 ordered by `scores` (highest first), equal scores in position order: each
 * score's rank among the distinct scores, times n, plus the position, sorted as plain numbers
 * (the engine's native sort, no comparison callback per pair).
 */
function bestFirst(scores: Float64Array, n: number): Int32Array {
  const sorted = scratchKeys.subarray(0, n);
  sorted.set(scores.subarray(0, n));
  sorted.sort();
  const rank = new Map<number, number>();
  for (let k = n - 1; k >= 0; k--) if (k === n - 1 || sorted[k] !== sorted[k + 1]) rank.set(sorted[k]!, rank.size);
  const keys = sorted;
  for (let k = 0; k < n; k++) keys[k] = rank.get(scores[k]!)! * n + k;
  keys.sort();
  const order = scratchOrder.subarray(0, n);
  for (let k = 0; k < n; k++) order[k] = keys[k]! % n;
  return order;
}

/**
 * `textMatches` for text below FUZZY_FROM (each word as written in some field), without its
 * per-row set-up: the first keys of a word scan every row, and this is most of their cost.
 */
function writtenIn(words: readonly string[], row: Row): boolean {
  const f = row.folded;
  for (let w = 0; w < words.length; w++) {
    const word = words[w]!;
    let found = false;
    for (let k = 0; k < f.length && !found; k++) found = f[k]!.includes(word);
    if (!found) return false;
  }
  return true;
}

/**
 * The rows (of `all`, in its order) in which each word is written as it is in some field. Over
 * most of the inventory each word is looked for in each field's column with indexOf, jumping from
 * one hit to the next row: a native search instead of four calls per row.
 */
function writtenRows(words: readonly string[], rows: readonly Row[], all: readonly Row[]): Row[] {
  const cols = rows.length * 2 > all.length ? columnsOf(all) : null;
  if (!cols) return rows.filter((r) => writtenIn(words, r));
  const n = all.length;
  const has = new Uint8Array(n).fill(1);
  const here = new Uint8Array(n);
  for (const word of words) {
    here.fill(0);
    for (let k = 0; k < 4; k++) {
      const text = cols.text[k]!;
      const starts = cols.starts[k]!;
      let r = 0;
      for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, starts[r + 1]!)) {
        // The row whose line holds the hit: lines are in order, so walk on from the last one.
        while (starts[r + 1]! <= at) r++;
        here[r] = 1;
      }
    }
    for (let r = 0; r < n; r++) has[r]! &= here[r]!;
  }
  const out: Row[] = [];
  let j = 0;
  for (const row of rows) {
    while (j < n && all[j] !== row) j++;
    if (j === n) return rows.filter((r) => writtenIn(words, r));
    if (has[j]) out.push(row);
  }
  return out;
}

/** The searchable fields of every row, each field's folded text of all rows in one string, a row a line. */
interface Columns {
  text: string[];
  /** Per field, where each row's line starts (and, last, the text's length + 1). */
  starts: Int32Array[];
}

/** Lines longer than this could make a regular expression backtrack for long: such inventories are scanned row by row. */
const COLUMN_LINE_MAX = 400;
const columnsCache = new WeakMap<readonly Row[], Columns | null>();

function columnsOf(rows: readonly Row[]): Columns | null {
  let cols = columnsCache.get(rows);
  if (cols !== undefined) return cols;
  cols = { text: [], starts: [] };
  for (let k = 0; k < 4 && cols; k++) {
    const starts = new Int32Array(rows.length + 1);
    let at = 0;
    for (let r = 0; r < rows.length; r++) {
      const f = rows[r]!.folded[k]!;
      if (f.length > COLUMN_LINE_MAX || f.includes('\n')) {
        cols = null;
        break;
      }
      starts[r] = at;
      at += f.length + 1;
    }
    if (!cols) break;
    starts[rows.length] = at;
    cols.starts.push(starts);
    cols.text.push(rows.map((r) => r.folded[k]!).join('\n'));
  }
  columnsCache.set(rows, cols);
  return cols;
}

const escapeRegExp = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * The regular expression `scanColumns` looks for a word with: its first character, then either
 * the rest in order (marked by the empty group) or the rest of the line. Each later character is
 * reached over characters that are not it, so nothing can be matched two ways: an attempt costs at
 * most its line, there is one per line, and tag values from AWS cannot make it backtrack (`a.*?a.*?b`
 * over a line of `a`s took seconds a row).
 */
function subsequencePattern(word: string): RegExp {
  // Character by character as indexOf and fuzzysort compare (a surrogate pair's halves too).
  const [first = '', ...rest] = word.split('');
  const inOrder = rest.map((c) => `[^\\n${escapeRegExp(c)}]*${escapeRegExp(c)}`).join('');
  return new RegExp(`${escapeRegExp(first)}(?:${inOrder}()|[^\\n]*)`, 'g');
}

/**
 * `fieldsFor` for every row at once: per word and field, one regular expression over the field's
 * column finds the rows where the word is a subsequence of that field, in native code rather than
 * a call per row.
 */
function scanColumns(words: readonly string[], cols: Columns): Uint8Array {
  const n = cols.starts[0]!.length - 1;
  const on = new Uint8Array(n);
  const here = new Uint8Array(n);
  for (let w = 0; w < words.length; w++) {
    here.fill(0);
    const re = subsequencePattern(words[w]!);
    for (let k = 0; k < 4; k++) {
      const text = cols.text[k]!;
      const starts = cols.starts[k]!;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text))) {
        // The row whose line holds the match: the last start at or before it.
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (starts[mid]! <= m.index) lo = mid;
          else hi = mid - 1;
        }
        if (m[1] !== undefined) here[lo]! |= 1 << k;
        re.lastIndex = starts[lo + 1]!;
      }
      re.lastIndex = 0;
    }
    for (let r = 0; r < n; r++) on[r] = w === 0 ? here[r]! : on[r]! && here[r]! ? on[r]! | here[r]! : 0;
  }
  return on;
}

/**
 * No threshold: fuzzysort ranks every row whose words it matches, so the rows shown are exactly
 * those the query language matches (`textMatches`) — a smart group of the same query holds the
 * same instances — and a weak match only sorts last.
 */
const THRESHOLD = 0;

/**
 * The rows a filter keeps, by the query language of electron/contract/query.ts (the terms as a
 * smart group reads them; every word of the free text in some field, its letters in order), the
 * free text ranked by fuzzysort, best match first. Without free text the input order is kept.
 */
export function filterRows(rows: readonly Row[], query: string): Row[] {
  return new RowFilter().run(rows, query);
}

/** What a `RowFilter` last answered: the query's parts, the rows it kept and the rows the next keystroke may narrow from. */
export interface FilterState {
  rows: readonly Row[];
  terms: string;
  text: string;
  fuzzy: boolean;
  result: Row[];
  /** Every row a query extending this one can keep (see `narrows`); null when not known, so nothing narrows from it. */
  candidates: readonly Row[] | null;
}

interface Parsed {
  terms: QueryTerm[];
  words: string[];
  text: string;
  termsKey: string;
  fuzzy: boolean;
}

function parsed(query: string): Parsed {
  const { terms, words } = parseQuery(query.trim());
  return { terms, words, text: words.join(' '), termsKey: JSON.stringify(terms), fuzzy: words.join('').length >= FUZZY_FROM };
}

/**
 * Whether a query's answer lies within `l.candidates`: the same rows, the same terms or terms that
 * keep fewer (see `termsNarrow`), the free text grown at its end (a longer word is a subsequence
 * or substring of fewer fields, one more word is one more condition), and the same kind of text
 * match (below FUZZY_FROM a word is matched as written, from it as a subsequence, which keeps more).
 */
function narrows(l: FilterState | undefined, rows: readonly Row[], p: Parsed): l is FilterState & { candidates: readonly Row[] } {
  if (!l || !l.candidates || l.rows !== rows || !p.text.startsWith(l.text) || l.fuzzy !== p.fuzzy) return false;
  if (l.terms === p.termsKey) return l.text !== '';
  return termsNarrow(JSON.parse(l.terms) as QueryTerm[], p.terms);
}

/**
 * Whether terms `to` keep only rows that `from` keeps: the same terms, each in its place, but for
 * values grown at their end where that can only keep fewer. A term's value is matched from the
 * start of a field or tag (`key:` alone: the field or tag is there and not empty), so a longer
 * value holds for fewer rows; not so for a negated term (it leaves out fewer), a whole value
 * (quoted or with a wildcard: `env:p` holds for `prod`, `env:"p"` does not) or a `tag:` term
 * (whose value names the tag key: `tag:en` and `tag:env` are different tags). A grown value of a
 * key given twice (either of them) is an alternative that holds for fewer: the pair still does.
 */
function termsNarrow(from: readonly QueryTerm[], to: readonly QueryTerm[]): boolean {
  if (from.length !== to.length) return false;
  for (let k = 0; k < to.length; k++) {
    const a = from[k]!;
    const b = to[k]!;
    if (a.key !== b.key || a.negate !== b.negate || a.whole !== b.whole) return false;
    if (a.value === b.value) continue;
    if (b.negate || b.whole || b.key === 'tag' || !b.value.startsWith(a.value)) return false;
  }
  return true;
}

/**
 * `filterRows` for typing: while the terms stay the same and the text only grows, the next
 * result is searched within the last one instead of every row (a longer query never matches
 * more), so each keystroke gets cheaper as the list narrows. For fuzzy text what is narrowed is
 * the set of rows fuzzysort could match (see `fuzzyRows`), so the answer is always the one a
 * fresh search gives.
 */
export class RowFilter {
  private last: FilterState | undefined;

  /** What the last query answered (or was told, see `restore`), to keep and give back later. */
  get state(): FilterState | undefined {
    return this.last;
  }

  /**
   * Takes up an answer found elsewhere (the worker's, or one kept from before) as the last one, so
   * the next keystroke narrows from it. Its candidates must be those a `RowFilter` found for it.
   */
  restore(state: FilterState | undefined): void {
    this.last = state;
  }

  /** The state a query over `rows` answered with `result` leaves, given its candidates (null: unknown). */
  static stateOf(rows: readonly Row[], query: string, result: Row[], candidates: readonly Row[] | null): FilterState {
    const p = parsed(query);
    return { rows, terms: p.termsKey, text: p.text, fuzzy: p.fuzzy, result, candidates };
  }

  /**
   * What `run` would search for this query: how many rows, and whether by fuzzysort itself (fuzzy
   * text of more than MANY_WORDS words: the costly kind, each candidate scored and sorted) or in
   * one pass (terms, text as written, and fuzzy text the page's own scorer scores as it scans).
   */
  searchSize(rows: readonly Row[], query: string): { rows: number; fuzzy: boolean } {
    const p = parsed(query);
    const l = this.last;
    const fuzzy = p.fuzzy && new Set(p.words).size > MANY_WORDS;
    if (narrows(l, rows, p)) return { rows: l.text === p.text && l.terms === p.termsKey ? 0 : l.candidates.length, fuzzy };
    return { rows: rows.length, fuzzy };
  }

  run(rows: readonly Row[], query: string): Row[];
  /**
   * With `maxScored`: null, the state unchanged, when a fuzzy query of more than MANY_WORDS words
   * has more candidates than that for fuzzysort to score (finding them, a scan, is the cheap part;
   * scoring and sorting them is the costly one). Fewer words are scored as they are scanned.
   */
  run(rows: readonly Row[], query: string, maxScored: number): Row[] | null;
  run(rows: readonly Row[], query: string, maxScored = Infinity): Row[] | null {
    const p = parsed(query);
    const { terms, words, text, fuzzy } = p;
    const l = this.last;
    const narrowing = narrows(l, rows, p);
    let result: Row[];
    let candidates: readonly Row[] | undefined;
    if (narrowing && l.text === text && l.terms === p.termsKey) {
      result = l.result;
      candidates = l.candidates;
    } else {
      // Narrowing with a term grown: the last candidates hold the old terms; the new ones are checked over them.
      const base: readonly Row[] = narrowing ? (l.terms === p.termsKey ? l.candidates : l.candidates.filter(termsTest(terms))) : terms.length ? rows.filter(termsTest(terms)) : rows;
      if (!text) result = base.slice();
      else if (!fuzzy) result = writtenRows(words, base, rows);
      else {
        const found = fuzzyRows(words, base, rows, maxScored);
        if (!found) return null;
        ({ result, candidates } = found);
      }
    }
    // The same rows as last time (typing on inside a match): the same array, so nothing downstream recomputes or re-renders.
    if (l && sameRows(l.result, result)) result = l.result;
    this.last = { rows, terms: p.termsKey, text, fuzzy, result, candidates: candidates ?? result };
    return result;
  }
}

/** Runs a piece of work when the page is next idle, passing how many milliseconds of idle time are left; returns a cancel. */
export type Idle = (work: (msLeft: () => number) => void) => () => void;

/**
 * Makes the search columns and runs a few searches while the page is idle after rows arrive, one
 * per idle moment, results thrown away, so the columns are there and the engine has compiled the
 * search code (column scans, the scorer, terms, fuzzysort) before the first keystrokes instead of
 * running it in its interpreter then: a first search otherwise takes several times as long as the
 * same search later. The queries are made from the rows' own text (an instance id, a word of the
 * addresses and of the tags, two words, two characters as written, a `key:value` term alone and
 * with a word) and run over the whole inventory, each a few milliseconds.
 */
export function warmUp(rows: readonly Row[], idle: Idle): () => void {
  if (!rows.length) return () => {};
  const row = rows[rows.length >> 1]!;
  const word = (k: number) => row.folded[k]!.split(' ')[0]!.slice(0, 4);
  // Broad ones too (the start of an id, a name's first letters: most rows match), so the scorer's
  // loops run often enough to be compiled; the searches of several words twice.
  const broad = (k: number, n: number) => row.folded[k]!.slice(0, n);
  const state = `state:${row.fields.state ?? ''}`;
  const queries = [
    broad(1, 3),
    row.folded[1]!,
    word(2),
    word(3),
    `${broad(0, 1)} ${broad(1, 2)}`,
    `${word(2)} ${word(3)}`,
    `${broad(1, 3)} ${broad(0, 2)}`,
    broad(0, 2),
    state,
    `${state} ${word(2)}`,
    `${state.slice(0, -1)} ${broad(0, 3)}`,
  ].filter((q) => q.replace(/\s/g, '').length >= 2);
  let next = -1;
  let cancel = () => {};
  const step = () => {
    // First the whole inventory's columns for the search to scan and score, then the searches.
    if (next++ < 0) columnsOf(rows);
    else if (next <= FIELD_KEYS.length) fieldColumn(scoreColumnsOf(rows), next - 1);
    else new RowFilter().run(rows, queries[next - 1 - FIELD_KEYS.length]!);
    if (next < FIELD_KEYS.length + queries.length) cancel = idle(step);
  };
  cancel = idle(step);
  return () => cancel();
}

export function sameRows(a: readonly Row[], b: readonly Row[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

export type GroupBy = { kind: 'none' } | { kind: 'account' | 'region' | 'vpc' } | { kind: 'tag'; key: string };

export function groupValue(inst: InventoryInstance, g: GroupBy): string {
  switch (g.kind) {
    case 'none':
      return '';
    case 'account':
      return inst.account;
    case 'region':
      return inst.region;
    case 'vpc':
      return inst.vpcId;
    case 'tag':
      return tagValue(inst.tags, g.key) ?? '';
  }
}

/** A line of the table: a group heading, or a row (which is its own line, so it stays the same item to the table). */
export type Line = { kind: 'group'; value: string; count: number; collapsed: boolean } | Row;

/**
 * The flat list the table shows: group headings (sorted, empty value last) each followed by its
 * rows unless collapsed; ungrouped, the rows themselves (the same array).
 */
export function groupLines(rows: readonly Row[], g: GroupBy, collapsed: ReadonlySet<string>): readonly Line[] {
  if (g.kind === 'none') return rows;
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const v = groupValue(row.inst, g);
    let list = groups.get(v);
    if (!list) groups.set(v, (list = []));
    list.push(row);
  }
  const values = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  const lines: Line[] = [];
  for (const value of values) {
    const list = groups.get(value)!;
    const isCollapsed = collapsed.has(value);
    lines.push({ kind: 'group', value, count: list.length, collapsed: isCollapsed });
    if (!isCollapsed) for (const row of list) lines.push(row);
  }
  return lines;
}

/** Tag keys present in the inventory, most common first (for the group-by menu). */
export function tagKeys(rows: readonly Row[], max = 30): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) for (const k of Object.keys(r.inst.tags)) if (k !== 'Name') counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => k);
}

/**
 * Sets the views replace rather than mutate: held in `$state.raw`, so ten thousand rows carry no
 * per-item proxies and a change is one assignment.
 */
export const setOf = <T>(items: Iterable<T> = []): ReadonlySet<T> => new Set(items);
export function toggled<T>(set: ReadonlySet<T>, item: T): ReadonlySet<T> {
  const next = new Set(set);
  if (next.has(item)) next.delete(item);
  else next.add(item);
  return next;
}
