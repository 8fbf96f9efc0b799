import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessTestHook } from '../../renderer/lib/terminal/test-hook';
import { demoFleet, sshdMissing, startSimulator, type Simulator } from '../sim/index';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

const skip = chromiumMissing ?? sshdMissing;
if (skip) console.warn(`skipping the EC2 end-to-end test: ${skip}`);

declare global {
  interface Window {
    keylessTest: KeylessTestHook;
  }
}

// The whole hot path as a person meets it: the inventory lists the demo fleet from the simulator,
// Connect on a private instance pushes a fresh key and opens an EICE tunnel, the host key is
// confirmed from the console output without a question, and the shell answers.
describe.skipIf(skip)('connecting to an EC2 instance from the inventory, in Chromium', () => {
  let sim: Simulator;
  let app: RunningHarness;
  let close: () => Promise<void>;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyless-e2e-ec2-'));
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

  it('lists the fleet, connects to a private instance through its endpoint, and runs a command', async () => {
    await page.getByTestId('view-inventory').click();
    await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    const appRow = page.locator('[data-testid=inventory-row]').filter({ hasText: 'app-1' });
    await appRow.waitFor({ timeout: 20_000 });
    await appRow.click();
    await page.getByTestId('inventory-connect').click();

    // Terminals come forward; the tab connects with no host-key question (the console vouched for it).
    await expect
      .poll(() => page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(',')), { timeout: 30_000 })
      .toBe('connected');
    expect(await page.getByTestId('prompt').count()).toBe(0);
    await page.evaluate(() => window.keylessTest.type('echo instance-$((6*7)) $(whoami)\n'));
    await expect.poll(() => page.evaluate(() => window.keylessTest.text()), { timeout: 15_000 }).toMatch(/^instance-42 ec2-user\s*$/m);

    mkdirSync(join(process.cwd(), 'tests', 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'tests', 'artifacts', 'ec2-connected.png') });

    // What happened went through Instance Connect: one key push and one tunnel, both allowed.
    const events = sim.admin.trail().map((e) => `${e.eventName}:${e.errorCode ?? 'ok'}`);
    expect(events).toContain('SendSSHPublicKey:ok');
    expect(events).toContain('OpenTunnel:ok');
  });
});
