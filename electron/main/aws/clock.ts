import type { Pluggable } from '@smithy/types';

/** A round trip longer than this says too little about when the service read its clock. */
const MAX_USEFUL_ROUND_TRIP_MS = 60_000;

interface ResponseLike {
  headers?: Record<string, string | string[] | undefined>;
}

/**
 * AWS's clock as Keyless knows it: the offset between this computer's clock and the services',
 * learned from the `Date` header of every AWS response Keyless already gets (no call of its own).
 * A presigned EICE URL lives 60 seconds from its X-Amz-Date, so a local clock two minutes slow
 * signs URLs that are born expired, and one that runs fast signs URLs from the future; the SDK
 * corrects only its own API calls, per client.
 *
 * A `Date` header has whole seconds, stamped at some moment between sending and receiving, so each
 * response bounds the offset to [Date − received, Date + 1 s − sent]. The bounds of successive
 * responses are intersected (reset when they disagree: the local clock was set or jumped), and
 * the lower bound is used: a URL signed with it is never dated after the service's own clock,
 * and at most that interval (about a second plus a round trip) before it.
 */
export class AwsClock {
  private bounds: { lo: number; hi: number } | undefined;

  constructor(
    /** This computer's clock; tests give a skewed one. */
    readonly local: () => number = Date.now,
  ) {}

  /** Milliseconds to add to the local clock to read AWS's; 0 until a response said otherwise. */
  get offsetMs(): number {
    return this.bounds?.lo ?? 0;
  }

  /** Whether any response has said anything yet. */
  get known(): boolean {
    return this.bounds !== undefined;
  }

  now(): Date {
    return new Date(this.local() + this.offsetMs);
  }

  /** One response's `Date` header (RFC 7231), with when its request left and its answer came, by the local clock. */
  observe(date: string | undefined, sentAt: number, receivedAt: number = this.local()): void {
    const stamped = date === undefined ? NaN : Date.parse(date);
    if (Number.isNaN(stamped) || receivedAt < sentAt || receivedAt - sentAt > MAX_USEFUL_ROUND_TRIP_MS) return;
    const lo = stamped - receivedAt;
    const hi = stamped + 1000 - sentAt;
    const b = this.bounds;
    this.bounds = b && lo <= b.hi && hi >= b.lo ? { lo: Math.max(lo, b.lo), hi: Math.min(hi, b.hi) } : { lo, hi };
  }

  /** A response as the SDK or `http` hands it over; a cached answer (`Age`) says nothing about now. */
  observeResponse(response: ResponseLike | undefined, sentAt: number): void {
    const headers = response?.headers;
    if (!headers) return;
    const one = (name: string) => {
      const v = headers[name] ?? headers[name[0]!.toUpperCase() + name.slice(1)];
      return Array.isArray(v) ? v[0] : v;
    };
    if (one('age') !== undefined) return;
    this.observe(one('date'), sentAt);
  }
}

export interface ClockedClient<I extends object, O extends object> {
  config: { systemClockOffset?: number };
  middlewareStack: { use(p: Pluggable<I, O>): void };
}

/**
 * Teaches `clock` from every response this client gets, and has the client sign its own calls with
 * `clock` (a new client starts corrected instead of failing its first call). The reader sits just
 * above the HTTP handler, so it sees each attempt's raw answer, errors included; the SDK's own
 * correction after a skew error still applies to its retries.
 */
export function useAwsClock<I extends object, O extends object>(client: ClockedClient<I, O>, clock: AwsClock): void {
  client.middlewareStack.use({
    applyToStack(stack) {
      stack.add(
        (next) => (args) => {
          // The SDK adds its offset to Date.now(), which a test's local clock may not be.
          if (clock.known) client.config.systemClockOffset = clock.now().getTime() - Date.now();
          return next(args);
        },
        { step: 'initialize', name: 'keylessClockOffset' },
      );
      stack.add(
        (next) => async (args) => {
          const sentAt = clock.local();
          try {
            const out = await next(args);
            clock.observeResponse(out.response as ResponseLike, sentAt);
            return out;
          } catch (err) {
            clock.observeResponse((err as { $response?: ResponseLike }).$response, sentAt);
            throw err;
          }
        },
        { step: 'deserialize', name: 'keylessClockReader', priority: 'low' },
      );
    },
  });
}
