import { KeylessFailure } from './errors';

/** Waits `ms`, or rejects with `Cancelled` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, cancelledMessage = 'The operation was cancelled.'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(new KeylessFailure('Cancelled', cancelledMessage, true));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `promise`'s outcome, or `Cancelled` as soon as `signal` aborts: a wait on work that someone else
 * owns (and that goes on without this waiter).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, cancelledMessage = 'The operation was cancelled.'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new KeylessFailure('Cancelled', cancelledMessage, true));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
