import { mkdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the EC2 endpoint-offer, EICE-forward and tunnel-expiry browser tests: ${ec2Skip}`);

const PROD_VPC = 'vpc-0a1b2c3d4e5f60001';
const APP_SUBNET = 'subnet-0a1b2c3d4e5f60012';
const PROD_ENDPOINT = 'eice-0a1b2c3d4e5f00001';

/** The first bytes a TCP connection to 127.0.0.1:port receives, or the connection's error code. */
function firstBytes(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    const t = setTimeout(() => (s.destroy(), resolve('timeout')), 15_000);
    s.once('data', (d: Buffer) => (clearTimeout(t), s.destroy(), resolve(d.toString())));
    s.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(e.code ?? e.message)));
    s.once('close', () => (clearTimeout(t), resolve('closed')));
  });
}

const panes = (page: Page) => page.evaluate(() => window.keylessTest.panes());
const lastPane = async (page: Page) => (await panes(page)).at(-1)!;

/** Sets a saved host's AWS profile in its editor. */
async function setProfile(page: Page, name: string, profile: string): Promise<void> {
  await page.getByTestId('host-row').filter({ hasText: name }).getByTestId('host-menu').click();
  await page.getByTestId('edit-host').click();
  const editor = page.getByTestId('host-editor');
  await editor.locator('input[name=profile]').fill(profile);
  await editor.getByTestId('save-host').click();
  await editor.waitFor({ state: 'detached', timeout: 10_000 });
}

async function shellAnswers(page: Page, pane: string, n: number): Promise<void> {
  await page.evaluate(({ pane, n }) => window.keylessTest.type(`echo answer-$((${n}+1))\n`, pane), { pane, n });
  await expect.poll(() => page.evaluate((p) => window.keylessTest.text(p), pane), { timeout: 20_000 }).toMatch(new RegExp(`^answer-${n + 1}\\s*$`, 'm'));
}

// In the order a person would meet them: an instance whose VPC has no endpoint (the tab offers
// to create one, and then connects), a port forward straight through that new endpoint, and a
// host with a short maximum tunnel duration (the tab warns before the cut and reconnects).
describe.skipIf(ec2Skip)('EC2 Instance Connect Endpoints from the UI, in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
    // The prod VPC loses its endpoint before the app ever looks at it.
    world.sim.admin.deleteEndpoint(PROD_ENDPOINT);
    for (let i = 0; world.sim.endpoints().find((e) => e.id === PROD_ENDPOINT)?.state !== 'delete-complete'; i++) {
      if (i > 100) throw new Error('the simulator did not finish deleting the endpoint');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => world?.stop());

  it('a VPC without an endpoint: the tab offers one (subnet, group, VPC), a profile without the permission is refused naming ec2:CreateInstanceConnectEndpoint, Create shows progress, and the tab reaches a shell', async () => {
    const { page, sim } = world;
    await page.getByTestId('view-inventory').click();
    await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    const row = page.locator('[data-testid=inventory-row]').filter({ hasText: 'app-1' });
    await row.waitFor({ timeout: 20_000 });
    await row.click();
    await page.getByTestId('inventory-connect').click();

    const error = page.getByTestId('tab-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.getAttribute('data-code')).toBe('NoEndpoint');
    const offer = page.getByTestId('endpoint-offer');
    await offer.getByTestId('endpoint-create').waitFor({ timeout: 20_000 });
    expect(await offer.getByTestId('endpoint-vpc').textContent()).toBe(PROD_VPC);
    expect(await offer.getByTestId('endpoint-subnet').textContent()).toBe(APP_SUBNET);
    const sg = (await offer.getByTestId('endpoint-sg').textContent()) ?? '';
    expect(sg).toMatch(/^sg-0[0-9a-f]+$/);
    // The demo instances are in their VPC's default group, so that is the one proposed, and why.
    expect(await offer.getByTestId('endpoint-sg').getAttribute('data-reason')).toBe('instanceInDefault');
    expect(await offer.textContent()).toMatch(/default group/);
    expect(await offer.getByTestId('endpoint-reminder').textContent()).toMatch(new RegExp(`must allow inbound TCP port 22 from the endpoint's security group \\(${sg}\\)`));

    mkdirSync(join(process.cwd(), 'tests', 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'tests', 'artifacts', 'ec2-endpoint-offer.png') });

    // As the demo's "operator" (no ec2:CreateInstanceConnectEndpoint) Create is refused, in words.
    await setProfile(page, 'app-1', 'operator');
    await offer.getByTestId('endpoint-create').click();
    const denied = offer.getByTestId('endpoint-error');
    await denied.waitFor({ timeout: 20_000 });
    expect(await denied.getAttribute('data-code')).toBe('AwsAccessDenied');
    expect(await denied.textContent()).toMatch(/\(profile operator\) do not allow ec2:CreateInstanceConnectEndpoint/);
    expect(JSON.parse((await offer.getByTestId('endpoint-policy').textContent()) ?? '{}')).toMatchObject({ Effect: 'Allow', Action: expect.arrayContaining(['ec2:CreateInstanceConnectEndpoint']) });
    expect(sim.endpoints().filter((e) => e.vpcId === PROD_VPC && !e.state.startsWith('delete'))).toHaveLength(0);

    await setProfile(page, 'app-1', 'default');
    await offer.getByTestId('endpoint-create').click();
    // The simulator takes 1.5 s to create it: the state shows while Keyless waits.
    await expect.poll(() => offer.getByTestId('endpoint-progress').textContent().catch(() => ''), { timeout: 10_000 }).toMatch(/create-in-progress/);
    await expect.poll(async () => (await lastPane(page)).state, { timeout: 30_000 }).toBe('connected');

    const made = sim.endpoints().find((e) => e.vpcId === PROD_VPC && e.state === 'create-complete');
    expect(made?.subnetId).toBe(APP_SUBNET);
    await shellAnswers(page, (await lastPane(page)).pane, 41);
  });

  it('an endpoint-tunnel forward to port 22 from the sheet, on any free port; saved with the host and started again from the saved list', async () => {
    const { page } = world;
    await page.getByTestId('port-forwards').click();
    const sheet = page.getByTestId('forwards-sheet');
    await sheet.waitFor();
    await sheet.getByTestId('forward-kind').selectOption('eice');
    await sheet.getByTestId('forward-remote-port').fill('22');
    await sheet.getByTestId('forward-start').click();
    const row = sheet.getByTestId('forward-row');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toMatch(/through an endpoint tunnel to i-0a1b2c3d4e5f00002/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec((await row.getByTestId('forward-local').textContent()) ?? '')?.[1]);
    expect(port).toBeGreaterThan(0);
    // Another program on this machine reaches the instance's sshd through a fresh tunnel.
    expect(await firstBytes(port)).toMatch(/^SSH-2\.0-/);
    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => firstBytes(port), { timeout: 10_000 }).toBe('ECONNREFUSED');

    // Saved with no local port: it starts on any free port each time, and the list shows which.
    await sheet.getByTestId('forward-kind').selectOption('eice');
    await sheet.getByTestId('forward-remote-port').fill('22');
    await sheet.getByTestId('forward-save').click();
    const saved = sheet.locator('[data-testid=saved-forward-row][data-kind=eice]');
    await saved.waitFor({ timeout: 10_000 });
    expect(await sheet.getByTestId('forward-error').count()).toBe(0);
    expect(await saved.getByTestId('saved-forward-local').textContent()).toBe('127.0.0.1:any free port');
    await saved.getByTestId('saved-forward-start').click();
    await expect.poll(() => saved.getByTestId('saved-forward-local').textContent(), { timeout: 30_000 }).toMatch(/^127\.0\.0\.1:\d+$/);
    const again = Number(/:(\d+)$/.exec((await saved.getByTestId('saved-forward-local').textContent()) ?? '')?.[1]);
    expect(await firstBytes(again)).toMatch(/^SSH-2\.0-/);
    expect(await saved.getByTestId('saved-forward-start').isDisabled()).toBe(true);
    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => firstBytes(again), { timeout: 10_000 }).toBe('ECONNREFUSED');
    await sheet.getByTestId('forwards-close').click();
  });

  it('a 5 s maximum tunnel duration: the tab warns before the cut, then reconnects by itself and the shell still answers', async () => {
    const { page, sim } = world;
    const host = page.getByTestId('host-row').filter({ hasText: 'app-1' });
    await host.getByTestId('host-menu').click();
    await page.getByTestId('edit-host').click();
    const editor = page.getByTestId('host-editor');
    await editor.locator('input[name=maxTunnelDuration]').fill('5');
    await editor.getByTestId('save-host').click();
    await editor.waitFor({ state: 'detached', timeout: 10_000 });

    const before = (await panes(page)).length;
    await host.getByTestId('connect').click();
    await expect.poll(async () => (await panes(page)).length, { timeout: 10_000 }).toBe(before + 1);
    const { pane } = await lastPane(page);
    await expect.poll(async () => (await panes(page)).find((p) => p.pane === pane)?.state, { timeout: 30_000 }).toBe('connected');
    const tunnelsBefore = sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel').length;
    // Every state the pane passes through, sampled in the page every 20 ms.
    await page.evaluate((p) => {
      const seen: string[] = [];
      (window as unknown as { paneStates: string[] }).paneStates = seen;
      setInterval(() => {
        const s = window.keylessTest.panes().find((x) => x.pane === p)?.state ?? '';
        if (seen.at(-1) !== s) seen.push(s);
      }, 20);
    }, pane);

    const warning = page.locator(`[data-pane=${pane}] [data-testid=tunnel-expiring]`);
    await warning.waitFor({ timeout: 10_000 });
    expect(await warning.textContent()).toMatch(/maximum duration in \d+ s; Keyless will reconnect/);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { paneStates: string[] }).paneStates.join(',')), { timeout: 30_000 })
      .toMatch(/connected,reconnecting,connected/);
    expect(sim.admin.trail().filter((e) => e.eventName === 'OpenTunnel').length).toBeGreaterThan(tunnelsBefore);
    await shellAnswers(page, pane, 99);
  });
});
