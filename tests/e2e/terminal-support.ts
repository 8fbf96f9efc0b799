import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { FlowStats } from '../../electron/contract';
import type { KeylessTestHook } from '../../renderer/lib/terminal/test-hook';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';
import { sshdMissing, startSshd, type TestSshd } from './support/sshd';

export const terminalSkip = chromiumMissing ?? sshdMissing;

declare global {
  interface Window {
    keylessTest: KeylessTestHook;
  }
}

export interface TerminalWorld {
  sshd: TestSshd[];
  app: RunningHarness;
  page: Page;
  home: string;
  errors: string[];
  stop(): Promise<void>;
}

/** Real sshd servers, the harness with a fresh data folder, and Chromium on the app with test hooks on. */
export async function startWorld(opts: { servers?: number; env?: NodeJS.ProcessEnv; viewport?: { width: number; height: number } } = {}): Promise<TerminalWorld> {
  const sshd = await Promise.all(Array.from({ length: opts.servers ?? 1 }, () => startSshd()));
  const home = mkdtempSync(join(tmpdir(), 'keyless-e2e-term-'));
  const app = await startWebApp({ KEYLESS_HOME: join(home, 'data'), HOME: home, SSH_AUTH_SOCK: '', ...opts.env });
  const chromium = await launchChromium();
  const page = await chromium.browser.newPage({ viewport: opts.viewport ?? { width: 1200, height: 760 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}&testHooks=1`);
  return {
    sshd,
    app,
    page,
    home,
    errors,
    async stop() {
      await chromium.close();
      await app.stop();
      await Promise.all(sshd.map((s) => s.stop()));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function addHost(page: Page, name: string, sshd: TestSshd): Promise<void> {
  await page.getByTestId('add-host').click();
  const form = page.getByTestId('host-editor');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=host]').fill('127.0.0.1');
  await form.locator('input[name=port]').fill(String(sshd.port));
  await form.locator('input[name=user]').fill(sshd.user);
  await form.locator('input[name=keyPath]').fill(sshd.clientKey);
  await page.getByTestId('save-host').click();
  await page.getByTestId('host-row').filter({ hasText: name }).waitFor();
}

/** Connects a saved host in a new tab, trusting its key when asked; resolves when the shell is there. */
/** Polls `check` until it returns true (usable in hooks, where expect.poll is not). */
export async function until(check: () => Promise<boolean> | boolean, timeout = 15_000, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function connect(page: Page, name: string): Promise<void> {
  const before = await page.getByTestId('tab').count();
  await page.getByTestId('host-row').filter({ hasText: name }).getByTestId('connect').click();
  await until(async () => (await page.getByTestId('tab').count()) === before + 1, 5_000, 'the new tab');
  const tab = page.getByTestId('tab').nth(before);
  await until(
    async () => {
      if (await page.getByTestId('trust-host-key').isVisible()) await page.getByTestId('trust-host-key').click();
      return (await tab.getAttribute('data-state')) === 'connected';
    },
    20_000,
    `${name} to connect`,
  );
  await waitForText(page, /[$#] ?$/);
}

export const hook = {
  text: (page: Page, pane?: string) => page.evaluate((p) => window.keylessTest.text(p), pane),
  stats: (page: Page, pane?: string): Promise<FlowStats> => page.evaluate((p) => window.keylessTest.stats(p), pane),
  panes: (page: Page) => page.evaluate(() => window.keylessTest.panes()),
};

/** Waits until the terminal's buffer (read through xterm.js, not the DOM) matches. */
export async function waitForText(page: Page, pattern: RegExp, pane?: string, timeout = 15_000): Promise<string> {
  let last = '';
  await until(
    async () => {
      last = await hook.text(page, pane);
      return pattern.test(last);
    },
    timeout,
    `terminal text to match ${pattern}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; it ends with:\n${JSON.stringify(last.slice(-300))}`);
  });
  return last;
}

/** Trusts host keys when asked until `count` panes are connected. */
export async function panesConnected(page: Page, count: number, timeout = 30_000): Promise<void> {
  await until(
    async () => {
      if (await page.getByTestId('trust-host-key').isVisible()) await page.getByTestId('trust-host-key').click();
      const panes = await hook.panes(page);
      return panes.length === count && panes.every((p) => p.state === 'connected');
    },
    timeout,
    `${count} connected panes`,
  );
}
