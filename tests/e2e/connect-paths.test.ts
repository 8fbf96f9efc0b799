import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFromInventory, ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the connect-paths end-to-end test: ${ec2Skip}`);

// Every way a person opens a terminal — the inventory, the sidebar, the palette — goes through the
// one `session.open` (the audit log's lines are written by its wrapper), and the route actually
// used reaches the tab and the audit view.
describe.skipIf(ec2Skip)('connecting from the inventory, the sidebar and the palette, in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
  });
  afterAll(() => world?.stop());

  it('three ways in, one channel: each tab shows its route, and the audit view lists each connection with the route used', async () => {
    const { page } = world;
    const connected = (n: number) =>
      expect.poll(() => page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(',')), { timeout: 30_000 }).toBe(Array(n).fill('connected').join(','));

    await connectFromInventory(page, 'app-1');
    // The inventory saved the instance as a host: its sidebar row connects a second tab.
    const row = page.locator('[data-testid=host-row]').filter({ hasText: 'app-1' });
    await row.getByTestId('connect').click();
    await connected(2);
    // The palette finds another instance of the inventory by name.
    await page.keyboard.press('Control+k');
    await page.getByTestId('quick-connect-input').fill('db-1');
    await expect.poll(() => page.getByTestId('quick-connect-item').allTextContents()).toEqual([expect.stringContaining('db-1')]);
    await page.keyboard.press('Enter');
    await connected(3);

    const routes = await page.locator('[data-testid=terminal-pane]').evaluateAll((panes) => panes.map((p) => p.getAttribute('data-route')));
    expect(routes).toEqual(['eice', 'eice', 'eice']);
    expect(await page.getByTestId('tab-title').first().getAttribute('title')).toMatch(/connected · through the EC2 Instance Connect Endpoint eice-\w+ to 10\.0\.\d+\.\d+/);

    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-local-reload').click();
    const lines = page.locator('[data-testid=audit-local-row][data-kind=terminal]');
    await expect.poll(() => lines.count()).toBe(3);
    const seen = await lines.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-outcome'), r.getAttribute('data-connection'), r.textContent?.includes('EC2 Instance Connect Endpoint')]));
    expect(seen).toEqual(Array(3).fill(['connected', 'eice', true]));
  });
});
