/**
 * Issue 18 bug 3: at 1280 × 800 the inventory's last columns (Reach, Profile, Tags) were cut off
 * at the right and could not be scrolled to. Checked from element geometry: after scrolling the
 * table sideways as far as it goes, each header lies inside the window and inside the table's box.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsWorld, type AwsWorld } from '../integration/profiles/aws-world';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

describe.skipIf(!!chromiumMissing)('wide tables scroll to their last column at 1280 × 800', () => {
  let world: AwsWorld;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    world = await startAwsWorld({
      regions: ['us-east-1'],
      fleet: {
        vpcs: [{ id: 'vpc-0000000000000f001', region: 'us-east-1', cidr: '10.0.0.0/16', subnets: [{ id: 'subnet-0000000000000f001', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/20' }] }],
        instances: [
          { region: 'us-east-1', subnetId: 'subnet-0000000000000f001', publicIp: '54.0.0.1', tags: { Name: 'web-1', env: 'prod', team: 'platform' } },
          { region: 'us-east-1', subnetId: 'subnet-0000000000000f001', tags: { Name: 'db-1', env: 'prod' } },
        ],
      },
    });
    const data = join(world.dir, 'keyless');
    mkdirSync(data, { recursive: true });
    app = await startWebApp({ ...world.env, KEYLESS_HOME: data, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.url);
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    await world?.stop();
  });

  it('the inventory: Reach, Profile and Tags can be scrolled into view', async () => {
    await page.getByTestId('view-inventory').click();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    await page.getByTestId('inventory-count').filter({ hasText: '2 of 2 instances' }).waitFor({ timeout: 30_000 });
    const headers = page.locator('[role=columnheader]');
    const last = ['Reach', 'Profile', 'Tags'];
    for (const name of last) await headers.filter({ hasText: new RegExp(`^${name}$`) }).waitFor();
    // Scrolled sideways as far as the table goes (by the container that scrolls, whichever it is).
    const boxes = await page.evaluate((names) => {
      const heads = [...document.querySelectorAll('[role=columnheader]')] as HTMLElement[];
      // Only a container a person can scroll (overflow-x auto or scroll); a script could move a hidden one.
      for (let el: HTMLElement | null = heads[0]!; el; el = el.parentElement) {
        const scrolls = ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
        if (scrolls && el.scrollWidth > el.clientWidth + 1) el.scrollLeft = el.scrollWidth;
      }
      return names.map((n) => {
        const h = heads.find((e) => e.textContent?.trim() === n)!;
        const r = h.getBoundingClientRect();
        // The header is visible where it is drawn: the element at its middle is the header itself.
        const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 10), r.top + r.height / 2);
        return { name: n, left: r.left, right: r.right, shown: !!hit && (hit === h || h.contains(hit)) };
      });
    }, last);
    for (const b of boxes) {
      expect(b.right, `${b.name} ends at ${b.right}`).toBeLessThanOrEqual(1280);
      expect(b.shown, `${b.name} is drawn where it is`).toBe(true);
    }
  });
});
