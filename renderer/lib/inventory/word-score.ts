import type Fuzzysort from 'fuzzysort';

/**
 * fuzzysort's score of one word in one field, the very number its `single` gives (`_score`,
 * before normalising), computed for a whole inventory at a time without its per-call costs. Over
 * a broad query (`i-0`, `node`, `10.`: every row a match) fuzzysort's own `go` spends 9–14 ms on
 * 10,000 rows, far more than a frame leaves for matching: it makes a result object and a closure
 * per field, and each row's fields are objects of their own scattered over the heap. Here every
 * field of every row lies in a few typed arrays (`ScoreColumns`), read in order.
 *
 * It follows fuzzysort 3.1.0's `algorithm` for a search without a space step by step (a simple
 * in-order match, a strict one on word beginnings with at most 200 backtracks, the substring
 * checks, then the same arithmetic in the same order, so the floating-point result is equal, not
 * just close). tests/unit/inventory/word-score.test.ts holds it to `fuzzysort.single` over
 * thousands of words and fields; the package is pinned to that version.
 */

/** A search word as fuzzysort prepares it (trimmed, accents off, lower case), as character codes. */
export type ScoreWord = Uint16Array;

/** fuzzysort's accent removal, skipped for plain ASCII (which it leaves as it is). */
export function removeAccents(text: string): string {
  if (!/[\u0080-\uffff]/.test(text)) return text;
  return text.replace(/\p{Script=Latin}+/gu, (m) => m.normalize('NFD')).replace(/[\u0300-\u036f]/g, '');
}

export function scoreWord(word: string): ScoreWord {
  const lower = removeAccents(word.trim()).toLowerCase();
  const codes = new Uint16Array(lower.length);
  for (let k = 0; k < lower.length; k++) codes[k] = lower.charCodeAt(k);
  return codes;
}

/**
 * One searchable field of every row: its text lower-cased as fuzzysort reads it, and where each
 * word after each character begins (fuzzysort's `nextBeginningIndexes`, counted from the field's
 * start), all rows one after another.
 */
export interface ScoreColumn {
  codes: Uint16Array;
  next: Uint16Array | Int32Array;
  /** Where row r's field starts in `codes` and `next`; entry n is the total length. */
  start: Int32Array;
  /** How many word beginnings row r's field has (fuzzysort's "too many beginnings" penalty). */
  beginnings: Int32Array;
  /** 1 where row r's field holds a space: only there can a query of several words match as one text. */
  spaced: Uint8Array;
}

/** Word beginnings: an upper-case letter after a non-upper one, or any character next to a non-alphanumeric one. */
function nextBeginnings(text: string, out: Uint16Array | Int32Array, at: number): number {
  const n = text.length;
  let last = n;
  // From the end: each index's next beginning is the nearest beginning after it.
  const isBeginning = (i: number) => {
    const c = text.charCodeAt(i);
    const p = i > 0 ? text.charCodeAt(i - 1) : -1;
    const upper = c >= 65 && c <= 90;
    const alnum = upper || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    const wasUpper = p >= 65 && p <= 90;
    const wasAlnum = wasUpper || (p >= 97 && p <= 122) || (p >= 48 && p <= 57);
    return (upper && !wasUpper) || !wasAlnum || !alnum;
  };
  for (let i = n - 1; i >= 0; i--) {
    out[at + i] = last;
    if (isBeginning(i)) last = i;
  }
  let count = 1;
  for (let i = n > 0 ? out[at]! : 0; i < n; i = out[at + i]!) count++;
  return count;
}

/** The score columns of `fields` (one entry per row: the field's fuzzysort-prepared text). */
export function scoreColumn(fields: readonly Fuzzysort.Prepared[]): ScoreColumn {
  const n = fields.length;
  const start = new Int32Array(n + 1);
  const lowers = new Array<string>(n);
  for (let r = 0; r < n; r++) {
    lowers[r] = (fields[r] as unknown as { _targetLower: string })._targetLower;
    start[r + 1] = start[r]! + lowers[r]!.length;
  }
  const total = start[n]!;
  const codes = new Uint16Array(total);
  let longest = 0;
  for (let r = 0; r < n; r++) longest = Math.max(longest, lowers[r]!.length);
  const next = longest < 0xffff ? new Uint16Array(total) : new Int32Array(total);
  const beginnings = new Int32Array(n);
  const spaced = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const lower = lowers[r]!;
    const at = start[r]!;
    for (let k = 0; k < lower.length; k++) codes[at + k] = lower.charCodeAt(k);
    if (lower.includes(' ')) spaced[r] = 1;
    // fuzzysort finds word beginnings in the text with accents off, before lower-casing: no code
    // point changes length in between (word-score.test.ts checks every one), so the two line up.
    beginnings[r] = nextBeginnings(removeAccents(fields[r]!.target), next, at);
  }
  return { codes, next, start, beginnings, spaced };
}

// Scratch space, as in fuzzysort: the match positions in the current field.
let simple = new Int32Array(64);
let strict = new Int32Array(64);
/** The positions the last `scoreIn` that matched scored (its first `word.length` entries). */
let matched = new Int32Array(64);

/**
 * The score of `word` in row r's field of `col`, or -Infinity when its characters are not all
 * there in order. `count`: the field's word beginnings, when `col.next` has been changed for this
 * row (see `wordsIn`).
 */
export function scoreIn(word: ScoreWord, col: ScoreColumn, r: number, count = col.beginnings[r]!): number {
  const sLen = word.length;
  if (sLen === 0) return -Infinity;
  const t = col.codes;
  const next = col.next;
  const o = col.start[r]!;
  const tLen = col.start[r + 1]! - o;
  if (simple.length < sLen) {
    simple = new Int32Array(sLen * 2);
    strict = new Int32Array(sLen * 2);
    matched = new Int32Array(sLen * 2);
  }
  // The characters in order, each at its first place after the one before.
  let si = 0;
  let ti = 0;
  let sc = word[0]!;
  for (;;) {
    if (ti < tLen && sc === t[o + ti]) {
      simple[si++] = ti;
      if (si === sLen) break;
      sc = word[si]!;
    }
    if (++ti >= tLen) return -Infinity;
  }
  // A stricter match: each character at a word's beginning or right after the one before.
  si = 0;
  let strictLen = 0;
  let successStrict = false;
  ti = simple[0] === 0 ? 0 : next[o + simple[0]! - 1]!;
  let backtracks = 0;
  if (ti !== tLen) {
    for (;;) {
      if (ti >= tLen) {
        if (si <= 0) break;
        if (++backtracks > 200) break;
        --si;
        ti = next[o + strict[--strictLen]!]!;
      } else if (word[si] === t[o + ti]) {
        strict[strictLen++] = ti;
        if (++si === sLen) {
          successStrict = true;
          break;
        }
        ++ti;
      } else ti = next[o + ti]!;
    }
  }
  // The word as a whole (fuzzysort's indexOf from the first simple match), preferably at a word's beginning.
  let at = -1;
  if (sLen > 1) {
    for (let i = simple[0]!; i + sLen <= tLen && at < 0; i++) {
      let k = 0;
      while (k < sLen && word[k] === t[o + i + k]) k++;
      if (k === sLen) at = i;
    }
  }
  const isSubstring = at !== -1;
  let atBeginning = !isSubstring ? false : at === 0 || next[o + at - 1] === at;
  if (isSubstring && !atBeginning) {
    for (let i = 0; i < tLen; i = next[o + i]!) {
      if (i <= at) continue;
      let k = 0;
      for (; k < sLen; k++) if (i + k >= tLen || word[k] !== t[o + i + k]) break;
      if (k === sLen) {
        at = i;
        atBeginning = true;
        break;
      }
    }
  }
  let m: Int32Array;
  if (!successStrict) {
    if (isSubstring) for (let i = 0; i < sLen; ++i) simple[i] = at + i;
    m = simple;
  } else if (atBeginning) {
    for (let i = 0; i < sLen; ++i) simple[i] = at + i;
    m = simple;
  } else m = strict;
  // fuzzysort's arithmetic, in its order.
  let score = 0;
  let groups = 0;
  for (let i = 1; i < sLen; ++i) {
    if (m[i]! - m[i - 1]! !== 1) {
      score -= m[i]!;
      ++groups;
    }
  }
  const unmatched = m[sLen - 1]! - m[0]! - (sLen - 1);
  score -= (12 + unmatched) * groups;
  if (m[0] !== 0) score -= m[0]! * m[0]! * 0.2;
  if (!successStrict) score *= 1000;
  else if (count > 24) score *= (count - 24) * 10;
  score -= (tLen - sLen) / 2;
  if (isSubstring) score /= 1 + sLen * sLen * 1;
  if (atBeginning) score /= 1 + sLen * sLen * 1;
  score -= (tLen - sLen) / 2;
  matched.set(m.subarray(0, sLen));
  return score;
}

/** Whether `word`'s characters are all in row r's field of `col`, in order: where `scoreIn` gives a score at all. */
export function holds(word: ScoreWord, col: ScoreColumn, r: number): boolean {
  const t = col.codes;
  const end = col.start[r + 1]!;
  let si = 0;
  for (let ti = col.start[r]!; ti < end && si < word.length; ti++) if (word[si] === t[ti]) si++;
  return si === word.length && word.length > 0;
}

/**
 * A row's score from its fields' scores in field order, as fuzzysort's `go` with `keys` combines
 * them for a search without a space: the best field's, raised when another field matches too.
 */
export function combine(score: number, field: number): number {
  if (field > -1000 && score > -Infinity) {
    const tmp = (score + field) / 4;
    if (tmp > score) score = tmp;
  }
  return field > score ? field : score;
}

/** A query of several words as fuzzysort prepares it: each distinct word, and the whole text (spaces and all). */
export interface ScoreWords {
  words: ScoreWord[];
  whole: ScoreWord;
}

export function scoreWords(words: readonly string[], text: string): ScoreWords {
  return { words: [...new Set(words)].map(scoreWord), whole: scoreWord(text) };
}

// The beginnings `wordsIn` moves for a row while it scores it, to put back: index, old value.
let moved = new Int32Array(128);

/**
 * fuzzysort's `algorithmSpaces` for row r's field of `col`, as its `go` with keys calls it for a
 * query with spaces (a part of the words may match): each word's share of the score, or
 * -Infinity for a word not in this field, into `shares`; false when no word is. A word found as
 * a whole (consecutively) makes the character after it a word beginning for the words after it
 * ("straw berry" scores well on "strawberry"), and the whole text matched as one scores instead
 * when that is better, as fuzzysort does.
 */
export function wordsIn(q: ScoreWords, col: ScoreColumn, r: number, shares: Float64Array): boolean {
  const n = q.words.length;
  const next = col.next;
  const o = col.start[r]!;
  const tLen = col.start[r + 1]! - o;
  let score = 0;
  let firstBefore = 0;
  let changes = 0;
  let any = false;
  let count = col.beginnings[r]!;
  for (let i = 0; i < n; i++) {
    shares[i] = -Infinity;
    const word = q.words[i]!;
    const s = scoreIn(word, col, r, count);
    if (s === -Infinity) continue;
    any = true;
    const len = word.length;
    if (i !== n - 1) {
      let whole = true;
      for (let k = 0; k < len - 1; k++) {
        if (matched[k + 1]! - matched[k]! !== 1) {
          whole = false;
          break;
        }
      }
      if (whole) {
        const begins = matched[len - 1]! + 1;
        const replaced = next[o + begins - 1]!;
        for (let x = begins - 1; x >= 0; x--) {
          if (replaced !== next[o + x]) break;
          if (moved.length < 2 * changes + 2) {
            const more = new Int32Array(moved.length * 2);
            more.set(moved);
            moved = more;
          }
          next[o + x] = begins;
          moved[2 * changes] = x;
          moved[2 * changes + 1] = replaced;
          changes++;
        }
        if (changes) {
          count = 1;
          for (let x = tLen > 0 ? next[o]! : 0; x < tLen; x = next[o + x]!) count++;
        }
      }
    }
    score += s / n;
    shares[i] = s / n;
    if (matched[0]! < firstBefore) score -= (firstBefore - matched[0]!) * 2;
    firstBefore = matched[0]!;
  }
  if (!any) return false;
  for (let c = changes - 1; c >= 0; c--) next[o + moved[2 * c]!] = moved[2 * c + 1]!;
  // The whole text holds a space: a field without one cannot hold it in order.
  const whole = col.spaced[r] ? scoreIn(q.whole, col, r) : -Infinity;
  if (whole !== -Infinity && whole > score) for (let i = 0; i < n; i++) shares[i] = whole / n;
  return true;
}
