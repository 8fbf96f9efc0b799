import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

if (chromiumMissing) console.warn(`skipping the import conflict tests: ${chromiumMissing}`);

describe.skipIf(!!chromiumMissing)('an import that would replace saved hosts asks first, end to end in Chromium', () => {
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;
  const data = () => join(home, 'data');
  const stored = () => readFileSync(join(data(), 'hosts.json'), 'utf8');
  const config = (address: string) => writeFileSync(join(home, '.ssh', 'config'), `Host web\n  HostName ${address}\n  User deploy\n`);
  const storedHosts = () => (JSON.parse(stored()) as { hosts: Array<{ id: string; name: string; host: string }> }).hosts;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-import-'));
    mkdirSync(join(home, '.ssh'));
    config('10.0.0.1');
    app = await startWebApp({ KEYLESS_HOME: data(), HOME: home, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.url);
  });

  afterAll(async () => {
    await close?.();
    await app?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('a first import and an unchanged re-import of ~/.ssh/config ask nothing', async () => {
    await page.getByTestId('hosts-empty').getByTestId('import-ssh-config').click();
    const report = page.getByTestId('import-report');
    await expect.poll(() => report.textContent()).toContain('1 hosts added, 0 updated');
    await page.getByTestId('import-ssh-config').first().click();
    await expect.poll(() => report.textContent()).toContain('0 hosts added, 0 updated');
    expect(await page.getByTestId('import-conflicts').count()).toBe(0);
  });

  it('a changed HostName shows saved and imported side by side; Esc leaves everything as it was', async () => {
    const before = stored();
    config('203.0.113.66');
    await page.getByTestId('import-ssh-config').first().click();
    const dialog = page.getByTestId('import-conflicts');
    await dialog.waitFor();
    expect(await dialog.getAttribute('role')).toBe('dialog');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('import-conflicts');
    const conflict = dialog.getByTestId('import-conflict');
    expect(await conflict.count()).toBe(1);
    expect(await conflict.getByTestId('saved-address').textContent()).toBe('10.0.0.1:22');
    expect(await conflict.getByTestId('imported-address').textContent()).toBe('203.0.113.66:22');
    expect(await conflict.getByTestId('import-choice-keep').isChecked()).toBe(true);
    expect(await seriousViolations(page, '[data-testid=import-conflicts]')).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(stored()).toBe(before);
  });

  it('chosen by keyboard alone: replace takes the imported host', async () => {
    await page.getByTestId('import-ssh-config').first().click();
    const dialog = page.getByTestId('import-conflicts');
    await dialog.waitFor();
    // Tab to the conflict's choices, arrow from "keep" to "replace", tab on to Import.
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    for (let i = 0; i < 10 && (await focused()) !== 'import-choice-keep'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('import-choice-keep');
    await page.keyboard.press('ArrowRight');
    expect(await dialog.getByTestId('import-choice-replace').isChecked()).toBe(true);
    for (let i = 0; i < 10 && (await focused()) !== 'import-apply'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.getByTestId('import-report').textContent()).toContain('0 hosts added, 1 updated');
    expect(storedHosts().map((h) => h.host)).toEqual(['203.0.113.66']);
  });

  it('a JSON export that repoints a saved host: "keep both" for all keeps the saved one and adds the imported one', async () => {
    const saved = storedHosts()[0]!;
    const hostile = { format: 'keyless-hosts', version: 2, groups: [], smartGroups: [], hosts: [{ ...saved, host: '198.51.100.7', user: 'root' }] };
    await page.locator('input[type=file]').setInputFiles({ name: 'shared.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(hostile)) });
    const dialog = page.getByTestId('import-conflicts');
    await dialog.waitFor();
    expect(await dialog.getByTestId('imported-user').textContent()).toBe('root');
    await dialog.getByTestId('import-all-both').click();
    expect(await dialog.getByTestId('import-choice-both').isChecked()).toBe(true);
    await dialog.getByTestId('import-apply').click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => storedHosts().map((h) => h.host).sort()).toEqual(['198.51.100.7', '203.0.113.66']);
    expect(storedHosts().find((h) => h.host === '203.0.113.66')!.id).toBe(saved.id);
  });
});
