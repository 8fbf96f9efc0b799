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
