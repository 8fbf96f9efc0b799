import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { KeylessTestHook } from '../../../renderer/lib/terminal/test-hook';
import { demoFleet, sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { chromiumMissing, launchChromium } from './browser';
import { startWebApp, type RunningHarness } from './harness';

export const ec2Skip = chromiumMissing ?? sshdMissing;

declare global {
  interface Window {
    keylessTest: KeylessTestHook;
  }
}

export interface Ec2World {
  /** The harness's HOME (its Downloads folder is where Files downloads land). */
  work: string;
  sim: Simulator;
  app: RunningHarness;
  page: Page;
  stop(): Promise<void>;
}

/** The simulator with the demo fleet, the harness pointed at it through a temp AWS config, and Chromium on the app (test hooks on). */
export async function startEc2World(): Promise<Ec2World> {
  const work = mkdtempSync(join(tmpdir(), 'keyless-e2e-ec2-'));
  mkdirSync(join(work, 'Downloads'));
  const sim = await startSimulator({ fleet: demoFleet() });
  const aws = await sim.writeAwsConfig(join(work, 'aws'), { sso: false });
  const app = await startWebApp({
    KEYLESS_HOME: join(work, 'data'),
    HOME: work,
    SSH_AUTH_SOCK: '',
    AWS_CONFIG_FILE: aws.configFile,
    AWS_SHARED_CREDENTIALS_FILE: aws.credentialsFile,
    AWS_PROFILE: 'default',
  });
  const chromium = await launchChromium();
  const page = await chromium.browser.newPage({ viewport: { width: 1300, height: 800 } });
  await page.goto(`${app.url}&testHooks=1`);
  return {
    work,
    sim,
    app,
    page,
    async stop() {
      await chromium.close();
      await app.stop();
      await sim.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Refreshes the inventory (default profile, us-east-1), connects to the named instance and waits for its shell. */
export async function connectFromInventory(page: Page, name: string): Promise<void> {
  await page.getByTestId('view-inventory').click();
  await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
  await page.getByTestId('inventory-regions').fill('us-east-1');
  await page.getByTestId('inventory-refresh').click();
  const row = page.locator('[data-testid=inventory-row]').filter({ hasText: name });
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await page.getByTestId('inventory-connect').click();
  await expect
    .poll(() => page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(',')), { timeout: 30_000 })
    .toBe('connected');
}
