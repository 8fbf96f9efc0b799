/**
 * The views behind the tabs load their code when first shown. If that load fails (a file missing
 * after an update under a running window, a dropped connection to the harness), the view says so
 * with the reason and offers to try again, by keyboard; trying again once the file is back shows
 * the view.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations, switchLanguage } from './support/axe';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

describe.skipIf(!!chromiumMissing)('a view whose code cannot be loaded', () => {
  let dir: string;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyless-lazy-'));
    app = await startWebApp({ KEYLESS_HOME: join(dir, 'keyless'), HOME: join(dir, 'home'), SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.url);
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says it could not be loaded and why, and shows the view when tried again', async () => {
    const chunk = /\/assets\/RunsView-[\w-]+\.js$/;
    await page.route(chunk, (r) => r.abort('connectionrefused'));
    await page.getByTestId('view-runs').click();
    const failed = page.getByTestId('view-load-failed');
    await failed.waitFor();
    expect(await failed.getAttribute('role')).toBe('alert');
    expect(await failed.textContent()).toMatch(/This view could not be loaded: \S/);
    expect(await page.getByTestId('runs-view').count()).toBe(0);
    // In both languages and both themes.
    for (const [lang, addHost, says] of [['ja', 'ホストを追加', /この表示を読み込めませんでした: \S/], ['en', 'Add host', /This view could not be loaded: \S/]] as const) {
      await switchLanguage(page, lang, addHost);
      expect(await failed.textContent()).toMatch(says);
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        expect(await seriousViolations(page, '[data-testid=view-load-failed]'), `${lang} ${colorScheme}`).toEqual([]);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });

    // Tried again while still refused: the card stays, and so does the focus on its button.
    await page.getByTestId('view-load-retry').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('view-load-retry');
    expect(await failed.count()).toBe(1);

    // Tried again while that try is still loading (it will fail): the second press is not lost, and
    // the try after it, with the file back, shows the view.
    await page.unroute(chunk);
    await page.route(
      chunk,
      async (r) => {
        await new Promise((done) => setTimeout(done, 600));
        await r.abort('connectionrefused');
      },
      { times: 1 },
    );
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('view-load-retry').getAttribute('aria-disabled')).toBe('true');
    await page.keyboard.press('Enter');
    await page.getByTestId('runs-view').waitFor({ timeout: 10_000 });
    expect(await failed.count()).toBe(0);
    // The focus went to the view that came, not to the page's body.
    expect(await page.evaluate(() => !!document.activeElement?.closest('.view') && document.activeElement !== document.body)).toBe(true);
  });
});
