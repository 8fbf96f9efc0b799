/** Counts the comparisons a match made, so tests can check the work grows with the input, not faster. */
export interface GlobSteps {
  count: number;
}

/** Indexable by character: the string itself, or its code points when it holds a surrogate pair. */
const chars = (s: string): string | string[] => (/[\uD800-\uDFFF]/.test(s) ? Array.from(s) : s);

/**
 * Case-insensitive glob: `*` is any run of characters, `?` exactly one. Patterns come from files
 * (smart groups in a JSON import, known_hosts), so this never backtracks the way a regular
 * expression built from them does (`*a*a*a…b` took minutes): on a mismatch only the last `*`
 * takes one more character, as an earlier `*` taking more could not help. At most
 * pattern × text comparisons, and about text + pattern for patterns of short pieces.
 */
export function globMatch(pattern: string, text: string, steps?: GlobSteps): boolean {
  const p = chars(pattern.toLowerCase());
  const t = chars(text.toLowerCase());
  let pi = 0;
  let ti = 0;
  /** The last `*` seen, and the text position it currently stops before. */
  let star = -1;
  let resume = 0;
  let n = 0;
  while (ti < t.length) {
    n++;
    const c = p[pi];
    if (c === '*') {
      star = pi++;
      resume = ti;
    } else if (c !== undefined && (c === '?' || c === t[ti])) {
      pi++;
      ti++;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++resume;
    } else {
      if (steps) steps.count += n;
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  if (steps) steps.count += n;
  return pi === p.length;
}
