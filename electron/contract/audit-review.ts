import type { TrailEventRecord, TrailReview } from './audit';

/**
 * The audit's exact filters and its review of a period, pure so that the backend's search and
 * the tests share them: "who reached this host, and who pushed keys for root".
 */

export interface TrailFilter {
  /** The host: its instance id, and the private address OpenTunnel records (CloudTrail names no instance for a tunnel). */
  instanceId?: string | undefined;
  privateIp?: string | null | undefined;
  /** The region the host is in: a tunnel to the same address elsewhere is another host. */
  region?: string | null | undefined;
  /** The caller's ARN, exactly. */
  user?: string | undefined;
  osUser?: string | undefined;
  refusedOnly?: boolean | undefined;
}

/** The OS user a push was for is root (the alarm's rule, here for the review). */
export const isRoot = (e: Pick<TrailEventRecord, 'osUser'>) => e.osUser === 'root';
export const isRefused = (e: Pick<TrailEventRecord, 'errorCode'>) => e.errorCode !== null;

/** What the event reached, as the review counts hosts: the instance, else the endpoint and the address it tunnelled to. */
export function hostOf(e: Pick<TrailEventRecord, 'instanceId' | 'endpointId' | 'targetIp'>): string {
  if (e.instanceId) return e.instanceId;
  if (e.endpointId || e.targetIp) return [e.endpointId, e.targetIp].filter(Boolean).join(' → ');
  return '';
}

/** Exact matches only: a host filter takes its instance's pushes and the tunnels to its address in its region. */
export function trailMatches(e: TrailEventRecord, f: TrailFilter): boolean {
  if (f.user !== undefined && e.user !== f.user) return false;
  if (f.osUser !== undefined && e.osUser !== f.osUser) return false;
  if (f.refusedOnly && !isRefused(e)) return false;
  if (f.instanceId !== undefined) {
    const tunnelToIt = e.instanceId === null && !!f.privateIp && e.targetIp === f.privateIp && (!f.region || e.region === f.region);
    if (e.instanceId !== f.instanceId && !tunnelToIt) return false;
  }
  return true;
}

type Counts = { total: number; refused: number; root: number };
const bump = (c: Counts, e: TrailEventRecord) => {
  c.total++;
  if (isRefused(e)) c.refused++;
  if (isRoot(e)) c.root++;
};
const byMost = <T extends Counts>(a: T & { key: string }, b: T & { key: string }) => b.total - a.total || a.key.localeCompare(b.key);

/** Counts per person and per host, refused attempts and root use, over the events given. */
export function reviewOf(events: readonly TrailEventRecord[], range: { startTime: number; endTime: number }): TrailReview {
  const all: Counts = { total: 0, refused: 0, root: 0 };
  const people = new Map<string, Counts & { key: string; set: Set<string> }>();
  const hosts = new Map<string, Counts & { key: string; set: Set<string> }>();
  const entry = (m: typeof people, key: string) => {
    let v = m.get(key);
    if (!v) m.set(key, (v = { key, total: 0, refused: 0, root: 0, set: new Set() }));
    return v;
  };
  for (const e of events) {
    bump(all, e);
    const host = hostOf(e);
    const p = entry(people, e.user);
    bump(p, e);
    if (host) p.set.add(host);
    if (host) {
      const h = entry(hosts, host);
      bump(h, e);
      h.set.add(e.user);
    }
  }
  return {
    startTime: range.startTime,
    endTime: range.endTime,
    ...all,
    allowed: all.total - all.refused,
    people: [...people.values()].sort(byMost).map((p) => ({ user: p.key, total: p.total, refused: p.refused, root: p.root, hosts: [...p.set].sort() })),
    hosts: [...hosts.values()].sort(byMost).map((h) => ({ host: h.key, total: h.total, refused: h.refused, root: h.root, people: [...h.set].sort() })),
  };
}
