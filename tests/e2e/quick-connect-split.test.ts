import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, hook, panesConnected, startWorld, terminalSkip, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping quick connect split tests: ${terminalSkip}`);

/** Opens the palette, narrows it to `name`, and presses `key` on the one match. */
async function quickConnect(page: Page, name: string, key: string): Promise<void> {
  await page.keyboard.press('Control+k');
  const input = page.getByTestId('quick-connect-input');
  await input.waitFor();
  await input.fill(name);
  await expect.poll(() => page.getByTestId('quick-connect-item').allTextContents()).toEqual([expect.stringContaining(name)]);
  await page.keyboard.press(key);
  await expect.poll(() => page.getByTestId('quick-connect').count()).toBe(0);
}


describe.skipIf(terminalSkip)('quick connect into a split, end to end in Chromium against two real sshd', () => {
  let world: TerminalWorld;
  let page: Page;

  beforeAll(async () => {
    world = await startWorld({ servers: 2 });
    page = world.page;
    await addHost(page, 'alpha', world.sshd[0]!);
    await addHost(page, 'beta', world.sshd[1]!);
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
  });

  it('says in the footer that Ctrl+Enter opens in a split', async () => {
    await page.keyboard.press('Control+k');
    await expect.poll(() => page.getByTestId('quick-connect-hint').textContent()).toContain('Ctrl+Enter opens in a split');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('quick-connect').count()).toBe(0);
  });

  it('with no tab open, Ctrl+Enter opens a new tab', async () => {
    await quickConnect(page, 'alpha', 'Control+Enter');
    await panesConnected(page, 1);
    expect(await page.getByTestId('tab').count()).toBe(1);
  });

  it('Ctrl+Enter opens the chosen host in a second pane of the same tab, focused', async () => {
    const [first] = await hook.panes(page);
    await quickConnect(page, 'beta', 'Control+Enter');
    await panesConnected(page, 2);
    expect(await page.getByTestId('tab').count()).toBe(1);
    const panes = await hook.panes(page);
    expect(panes.map((p) => p.tab)).toEqual([first!.tab, first!.tab]);
    const added = panes.find((p) => p.pane !== first!.pane)!;
    expect(added.active).toBe(true);
    // The new pane really is on beta's server: the port in SSH_CONNECTION says which sshd runs the shell.
    await waitForText(page, /[$#] ?$/, added.pane);
    await page.locator('[data-testid=terminal-pane][data-active=true]:visible .xterm-screen').click();
    await page.keyboard.type('echo "on:${SSH_CONNECTION##* }"\n');
    await waitForText(page, new RegExp(`^on:${world.sshd[1]!.port}$`, 'm'), added.pane);
  });

  it('plain Enter still opens a new tab', async () => {
    await quickConnect(page, 'alpha', 'Enter');
    await panesConnected(page, 3);
    expect(await page.getByTestId('tab').count()).toBe(2);
  });
});
