import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessTestHook } from '../../renderer/lib/terminal/test-hook';
import { demoFleet, sshdMissing, startSimulator, type Simulator } from '../sim/index';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

const skip = chromiumMissing ?? sshdMissing;
if (skip) console.warn(`skipping the EC2 port-forward end-to-end test: ${skip}`);

declare global {
  interface Window {
    keylessTest: KeylessTestHook;
  }
}

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// A person connected to a private instance opens an SSH local forward from the tab's toolbar,
// uses it from another program on this machine, sees it listed, and stops it.
describe.skipIf(skip)('port forwards of an EC2 tab, in Chromium', () => {
  let sim: Simulator;
  let app: RunningHarness;
  let close: () => Promise<void>;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyless-e2e-fwd-'));
    sim = await startSimulator({ fleet: demoFleet() });
    const aws = await sim.writeAwsConfig(join(work, 'aws'), { sso: false });
    app = await startWebApp({
      KEYLESS_HOME: join(work, 'data'),
      HOME: work,
      SSH_AUTH_SOCK: '',
      AWS_CONFIG_FILE: aws.configFile,
      AWS_SHARED_CREDENTIALS_FILE: aws.credentialsFile,
      AWS_PROFILE: 'default',
    });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1300, height: 800 } });
    await page.goto(`${app.url}&testHooks=1`);
  });

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sim?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('opens an SSH local forward to the instance sshd on 127.0.0.1, lists it, stops it, saves it with the host and starts it again', async () => {
    await page.getByTestId('view-inventory').click();
    await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    const appRow = page.locator('[data-testid=inventory-row]').filter({ hasText: 'app-1' });
    await appRow.waitFor({ timeout: 20_000 });
    await appRow.click();
    await page.getByTestId('inventory-connect').click();
    await expect
      .poll(() => page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(',')), { timeout: 30_000 })
      .toBe('connected');

    // In the simulator each instance is a real sshd on its own port of this machine.
    const instance = sim.instances().find((i) => i.tags['Name'] === 'app-1');
    const sshdPort = instance?.sshPort;
    expect(sshdPort).toBeTypeOf('number');

    await page.getByTestId('port-forwards').click();
    const sheet = page.getByTestId('forwards-sheet');
    await sheet.waitFor();
    await sheet.getByTestId('forward-kind').selectOption('ssh');
    await sheet.getByTestId('forward-remote-host').fill('127.0.0.1');
    await sheet.getByTestId('forward-remote-port').fill(String(sshdPort));
    await sheet.getByTestId('forward-start').click();

    const row = sheet.getByTestId('forward-row');
    await row.waitFor({ timeout: 30_000 });
    const shown = (await row.getByTestId('forward-local').textContent()) ?? '';
    const m = /^127\.0\.0\.1:(\d+)$/.exec(shown.trim());
    expect(m, `the sheet shows ${shown}`).not.toBeNull();
    const localPort = Number(m![1]);

    expect(await firstBytes(localPort)).toMatch(/^SSH-2\.0-/);

    // Listed by main too, as the sheet shows it.
    await sheet.getByTestId('forwards-close').click();
    await page.getByTestId('port-forwards').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 10_000 }).toBe(1);
    expect((await sheet.getByTestId('forward-local').textContent())?.trim()).toBe(`127.0.0.1:${localPort}`);

    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 10_000 }).toBe(0);
    expect(await sheet.getByTestId('forward-error').count()).toBe(0);
    await expect.poll(() => firstBytes(localPort), { timeout: 10_000 }).toBe('ECONNREFUSED');

    // Saved with the host on a fixed port, then started again with one click.
    const fixed = await freePort();
    // The sheet was reopened above, so its form starts empty again.
    await sheet.getByTestId('forward-remote-host').fill('127.0.0.1');
    await sheet.getByTestId('forward-remote-port').fill(String(sshdPort));
    await sheet.getByTestId('forward-local-port').fill(String(fixed));
    await sheet.getByTestId('forward-save').click();
    await sheet.getByTestId('saved-forward-row').waitFor({ timeout: 10_000 });
    expect(await sheet.getByTestId('forward-error').count()).toBe(0);
    await sheet.getByTestId('saved-forward-start').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 30_000 }).toBe(1);
    expect((await sheet.getByTestId('forward-local').textContent())?.trim()).toBe(`127.0.0.1:${fixed}`);
    expect(await firstBytes(fixed)).toMatch(/^SSH-2\.0-/);
    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => firstBytes(fixed), { timeout: 10_000 }).toBe('ECONNREFUSED');

    // The host's row in the sidebar opens the same sheet, with the saved forward.
    await sheet.getByTestId('forwards-close').click();
    await page.locator('[data-testid=host-port-forwards]').first().click();
    await expect.poll(() => page.getByTestId('forwards-sheet').getByTestId('saved-forward-row').count(), { timeout: 10_000 }).toBe(1);
  });
});
