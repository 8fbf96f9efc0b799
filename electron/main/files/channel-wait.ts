import type { EventEmitter } from 'node:events';

/**
 * Resolves when a channel written past its window drains, or closes: a channel that closes (a
 * cancel, a dropped connection) never drains, and a wait for 'drain' alone would last for good.
 */
export function drainedOrClosed(channel: EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      channel.off('drain', done).off('close', done);
      resolve();
    };
    channel.on('drain', done).on('close', done);
  });
}
