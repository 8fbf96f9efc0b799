/**
 * The inventory's counts per region and state, drawn as bars above the table, and the filter a
 * bar applies: the query language's own `region:` and `state:` terms (electron/contract/query.ts),
 * so what a bar says it counts is what the filter then shows.
 */

export type StateBucket = 'running' | 'stopped' | 'other';
export const BUCKETS: readonly StateBucket[] = ['running', 'stopped', 'other'];

export interface RegionCount {
  region: string;
  total: number;
  running: number;
  stopped: number;
  other: number;
}

export const bucketOf = (state: string): StateBucket => (state === 'running' ? 'running' : state === 'stopped' ? 'stopped' : 'other');

/** Per region, most instances first (then by name). */
export function regionCounts(instances: Iterable<{ region: string; state: string }>): RegionCount[] {
  const by = new Map<string, RegionCount>();
  for (const i of instances) {
    let c = by.get(i.region);
    if (!c) by.set(i.region, (c = { region: i.region, total: 0, running: 0, stopped: 0, other: 0 }));
    c.total++;
    c[bucketOf(i.state)]++;
  }
  return [...by.values()].sort((a, b) => b.total - a.total || a.region.localeCompare(b.region));
}

// The query's tokens as query.ts reads them: `-key:"quoted value"`, `-key:value`, or a bare word.
const TOKEN = /(-?)([^\s:"]+):(?:"[^"]*"|\S*)|\S+/g;

/**
 * The query with its region and state terms replaced by the ones for this bar; the rest (a tag,
 * free text) is kept, so a bar narrows what the person already filtered by. Region names come
 * from AWS (letters, digits, dashes); anything else is left out rather than quoted wrongly.
 */
export function barQuery(query: string, region: string, bucket?: StateBucket): string {
  const kept: string[] = [];
  for (const m of query.matchAll(TOKEN)) {
    const key = m[2]?.toLowerCase();
    if (key === 'region' || key === 'state') continue;
    kept.push(m[0]);
  }
  if (/^[a-z0-9-]+$/i.test(region)) kept.push(`region:"${region}"`);
  if (bucket === 'running' || bucket === 'stopped') kept.push(`state:"${bucket}"`);
  else if (bucket === 'other') kept.push('-state:"running"', '-state:"stopped"');
  return kept.join(' ');
}

/** The region and bucket a query selects exactly as a bar would have set it, to mark that bar pressed. */
export function barOf(query: string): { region: string; bucket?: StateBucket } | undefined {
  const regions: string[] = [];
  const states: string[] = [];
  for (const m of query.matchAll(TOKEN)) {
    const key = m[2]?.toLowerCase();
    if (key === 'region') regions.push(m[0]);
    else if (key === 'state') states.push(m[0]);
  }
  const r = regions.length === 1 ? /^region:"([a-z0-9-]+)"$/i.exec(regions[0]!) : null;
  if (!r) return undefined;
  const region = r[1]!;
  const s = states.join(' ');
  if (!s) return { region };
  if (s === 'state:"running"') return { region, bucket: 'running' };
  if (s === 'state:"stopped"') return { region, bucket: 'stopped' };
  if (s === '-state:"running" -state:"stopped"') return { region, bucket: 'other' };
  return undefined;
}
