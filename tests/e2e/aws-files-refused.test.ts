/**
 * An AWS config that is a named pipe (FIFO): the Profiles view says which file it is and what is
 * wrong, every time it is reloaded, in both languages and themes (axe clean), and the rest of the
 * app goes on working. Before, each profile
 * list waited on the FIFO for good on one of the backend's four file threads; after four, no file
 * call finished again (a new group was never saved).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations, switchLanguage } from './support/axe';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

describe.skipIf(!!chromiumMissing)('an AWS config that is not a file, in Chromium', () => {
  let dir: string;
  let fifo: string;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyless-aws-fifo-'));
    mkdirSync(join(dir, 'home'));
    fifo = join(dir, 'home', 'aws-config');
    execFileSync('mkfifo', [fifo]);
    app = await startWebApp({
      KEYLESS_HOME: join(dir, 'keyless'),
      HOME: join(dir, 'home'),
      AWS_CONFIG_FILE: fifo,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'home', 'no-credentials'),
      SSH_AUTH_SOCK: '',
      LANG: 'en_US.UTF-8',
    });
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(app.url);
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the file and what it is on every reload, and a new group is still saved', async () => {
    await page.getByTestId('view-profiles').click();
    const view = page.getByTestId('profiles-view');
    const alert = view.getByRole('alert');
    const words = `Keyless did not read ${fifo}: it is a named pipe (FIFO), not a file, and reading it could wait forever.`;
    await alert.filter({ hasText: words }).waitFor();
    const reload = view.getByRole('button', { name: 'Reload files' });
    for (let i = 0; i < 5; i++) {
      await reload.click();
      await alert.filter({ hasText: words }).waitFor();
    }
    // In both languages and both themes, with nothing serious for axe.
    for (const [lang, addHost, says] of [['ja', 'ホストを追加', `${fifo} は名前付きパイプ（FIFO）で`], ['en', 'Add host', words]] as const) {
      await switchLanguage(page, lang, addHost);
      await alert.filter({ hasText: says }).waitFor();
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        expect(await seriousViolations(page, '[data-testid=profiles-view]'), `${lang} ${colorScheme}`).toEqual([]);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByTestId('view-terminals').click();
    await page.getByTestId('add-group').click();
    await page.getByTestId('group-editor').locator('input[name=groupName]').fill('Still saved');
    await page.getByTestId('save-group').click();
    await page.getByTestId('group').filter({ hasText: 'Still saved' }).waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
  });
});
