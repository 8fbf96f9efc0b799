/**
 * The connect's steps, kept after connecting, as a waterfall: one bar per step on one time scale,
 * with its milliseconds as text, against a real sshd; axe-core on it in both languages and themes.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { addHost, connect, startWorld, terminalSkip, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the connect waterfall tests: ${terminalSkip}`);

const pane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

describe.skipIf(terminalSkip)('the connect waterfall', () => {
  let world: TerminalWorld;
  let page: Page;

  beforeAll(async () => {
    world = await startWorld({ viewport: { width: 1280, height: 800 } });
    page = world.page;
    await addHost(page, 'alpha', world.sshd[0]!);
    await connect(page, 'alpha');
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('shows one bar per step with its milliseconds as text; the longest step has the longest bar', async () => {
    const kept = pane(page).getByTestId('steps-kept');
    await kept.locator('summary').click();
    const waterfall = kept.getByTestId('connect-waterfall');
    await waterfall.waitFor();
    const steps = await waterfall.getByTestId('waterfall-step').evaluateAll((rows) =>
      rows.map((r) => {
        const bars = [...r.querySelectorAll('[data-testid=waterfall-bar]')];
        const svg = r.querySelector('svg')!;
        return {
          name: r.querySelector('th')?.textContent?.trim(),
          status: r.getAttribute('data-status'),
          ms: r.querySelector('td:last-child')?.textContent?.trim() ?? '',
          bars: bars.length,
          x: Number(bars[0]?.getAttribute('x')),
          width: Number(bars[0]?.getAttribute('width')),
          chart: Number(svg.getAttribute('width')),
        };
      }),
    );
    expect(steps.map((s) => s.name)).toContain('Authenticating');
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const s of steps) {
      expect(s.bars, s.name).toBe(1);
      expect(s.status, s.name).toBe('done');
      expect(s.ms, s.name).toMatch(/^\d+ ms$/);
      // Inside one chart width shared by every row: the bars are on one scale.
      expect(s.chart).toBe(steps[0]!.chart);
      expect(s.x + s.width, s.name).toBeLessThanOrEqual(s.chart + 0.01);
    }
    // Each step starts no earlier than the one listed before it (they are listed as they began).
    for (let k = 1; k < steps.length; k++) expect(steps[k]!.x).toBeGreaterThanOrEqual(steps[k - 1]!.x);
    const ms = steps.map((s) => parseInt(s.ms, 10));
    const longest = ms.indexOf(Math.max(...ms));
    const widest = steps.map((s) => s.width).indexOf(Math.max(...steps.map((s) => s.width)));
    // Ties in whole milliseconds aside, the longest step has the widest bar.
    expect(ms[widest]).toBe(ms[longest]);
    // The whole connect is the caption a screen reader hears first.
    expect(await waterfall.locator('caption').textContent()).toMatch(/^Connect steps over time \(\d+ ms in all\)$/);
  });

  it('passes axe in English and Japanese, light and dark', async () => {
    const kept = pane(page).getByTestId('steps-kept');
    for (const lang of ['en', 'ja'] as const) {
      await page.getByTestId('language').selectOption(lang);
      await expect.poll(() => kept.locator('caption').textContent()).toMatch(lang === 'ja' ? /^接続ステップの所要時間/ : /^Connect steps/);
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        expect(await seriousViolations(page, '[data-testid=steps-kept]'), `${lang} ${scheme}`).toEqual([]);
      }
    }
    await page.getByTestId('language').selectOption('en');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(world.errors).toEqual([]);
  });
});
