import type { KeylessError, SearchedEvent, SearchScope, TrailReview } from '../../contract';
import { reviewOf, trailMatches, type TrailFilter } from '../../contract/audit-review';
import { toKeylessError } from '../base/errors';
import { lookupInstanceConnectEvents, type TrailDeps } from './cloudtrail-lookup';

/** Pages read per profile × region at most (50 events a page): 1,000 events. */
export const MAX_PAGES = 20;
/** Profile × region look-ups in flight at once. */
const PARALLEL = 8;

export interface TrailSearch {
  profiles: readonly string[];
  regions: readonly string[];
  startTime: number;
  endTime: number;
  filter: TrailFilter;
}

export interface TrailSearchResult {
  events: SearchedEvent[];
  scopes: SearchScope[];
  review: TrailReview;
}

/**
 * CloudTrail's Instance Connect events in every profile × region, read in parallel (each scope's
 * pages in turn: a page's NextToken is needed for the next), merged newest first, each event once
 * (profiles of one account read the same trail), filtered exactly, and reviewed. A scope that
 * fails is reported in `scopes` with its error; the others still count.
 */
export async function searchTrail(q: TrailSearch, deps: TrailDeps & { maxPages?: number }): Promise<TrailSearchResult> {
  const pairs = [...new Set(q.profiles)].flatMap((profile) => [...new Set(q.regions)].map((region) => ({ profile, region })));
  const maxPages = deps.maxPages ?? MAX_PAGES;
  const scopes: SearchScope[] = new Array<SearchScope>(pairs.length);
  const found: SearchedEvent[][] = pairs.map(() => []);
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const n = next++;
      const { profile, region } = pairs[n]!;
      const started = Date.now();
      let token: string | undefined;
      let pages = 0;
      let error: KeylessError | undefined;
      try {
        do {
          if (deps.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
          const page = await lookupInstanceConnectEvents({ profile, region, startTime: new Date(q.startTime), endTime: new Date(q.endTime), nextToken: token }, deps);
          pages++;
          for (const e of page.events) found[n]!.push({ ...e, profile });
          token = page.nextToken ?? undefined;
        } while (token && pages < maxPages);
      } catch (err) {
        error = toKeylessError(err);
        if (error.code === 'Cancelled') throw err;
      }
      scopes[n] = { profile, region, status: error ? 'failed' : 'ok', ...(error ? { error } : {}), read: found[n]!.length, truncated: !error && token !== undefined, ms: Date.now() - started };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, pairs.length) }, worker));
  const seen = new Set<string>();
  const events: SearchedEvent[] = [];
  for (const e of found.flat().sort((a, b) => b.time - a.time || a.eventId.localeCompare(b.eventId))) {
    const key = e.eventId || `${e.time}:${e.eventName}:${e.user}:${e.region}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (trailMatches(e, q.filter)) events.push(e);
  }
  return { events, scopes, review: reviewOf(events, { startTime: q.startTime, endTime: q.endTime }) };
}
