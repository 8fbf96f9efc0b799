import { KeylessFailure } from '../base/errors';
import { toDisposable, type Disposable } from '../base/lifecycle';

/** An EC2 Instance Connect Endpoint carries at most this many tunnels at once (the service refuses the next). */
export const TUNNELS_PER_ENDPOINT = 20;

interface Waiter {
  grant(slot: Disposable): void;
  reject(err: unknown): void;
}

/**
 * The tunnels Keyless holds open on each endpoint, at most `limit` each: terminals, forwards,
 * transfers and command runs all take a slot before they open a tunnel and give it back when it
 * closes, so Keyless itself never meets the endpoint's refusal. Who waits is served in order.
 */
export class EndpointBudget {
  private readonly used = new Map<string, number>();
  private readonly queues = new Map<string, Waiter[]>();

  constructor(
    private readonly limit = TUNNELS_PER_ENDPOINT,
    /** Told when a caller has to wait for `endpointId`: an idle connection there may give its slot back. */
    private readonly onWaiting: (endpointId: string) => void = () => {},
  ) {}

  inUse(endpointId: string): number {
    return this.used.get(endpointId) ?? 0;
  }

  waiting(endpointId: string): number {
    return this.queues.get(endpointId)?.length ?? 0;
  }

  /** A slot on the endpoint, now or once one is given back; cancelled with `signal`. */
  acquire(endpointId: string, signal?: AbortSignal): Promise<Disposable> {
    if (signal?.aborted) return Promise.reject(new KeylessFailure('Cancelled', 'The connection was cancelled.', true));
    if (this.inUse(endpointId) < this.limit) return Promise.resolve(this.take(endpointId));
    return new Promise<Disposable>((resolve, reject) => {
      const queue = this.queues.get(endpointId) ?? [];
      this.queues.set(endpointId, queue);
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(new KeylessFailure('Cancelled', 'The connection was cancelled.', true));
      };
      const waiter: Waiter = {
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      this.onWaiting(endpointId);
    });
  }

  private take(endpointId: string): Disposable {
    this.used.set(endpointId, this.inUse(endpointId) + 1);
    return toDisposable(() => this.give(endpointId));
  }

  private give(endpointId: string): void {
    const next = this.queues.get(endpointId)?.shift();
    // Handed straight to the next in line: the count stays, the slot changes hands.
    if (next) return next.grant(toDisposable(() => this.give(endpointId)));
    const n = this.inUse(endpointId) - 1;
    if (n > 0) this.used.set(endpointId, n);
    else this.used.delete(endpointId);
  }
}
