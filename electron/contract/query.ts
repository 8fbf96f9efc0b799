import { globMatch } from './glob';

/**
 * The one filter language of Keyless: the inventory's filter box and smart groups read the same
 * query the same way, so a smart group holds exactly the instances its query shows in the
 * inventory.
 *
 * - `key:value` — a field (`FIELDS`), `tag:key=value` / `tag:key`, or any other key as a tag key
 *   (`env:prod`). A value matches the start of the field (`region:eu-`, `ip:10.0.`); with `*` or
 *   `?`, or in quotes, it must match the whole value (`name:*web*`, `env:"prod"`). `key:` alone:
 *   the field or tag is there and not empty.
 * - The same key twice means either (`region:eu-west-1 region:us-east-1`); different keys must all
 *   hold; `-key:value` leaves out. Case does not matter.
 * - Bare words search names, ids, addresses and tags: every word in some field, its letters in
 *   order (`bta` finds beta); under three letters in all, as they are (`a3`).
 */

/** Field keys; a tag of the same name is matched too. */
export const FIELDS = ['name', 'id', 'state', 'type', 'az', 'region', 'profile', 'account', 'vpc', 'subnet', 'platform', 'user', 'reach', 'ip', 'image'] as const;
export type FieldKey = (typeof FIELDS)[number];

/** One `key:value` term, lower-cased. */
export interface QueryTerm {
  key: string;
  value: string;
  negate: boolean;
  /** Quoted or holding a wildcard: the whole value must match (else its start). */
  whole: boolean;
}

export interface ParsedQuery {
  terms: QueryTerm[];
  /** The free text: bare words, folded (see `fold`), in order. */
  words: string[];
}

/** Free text shorter than this (spaces aside) matches as written: one letter in order matches almost everything. */
export const FUZZY_FROM = 3;

/** What a query reads of an instance, prepared once: lower-cased fields and tags, and folded searchable text. */
export interface QueryCandidate {
  /**
   * Lower-cased field values by key (`ip` holds both addresses): a plain object of one shape, so
   * read only by the names in FIELDS (any other name would find Object.prototype's members).
   */
  readonly fields: Readonly<Record<FieldKey, string>>;
  /** Lower-cased tag keys to lower-cased values, prototype-free (a tag may be called `__proto__`). */
  readonly tags: Readonly<Record<string, string>>;
  /** The searchable text, folded: name, id, addresses, tags (`key:value` words). */
  readonly folded: readonly string[];
}

/** The fields an instance gives the query (the inventory's rows and smart groups both take them from here). */
export interface QueryInstance {
  id: string;
  name: string;
  state: string;
  type: string;
  az: string;
  region: string;
  profile: string;
  account: string;
  vpcId: string;
  subnetId: string;
  platform: string;
  defaultUser?: string;
  reach?: string;
  privateIp: string;
  publicIp: string;
  imageId?: string;
  imageName?: string;
  tags: Readonly<Record<string, string>>;
}

/**
 * Text as the search compares it: accents split off Latin letters and dropped (é is e, while
 * Japanese kana keep their marks), then lower-cased — as fuzzysort folds it, so the inventory's
 * ranking and this match agree.
 */
export function fold(text: string): string {
  // Plain ASCII (most of an inventory) has no accents to take off.
  if (!/[\u0080-\uffff]/.test(text)) return text.toLowerCase();
  return text
    .replace(/\p{Script=Latin}+/gu, (m) => m.normalize('NFD'))
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

/** Whether `word`'s characters appear in `field` in order (both folded). indexOf per character: native search, fast even before the JIT warms up. */
export function isSubsequence(word: string, field: string): boolean {
  let at = 0;
  for (let k = 0; k < word.length; k++) {
    const found = field.indexOf(word[k]!, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

export function candidateOf(i: QueryInstance): QueryCandidate {
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(i.tags)) tags[k.toLowerCase()] = v.toLowerCase();
  // One object literal, the same shape for every instance: a filter reads a field of each of
  // thousands at every keystroke (only the known field names are ever looked up here).
  const fields: Record<FieldKey, string> = {
    name: i.name,
    id: i.id,
    state: i.state,
    type: i.type,
    az: i.az,
    region: i.region,
    profile: i.profile,
    account: i.account,
    vpc: i.vpcId,
    subnet: i.subnetId,
    platform: i.platform,
    user: i.defaultUser ?? '',
    reach: i.reach ?? '',
    ip: `${i.privateIp} ${i.publicIp}`.trim(),
    image: `${i.imageId ?? ''} ${i.imageName ?? ''}`.trim(),
  };
  for (const k of FIELDS) fields[k] = fields[k].toLowerCase();
  return { fields, tags, folded: searchText(i).map(fold) };
}

/** The searchable fields as shown: name, id, addresses, tags (Name left out) as `key:value` words. */
export function searchText(i: Pick<QueryInstance, 'name' | 'id' | 'privateIp' | 'publicIp' | 'tags'>): [string, string, string, string] {
  const tagText = Object.entries(i.tags)
    .filter(([k]) => k !== 'Name')
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return [i.name, i.id, `${i.privateIp} ${i.publicIp}`, tagText];
}

/**
 * Splits a query into terms and free text. Never backtracks: each alternative consumes what it
 * matched, and the only repetitions are over characters that cannot start the next part.
 */
export function parseQuery(query: string): ParsedQuery {
  const terms: QueryTerm[] = [];
  const words: string[] = [];
  for (const m of query.matchAll(/(-?)([^\s:"]+):(?:"([^"]*)"|(\S*))|(\S+)/g)) {
    if (m[5] !== undefined) {
      words.push(fold(m[5]));
      continue;
    }
    const value = (m[3] ?? m[4] ?? '').toLowerCase();
    terms.push({ negate: m[1] === '-', key: m[2]!.toLowerCase(), value, whole: m[3] !== undefined || /[*?]/.test(value) });
  }
  return { terms, words };
}

/** What is wrong with a query for a smart group (a saved filter must say something); empty when it is fine. */
export function queryProblems(query: string): string[] {
  const { terms, words } = parseQuery(query);
  const problems: string[] = [];
  for (const t of terms) {
    if (t.key === 'tag' && (t.value === '' || t.value.startsWith('='))) problems.push('tag: needs a tag key, as in tag:env=prod or tag:env');
  }
  if (terms.length === 0 && words.length === 0) problems.push('write at least one filter, such as state:running');
  return problems;
}

function valueMatches(t: Pick<QueryTerm, 'value' | 'whole'>, actual: string): boolean {
  if (t.whole) return globMatch(t.value, actual);
  return actual.startsWith(t.value);
}

/**
 * One term's test (its negation aside), with what does not depend on the candidate worked out
 * once: a filter runs it over every instance of the inventory at each keystroke.
 */
function termTest(t: QueryTerm): (c: QueryCandidate) => boolean {
  if (t.key === 'tag') {
    const eq = t.value.indexOf('=');
    const key = eq < 0 ? t.value : t.value.slice(0, eq);
    const glob = /[*?]/.test(key);
    const keysOf = (c: QueryCandidate) => (glob ? Object.keys(c.tags).filter((k) => globMatch(key, k)) : key in c.tags ? [key] : []);
    if (eq < 0) return (c) => keysOf(c).length > 0;
    const wanted = { value: t.value.slice(eq + 1), whole: t.whole };
    return (c) => keysOf(c).some((k) => (wanted.value === '' ? c.tags[k] !== '' : valueMatches(wanted, c.tags[k]!)));
  }
  const fieldOf = (FIELDS as readonly string[]).includes(t.key) ? FIELD_OF[t.key as FieldKey] : () => undefined;
  const key = t.key;
  // A tag's value is a string, so a tag that is there is never undefined (one lookup, not `in` and another).
  if (t.value === '') return (c) => { const field = fieldOf(c.fields); return (field !== undefined && field !== '') || c.tags[key] !== undefined; };
  return (c) => {
    const field = fieldOf(c.fields);
    const tag = c.tags[key];
    if (key === 'ip' && field !== undefined) return field.split(' ').some((a) => valueMatches(t, a)) || (tag !== undefined && valueMatches(t, tag));
    return (field !== undefined && valueMatches(t, field)) || (tag !== undefined && valueMatches(t, tag));
  };
}

/**
 * Each field read by a function of its own: one read of one property name each, which the engine
 * makes a direct load, where a read by a key that changes from query to query stays a lookup.
 */
const FIELD_OF: Record<FieldKey, (f: Readonly<Record<FieldKey, string>>) => string | undefined> = {
  name: (f) => f.name,
  id: (f) => f.id,
  state: (f) => f.state,
  type: (f) => f.type,
  az: (f) => f.az,
  region: (f) => f.region,
  profile: (f) => f.profile,
  account: (f) => f.account,
  vpc: (f) => f.vpc,
  subnet: (f) => f.subnet,
  platform: (f) => f.platform,
  user: (f) => f.user,
  reach: (f) => f.reach,
  ip: (f) => f.ip,
  image: (f) => f.image,
};

/** The key terms are grouped by: the same key twice means either. */
const groupKey = (t: QueryTerm) => (t.key === 'tag' ? `tag:${t.value.split('=')[0]}` : t.key);

/**
 * Whether the terms hold, as one test made once for many candidates: each group of the same key
 * by one of its terms, no negated term.
 */
export function termsTest(terms: readonly QueryTerm[]): (c: QueryCandidate) => boolean {
  const negated = terms.filter((t) => t.negate).map(termTest);
  const groups = new Map<string, Array<(c: QueryCandidate) => boolean>>();
  for (const t of terms) {
    if (t.negate) continue;
    const k = groupKey(t);
    groups.set(k, [...(groups.get(k) ?? []), termTest(t)]);
  }
  const alternatives = [...groups.values()];
  return (c) => {
    for (const n of negated) if (n(c)) return false;
    for (const either of alternatives) if (!either.some((test) => test(c))) return false;
    return true;
  };
}

/** Whether the terms hold: each group of the same key by one of its terms, no negated term. */
export function termsHold(terms: readonly QueryTerm[], c: QueryCandidate): boolean {
  return termsTest(terms)(c);
}

/** Whether the free text matches: every word in some searchable field, its letters in order (as written below FUZZY_FROM). */
export function textMatches(words: readonly string[], c: QueryCandidate): boolean {
  if (!words.length) return true;
  const fuzzy = words.join('').length >= FUZZY_FROM;
  return words.every((w) => c.folded.some((f) => (fuzzy ? isSubsequence(w, f) : f.includes(w))));
}

/** The whole query. */
export function queryMatches(q: ParsedQuery, c: QueryCandidate): boolean {
  return termsHold(q.terms, c) && textMatches(q.words, c);
}

/**
 * The instances a query keeps, in their order: what a smart group holds (the inventory's filter
 * box keeps the same ones, ranked). `candidate` may cache each instance's prepared fields.
 */
export function filterInstances<T extends QueryInstance>(instances: readonly T[], query: string, candidate: (i: T) => QueryCandidate = candidateOf): T[] {
  const q = parseQuery(query);
  const holds = termsTest(q.terms);
  return instances.filter((i) => {
    const c = candidate(i);
    return holds(c) && textMatches(q.words, c);
  });
}
