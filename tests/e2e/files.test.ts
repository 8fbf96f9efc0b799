import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { connectFromInventory, ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the Files end-to-end test: ${ec2Skip}`);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Files as a person meets them: from a terminal tab connected to a private EC2 instance (through its
// endpoint), the Files view on the same connection; a file uploaded through the browser's picker
// with its progress shown, downloaded again, renamed and deleted — by keyboard where a person would.
describe.skipIf(ec2Skip)('Files from a connected EC2 tab, in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
  });
  afterAll(async () => {
    rmSync('/tmp/osc here', { recursive: true, force: true });
    await world?.stop();
  });

  it('opens Files from the tab, uploads through the picker with progress, downloads, renames and deletes', async () => {
    const { page, work } = world;
    await connectFromInventory(page, 'app-1');
    await page.getByTestId('files-open').click();
    const browser = page.getByTestId('files-browser');
    await browser.waitFor();
    await expect.poll(() => page.getByTestId('files-crumbs').textContent(), { timeout: 30_000 }).toContain('ec2-user');
    expect(await seriousViolations(page, '[data-testid=files-area]')).toEqual([]);

    // Every progress value the queue shows, as it shows them.
    await page.evaluate(() => {
      const seen: Array<[number, number]> = [];
      (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
      new MutationObserver(() => {
        for (const p of document.querySelectorAll<HTMLProgressElement>('[data-testid=transfer] progress')) seen.push([p.value, p.max]);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const content = randomBytes(24 * 1024 * 1024);
    const picked = join(work, 'upload e2e.bin');
    writeFileSync(picked, content);
    await page.getByTestId('files-picker').setInputFiles(picked);
    const transfer = page.locator('[data-testid=transfer][data-label="upload e2e.bin"]');
    await expect.poll(() => transfer.getAttribute('data-state'), { timeout: 120_000 }).toBe('done');
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: Array<[number, number]> }).progressSeen);
    expect(seen.some(([v, max]) => v > 0 && v < max), `progress values seen: ${JSON.stringify(seen.slice(0, 20))}`).toBe(true);
    const row = page.locator('[data-testid=files-row][data-name="upload e2e.bin"]');
    await row.waitFor({ timeout: 20_000 });

    // Download: the row selected, the file lands in the downloads folder, the same bytes.
    await row.click();
    await page.getByTestId('files-download').click();
    const saved = join(work, 'Downloads', 'upload e2e.bin');
    await expect.poll(() => existsSync(saved), { timeout: 120_000 }).toBe(true);
    expect(sha(readFileSync(saved))).toBe(sha(content));

    // Rename by keyboard: F2 on the focused row, type, Enter.
    await page.getByTestId('files-table').focus();
    await row.click();
    await page.getByTestId('files-table').press('F2');
    const input = page.getByTestId('files-form-input');
    await input.fill('renamed.bin');
    await input.press('Enter');
    const renamed = page.locator('[data-testid=files-row][data-name="renamed.bin"]');
    await renamed.waitFor({ timeout: 20_000 });
    expect(await row.count()).toBe(0);

    // Delete: the question first, then gone.
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await renamed.click();
    await page.getByTestId('files-table').press('Delete');
    await expect.poll(() => renamed.count(), { timeout: 20_000 }).toBe(0);
    expect(asked).toContain('renamed.bin');
    expect(await seriousViolations(page, '[data-testid=files-area]')).toEqual([]);
  });

  it('Files here opens the folder the shell reported (OSC 7) beside the terminal', async () => {
    const { page } = world;
    await page.getByTestId('view-terminals').click();
    // What the opt-in shell integration prints at each prompt; printf's %% is a literal %.
    await page.evaluate(() => window.keylessTest.type("mkdir -p '/tmp/osc here' && cd '/tmp/osc here' && touch marker.txt && printf '\\033]7;file://app-1/tmp/osc%%20here\\033\\\\' && echo osc-$((1+1))-done\n"));
    await expect.poll(() => page.evaluate(() => window.keylessTest.text()), { timeout: 15_000 }).toContain('osc-2-done');
    await page.getByTestId('files-here').click();
    const dock = page.getByTestId('files-dock');
    await dock.waitFor();
    await expect.poll(() => dock.getByTestId('files-crumbs').textContent(), { timeout: 30_000 }).toContain('osc here');
    await dock.locator('[data-testid=files-row][data-name="marker.txt"]').waitFor({ timeout: 20_000 });
    // The terminal is still there, beside it.
    expect(await page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(','))).toBe('connected');
    expect(await seriousViolations(page, '[data-testid=files-dock]')).toEqual([]);
  });
});

describe.skipIf(ec2Skip)('a folder of 100,000 entries, in Chromium', () => {
  let world: Ec2World;
  const folder = '/home/ec2-user/hundred-thousand';
  beforeAll(async () => {
    world = await startEc2World();
    // The simulated instance's files are this machine's: made here, listed there.
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 100_000; i++) closeSync(openSync(join(folder, `entry-${String(i).padStart(6, '0')}.log`), 'w'));
  }, 300_000);
  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await world?.stop();
  });

  it('shows the first rows while the rest stream in, and keeps only the visible rows in the page', async () => {
    const { page } = world;
    await connectFromInventory(page, 'app-1');
    await page.getByTestId('files-open').click();
    await expect.poll(() => page.getByTestId('files-crumbs').textContent(), { timeout: 30_000 }).toContain('ec2-user');
    // Whether rows were on screen while the status still said it was listing.
    await page.evaluate(() => {
      const w = window as unknown as { rowsWhileListing: number };
      w.rowsWhileListing = 0;
      new MutationObserver(() => {
        const status = document.querySelector('[data-testid=files-status]')?.textContent ?? '';
        const rows = document.querySelectorAll('[data-testid=files-row]').length;
        if (/Listing/.test(status) && rows > 0) w.rowsWhileListing = Math.max(w.rowsWhileListing, rows);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId('files-type-path').click();
    await page.getByTestId('files-typed').fill(folder);
    await page.getByTestId('files-typed').press('Enter');
    await expect.poll(() => page.getByTestId('files-status').textContent(), { timeout: 120_000 }).toMatch(/^\s*100000 items/);
    expect(await page.evaluate(() => (window as unknown as { rowsWhileListing: number }).rowsWhileListing)).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=files-row]').count()).toBeLessThan(200);
    // The end of the list by keyboard: the last entry is there, still only a window of rows.
    await page.getByTestId('files-table').focus();
    await page.getByTestId('files-table').press('End');
    await page.locator('[data-testid=files-row][data-name="entry-099999.log"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid=files-row]').count()).toBeLessThan(200);
  }, 300_000);
});
