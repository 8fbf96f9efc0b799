import { describe, expect, it } from 'vitest';
import { AwsClock } from '../../../electron/main/aws/clock';

/** An HTTP `Date` for the service clock at `ms` (whole seconds, as servers send it). */
const dateAt = (ms: number) => new Date(ms).toUTCString();

describe("AWS's clock, from the Date of the answers", () => {
  const T = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('knows nothing until an answer comes, then is never ahead of the service and at most the answer’s uncertainty behind', () => {
    let local = T;
    const clock = new AwsClock(() => local);
    expect([clock.known, clock.offsetMs]).toEqual([false, 0]);
    // The service is 2 minutes ahead; its answer was stamped 300 ms into a 400 ms round trip.
    const skew = 2 * 60_000;
    for (let i = 0; i < 20; i++) {
      const sentAt = local;
      const serviceAtStamp = sentAt + 300 + skew;
      local = sentAt + 400;
      clock.observe(dateAt(serviceAtStamp), sentAt);
      const service = local + skew;
      expect(clock.now().getTime()).toBeLessThanOrEqual(service);
      expect(service - clock.now().getTime()).toBeLessThan(1000 + 400);
      local += 1337; // the next answer lands at another fraction of a second
    }
    // Answers at different fractions of a second narrow it down.
    expect(local + skew - clock.now().getTime()).toBeLessThan(450);
  });

  it('starts over when the computer’s clock jumps (the answers no longer agree)', () => {
    let local = T;
    const clock = new AwsClock(() => local);
    clock.observe(dateAt(local), local - 50);
    expect(Math.abs(clock.offsetMs)).toBeLessThan(1100);
    local -= 20 * 60_000; // set back 20 minutes
    clock.observe(dateAt(local + 20 * 60_000), local - 50);
    expect(Math.abs(clock.offsetMs - 20 * 60_000)).toBeLessThan(1100);
  });

  it('ignores answers that say nothing about now: no or a bad Date, a cached answer, a very slow round trip', () => {
    const clock = new AwsClock(() => T);
    clock.observe(undefined, T - 10);
    clock.observe('yesterday-ish', T - 10);
    clock.observe(dateAt(T + 3_600_000), T - 120_000);
    clock.observeResponse({ headers: { date: dateAt(T + 3_600_000), age: '30' } }, T - 10);
    expect(clock.known).toBe(false);
    clock.observeResponse({ headers: { Date: dateAt(T + 3_600_000) } }, T - 10);
    expect(clock.offsetMs).toBeGreaterThan(3_599_000);
  });
});
