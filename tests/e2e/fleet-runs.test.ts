import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the fleet runs end-to-end test: ${ec2Skip}`);

// A run as a person makes it: a smart group over the simulator's demo fleet (app-1 and db-1
// behind their endpoint, batch-1 stopped), the reach said before running, the confirmation a
// destructive-looking command asks for, rows filling live, one host's output, a CSV export.
describe.skipIf(ec2Skip)('fleet runs in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
  }, 120_000);
  afterAll(() => world?.stop());

  it('runs on a smart group: reach, confirmation, live rows, one host output, CSV export, axe clean', async () => {
    const { page } = world;
    // The smart group's members come from the inventory: read it once.
    await page.getByTestId('view-inventory').click();
    await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    await page.locator('[data-testid=inventory-row]').filter({ hasText: 'app-1' }).waitFor({ timeout: 30_000 });

    // A smart group of the prod instances but the web server; its row's Run button opens Runs on it.
    await page.getByRole('button', { name: 'New smart group' }).click();
    await page.locator('input[name=smartName]').fill('prod apps');
    await page.locator('input[name=query]').fill('env:prod -role:web region:us-east-1');
    await page.getByTestId('save-smart-group').click();
    await page.locator('[data-testid=smart-group]').filter({ hasText: 'prod apps' }).getByTestId('smart-menu').click();
    await page.getByTestId('run-smart').click();
    await page.getByTestId('runs-view').waitFor();
    expect(await page.getByTestId('runs-target-kind').inputValue()).toBe('smartGroup');
    await expect.poll(() => page.getByTestId('runs-reach').textContent(), { timeout: 20_000 }).toBe('3 hosts: 2 through 1 endpoints, 0 direct, 1 cannot be reached');
    expect(await seriousViolations(page, '[data-testid=runs-view]')).toEqual([]);

    await page.getByTestId('runs-command').fill('echo "on $(whoami)"\nrm -rf /tmp/keyless-e2e-nothing-here\necho done >&2');
    await page.getByTestId('runs-start').click();
    // rm -rf asks first, naming the host count; the keyboard's first stop is "Go back".
    const dialog = page.getByTestId('runs-confirm');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Run this on 3 hosts?');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('runs-confirm-no');
    expect(await seriousViolations(page, '[data-testid=runs-confirm]')).toEqual([]);
    await page.getByTestId('runs-confirm-yes').click();

    // Rows are there at once and fill in as hosts finish.
    await page.locator('[data-testid=runs-row]').first().waitFor();
    expect(await page.locator('[data-testid=runs-row]').count()).toBe(3);
    await expect
      .poll(() => page.locator('[data-testid=runs-row]').evaluateAll((rows) => rows.map((r) => `${r.querySelector('button')?.textContent}:${r.getAttribute('data-state')}`).sort()), { timeout: 60_000 })
      .toEqual(['app-1:ok', 'batch-1:error', 'db-1:ok']);
    expect(await page.getByTestId('runs-counts').textContent()).toBe('3 hosts: 2 succeeded, 0 failed, 1 could not run, 0 timed out, 0 cancelled, 0 still going');
    // The stopped instance says why in the terminal's words.
    expect(await page.locator('[data-testid=runs-row][data-state=error]').textContent()).toContain('is not running');

    // One host's output, stdout and stderr apart; by keyboard: focus the host, Enter.
    await page.locator('[data-testid=runs-row]').filter({ hasText: 'db-1' }).getByTestId('runs-row-open').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('runs-stdout').textContent()).toBe('on ubuntu\n');
    expect(await page.getByTestId('runs-stderr').textContent()).toBe('done\n');

    // Identical outputs are grouped: app-1 (ec2-user) and db-1 (ubuntu) differ.
    await page.getByTestId('runs-grouped').check();
    expect(await page.getByTestId('runs-group-row').allTextContents()).toEqual([expect.stringMatching(/^1 hosts printed the same 1 lines/), expect.stringMatching(/^1 hosts printed the same 1 lines/)]);
    await page.getByTestId('runs-grouped').uncheck();
    expect(await seriousViolations(page, '[data-testid=runs-view]')).toEqual([]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-export-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^keyless-run-r1-.*\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').split('\r\n');
    expect(lines[0]).toMatch(/^host,instance,via,endpoint,state,exit_code/);
    expect(lines.slice(1).filter(Boolean).map((l) => l.split(',')[0]).sort()).toEqual(['app-1', 'batch-1', 'db-1']);
  }, 180_000);
});
