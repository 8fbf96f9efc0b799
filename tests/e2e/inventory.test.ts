import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, type InstanceSpec } from '../sim/index';
import { ROLE, startAwsWorld, type AwsWorld } from '../integration/profiles/aws-world';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

const BIG = 2500;

describe.skipIf(!!chromiumMissing)('profiles and inventory in Chromium, against the simulator', () => {
  let world: AwsWorld;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const instances: InstanceSpec[] = Array.from({ length: BIG }, (_, k) => ({
      region: 'us-east-1',
      subnetId: 'subnet-0000000000000e001',
      ...(k % 2 ? {} : { publicIp: `54.0.${k >> 8}.${k & 255}` }),
      tags: { Name: `node-${k}`, env: k % 10 ? 'prod' : 'dev' },
    }));
    instances.push({ region: 'us-west-2', subnetId: 'subnet-0000000000000e002', tags: { Name: 'west-1', env: 'staging' } });
    world = await startAwsWorld({
      regions: ['us-east-1', 'us-west-2'],
      fleet: {
        vpcs: [
          { id: 'vpc-0000000000000e001', region: 'us-east-1', cidr: '10.0.0.0/16', subnets: [{ id: 'subnet-0000000000000e001', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/20' }] },
          { id: 'vpc-0000000000000e002', region: 'us-west-2', cidr: '10.1.0.0/16', subnets: [{ id: 'subnet-0000000000000e002', availabilityZone: 'us-west-2a', cidr: '10.1.0.0/24' }] },
        ],
        instances,
      },
    });
    await world.addConfig(`[profile mfa]\nrole_arn = ${ROLE('MfaRole')}\nsource_profile = default\nmfa_serial = arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin\nregion = us-east-1\nendpoint_url = ${world.sim.endpoint}`);
    await world.addExpiredProfile('stale');
    const data = join(world.dir, 'keyless');
    mkdirSync(data, { recursive: true });
    // The harness inherits this environment: the AWS files, and HOME for the SSO cache.
    app = await startWebApp({ ...world.env, KEYLESS_HOME: data, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && errors.push(m.text()));
    await page.goto(app.url);
  });
  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    await world?.stop();
    rmSync(join(process.cwd(), 'tests', 'artifacts', 'never'), { force: true, recursive: true });
  });

  const row = (profile: string) => page.locator(`[data-testid=profile-row][data-profile="${profile}"]`);

  it('shows every profile; checking them gives account, ARN and status, asks for the MFA code, and says "sign in again" for SSO', async () => {
    await page.getByTestId('view-profiles').click();
    await row('default').waitFor();
    await page.getByTestId('profiles-check-all').click();
    const dialog = page.locator('[data-testid=prompt][data-kind=mfa]');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(`arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin`);
    await page.getByTestId('mfa-code').fill('123456');
    await dialog.locator('button[type=submit]').click();

    await row('default').and(page.locator('[data-state=valid]')).waitFor();
    expect(await row('default').getByTestId('profile-account').textContent()).toBe(ACCOUNT_ID);
    expect(await row('default').getByTestId('profile-arn').textContent()).toBe(`arn:aws:iam::${ACCOUNT_ID}:user/sim-admin`);
    await row('mfa').and(page.locator('[data-state=valid]')).waitFor();
    expect(await row('mfa').getByTestId('profile-arn').textContent()).toMatch(/assumed-role\/MfaRole\//);
    expect(await row('mfa').textContent()).toMatch(/expires in (59 min|1 h)/);
    await row('stale').and(page.locator('[data-state=expired]')).waitFor();
    expect(await row('stale').getByTestId('profile-error').textContent()).toContain('have expired. Sign in again.');
    await row('sso').and(page.locator('[data-state=signInRequired]')).waitFor();
    expect(await row('sso').getByTestId('profile-state').textContent()).toBe('Sign in again');
  });

  it('signs in to SSO in the app: the code is shown, the person approves it, the profile turns valid', async () => {
    await row('sso').getByTestId('profile-sign-in').click();
    const code = page.getByTestId('sso-user-code');
    await code.waitFor();
    const userCode = (await code.textContent())!.trim();
    expect(await page.getByTestId('sso-link').getAttribute('href')).toContain(`user_code=${userCode}`);
    expect(world.sim.admin.approveDeviceCode(userCode)).toBe(true);
    await row('sso').and(page.locator('[data-state=valid]')).waitFor({ timeout: 20_000 });
    expect(await row('sso').getByTestId('profile-arn').textContent()).toMatch(/AWSReservedSSO_AdministratorAccess/);
  });

  it('refreshes the inventory across profiles × regions through throttling: 2,500 paged instances, and each failing scope marked with its reason', async () => {
    await page.getByTestId('view-inventory').click();
    await page.getByTestId('inventory-profiles').click();
    for (const p of ['nobody', 'stale']) await page.locator(`[data-testid=inventory-profile][data-profile="${p}"]`).check();
    await page.getByTestId('inventory-profiles').click();
    await page.getByTestId('inventory-regions').fill('us-east-1, us-west-2, ap-south-1');
    world.sim.admin.setThrottle('DescribeInstances', 0.25);
    try {
      await page.getByTestId('inventory-refresh').click();
      await page.getByTestId('inventory-count').filter({ hasText: `${BIG + 1} of ${BIG + 1} instances` }).waitFor({ timeout: 60_000 });
    } finally {
      world.sim.admin.resetFaults();
    }
    await page.getByTestId('inventory-age').waitFor();
    const failures = await page.getByTestId('inventory-failure').evaluateAll((els) =>
      els.map((e) => `${e.getAttribute('data-profile')}/${e.getAttribute('data-region')}:${e.getAttribute('data-code')}`).sort(),
    );
    expect(failures).toEqual([
      'default/ap-south-1:AwsRegionDisabled',
      'nobody/ap-south-1:AwsRegionDisabled',
      'nobody/us-east-1:AwsAccessDenied',
      'nobody/us-west-2:AwsAccessDenied',
      'stale/ap-south-1:AwsCredentialsExpired',
      'stale/us-east-1:AwsCredentialsExpired',
      'stale/us-west-2:AwsCredentialsExpired',
    ]);
    const text = await page.locator('[data-testid=inventory-failure][data-profile=default]').textContent();
    expect(text).toContain('The region ap-south-1 is not enabled for the account of default.');
    expect(await page.locator('[data-testid=inventory-failure][data-profile=stale][data-region=us-east-1]').textContent()).toContain('have expired. Sign in again.');
    // Windowed: a few dozen rows in the DOM, not 2,501.
    expect(await page.getByTestId('inventory-row').count()).toBeLessThan(80);
  });

  it('filters with key:value terms and fuzzy text, keyboard first', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('inventory-filter');
    await page.keyboard.type('env:dev');
    await page.getByTestId('inventory-count').filter({ hasText: `250 of ${BIG + 1}` }).waitFor();
    await page.getByTestId('inventory-filter').fill('west');
    await page.getByTestId('inventory-count').filter({ hasText: `1 of ${BIG + 1}` }).waitFor();
    expect(await page.getByTestId('inventory-row').first().getAttribute('data-id')).toMatch(/^i-/);
    await page.getByTestId('inventory-filter').fill('node-1234');
    await page.getByTestId('inventory-row').first().filter({ hasText: 'node-1234' }).waitFor();
    // Arrow down into the table, Space selects, Connect is disabled with a reason until the connect engine is wired.
    await page.getByTestId('inventory-filter').press('ArrowDown');
    await page.keyboard.press('Space');
    await page.locator('[data-testid=inventory-row][aria-selected=true]').first().waitFor();
    const connect = page.getByTestId('inventory-connect');
    if (await connect.isDisabled()) expect(await connect.getAttribute('title')).toContain('not available');
    await page.screenshot({ path: join(process.cwd(), 'tests', 'artifacts', 'inventory.png') });
    expect(errors).toEqual([]);
  });

  it('the table stays where it is while the count changes as the person types, at any window width (the bar never rewraps under them)', async () => {
    const top = async (query: string, count: string) => {
      await page.getByTestId('inventory-filter').fill(query);
      await page.getByTestId('inventory-count').filter({ hasText: count }).waitFor();
      return page.evaluate(() => Math.round(document.querySelector('[role=grid][aria-colcount]')!.getBoundingClientRect().top));
    };
    const moved: string[] = [];
    for (let width = 1000; width <= 1700; width += 25) {
      await page.setViewportSize({ width, height: 860 });
      const all = await top('', `${BIG + 1} of ${BIG + 1}`);
      const one = await top('west', `1 of ${BIG + 1}`);
      if (one !== all) moved.push(`${width} px: ${all} → ${one}`);
    }
    await page.setViewportSize({ width: 1400, height: 860 });
    await page.getByTestId('inventory-filter').fill('');
    expect(moved).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('while the filter’s answer changes draws only the columns in view, each under its heading; once settled, every column, numbered for assistive technology', async () => {
    const grid = page.locator('[role=grid][aria-colcount]');
    const columns = Number(await grid.getAttribute('aria-colcount'));
    const row = page.getByTestId('inventory-row').first();
    const cells = () => row.locator('> [role=gridcell]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-colindex'))));
    // At 1,400 px the table is wider than its pane; scrolled to its end, Name and Instance are out of view.
    expect(await grid.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    await grid.evaluate((el) => (el.scrollLeft = el.scrollWidth));
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    // A key's answer, looked at before the list can settle (a zero timer runs before the settling one).
    const drawn = await page.evaluate(async () => {
      const input = document.querySelector<HTMLInputElement>('[data-testid=inventory-filter]')!;
      input.value = 'env:dev';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => setTimeout(r, 0));
      const at = (e: Element) => [Number(e.getAttribute('aria-colindex')), Math.round(e.getBoundingClientRect().left)] as const;
      const first = document.querySelector('[data-testid=inventory-row]')!;
      return { cells: [...first.querySelectorAll(':scope > [role=gridcell]')].map(at), heads: [...document.querySelectorAll('[role=columnheader]')].map(at) };
    });
    const heads = new Map(drawn.heads);
    expect(drawn.heads).toHaveLength(columns);
    expect(drawn.cells.map(([c]) => c)).not.toContain(1);
    expect(drawn.cells.map(([c]) => c)).toContain(columns);
    for (const [col, left] of drawn.cells) expect(left, `column ${col}`).toBe(heads.get(col));
    await page.getByTestId('inventory-count').filter({ hasText: `250 of ${BIG + 1}` }).waitFor();
    // Settled: every column, 1…n, without scrolling.
    await expect.poll(cells).toEqual(Array.from({ length: columns }, (_, k) => k + 1));
    expect(await row.locator(`> [role=gridcell][aria-colindex="${columns}"]`).textContent()).toContain('env=dev');
    await grid.evaluate((el) => (el.scrollLeft = 0));
    expect(errors).toEqual([]);
  });

  it('exports the rows the filter shows as CSV, not the whole fleet', async () => {
    await page.getByTestId('inventory-filter').fill('env:dev');
    await page.getByTestId('inventory-count').filter({ hasText: `250 of ${BIG + 1}` }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('inventory-export-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^keyless-inventory-[\d-]+T[\d-]+\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('Name,InstanceId,State,Type,AZ/Region,Private IP,Public IP,Profile,Account,VPC,Default OS user,Tags');
    expect(lines).toHaveLength(251);
    // Tags hold ';', so the field is quoted (one cell where a spreadsheet's list separator is ';').
    expect(lines.slice(1).every((l) => /^"(.*;)?env=dev(;.*)?"$/.test(l.split(',').at(-1)!))).toBe(true);
    expect(lines.slice(1).every((l) => l.includes(`,${ACCOUNT_ID},`))).toBe(true);
    expect(errors).toEqual([]);
  });
  it('typing fast ends on the last query’s rows, the same as typing it slowly; the matching runs in a worker the CSP allows', async () => {
    const filter = page.getByTestId('inventory-filter');
    const count = page.getByTestId('inventory-count');
    const shownRows = () => page.getByTestId('inventory-row').evaluateAll((els) => els.slice(0, 20).map((e) => e.getAttribute('data-id')));
    await filter.fill('');
    await count.filter({ hasText: `${BIG + 1} of ${BIG + 1}` }).waitFor();
    // One key after another with no pause: each keystroke's query is sent before the one before it is answered.
    await filter.focus();
    await page.keyboard.type('node-12 env:prod');
    await page.locator('[data-testid=inventory-count][data-query="node-12 env:prod"]').waitFor();
    const fast = { count: await count.textContent(), rows: await shownRows() };
    await filter.fill('');
    await count.filter({ hasText: `${BIG + 1} of ${BIG + 1}` }).waitFor();
    await filter.fill('node-12 env:prod');
    await page.locator('[data-testid=inventory-count][data-query="node-12 env:prod"]').waitFor();
    expect(fast).toEqual({ count: await count.textContent(), rows: await shownRows() });
    expect(fast.count).not.toContain(`${BIG + 1} of`);
    expect(await page.getByTestId('inventory-row').first().textContent()).toContain('node-12');
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toContainEqual(expect.stringMatching(/^\/assets\/row-matcher\.worker-[\w-]+\.js$/));
    expect(errors).toEqual([]);
  });
});
