import { TUNNELS_PER_ENDPOINT } from '../connect/endpoint-budget';

/** A host waiting to start: its lane is the endpoint it tunnels through (none: direct, plain SSH, jump). */
export interface Queued {
  key: string;
  lane: string | undefined;
}

export interface ScheduleLimits {
  /** Hosts running at once in the whole run. */
  concurrency: number;
  /** Hosts running at once behind one endpoint (the endpoint refuses a 21st tunnel). */
  perLane: number;
}

/**
 * Which queued hosts start now, in queue order: while the run has room, each host whose lane has
 * room. A host behind a full endpoint is passed over, not waited for, so hosts behind other
 * endpoints and direct hosts run meanwhile. Pure: the fleet service keeps the counts.
 */
export function startable(queue: readonly Queued[], running: { total: number; perLane: ReadonlyMap<string, number> }, limits: ScheduleLimits): Queued[] {
  const picked: Queued[] = [];
  let total = running.total;
  const lanes = new Map(running.perLane);
  for (const q of queue) {
    if (total >= limits.concurrency) break;
    if (q.lane !== undefined) {
      const n = lanes.get(q.lane) ?? 0;
      if (n >= limits.perLane) continue;
      lanes.set(q.lane, n + 1);
    }
    total++;
    picked.push(q);
  }
  return picked;
}

export const DEFAULT_LIMITS: ScheduleLimits = { concurrency: 50, perLane: TUNNELS_PER_ENDPOINT };
