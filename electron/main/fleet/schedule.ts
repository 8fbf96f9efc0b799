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

/** What driving a queue of hosts does at each turn: the fleet run's and the upload's own steps. */
export interface DriveSteps {
  /** Runs one host to its end (never throws). */
  start(key: string): Promise<void>;
  /** A queued host that will not start: the whole job was cancelled. */
  cancelQueued(key: string): void;
  /** A queued host passed over because its endpoint is full: it waits for it. */
  waiting(key: string): void;
  /** After each turn (counts, a summary event). */
  turned(): void;
}

/**
 * Starts queued hosts as the limits allow (`startable`), each next one as another ends, until
 * every host has ended; cancelling stops the queue (running hosts end by the same signal).
 */
export function driveQueue(queued: readonly Queued[], limits: ScheduleLimits, signal: AbortSignal, steps: DriveSteps): Promise<void> {
  const queue = [...queued];
  const perLane = new Map<string, number>();
  let total = 0;
  return new Promise<void>((resolve) => {
    const turn = () => {
      if (signal.aborted) for (const q of queue.splice(0)) steps.cancelQueued(q.key);
      for (const q of startable(queue, { total, perLane }, limits)) {
        queue.splice(queue.indexOf(q), 1);
        total++;
        if (q.lane) perLane.set(q.lane, (perLane.get(q.lane) ?? 0) + 1);
        void steps.start(q.key).finally(() => {
          total--;
          if (q.lane) perLane.set(q.lane, perLane.get(q.lane)! - 1);
          turn();
        });
      }
      for (const q of queue) if (q.lane && (perLane.get(q.lane) ?? 0) >= limits.perLane) steps.waiting(q.key);
      steps.turned();
      if (total === 0 && queue.length === 0) {
        signal.removeEventListener('abort', turn);
        resolve();
      }
    };
    signal.addEventListener('abort', turn, { once: true });
    turn();
  });
}
