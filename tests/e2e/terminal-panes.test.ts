import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, connect, hook, startWorld, terminalSkip, until, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping terminal tabs and panes tests: ${terminalSkip}`);

const activePane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

/** Clicks into the focused terminal and types, as a person would. */
async function typeIn(page: Page, text: string): Promise<void> {
  await activePane(page).locator('.xterm-screen').click();
  await page.keyboard.type(text);
}

async function activePaneId(page: Page): Promise<string> {
  return (await hook.panes(page)).find((p) => p.active)!.pane;
}

describe.skipIf(terminalSkip)('terminal tabs and panes, end to end in Chromium against two real sshd', () => {
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

  it('opens two tabs on two hosts, and broadcast input runs the same command on both', async () => {
    await connect(page, 'alpha');
    await connect(page, 'beta');
    expect(await page.getByTestId('tab').count()).toBe(2);
    const [a, b] = await hook.panes(page);

    // Off by default; on, with every terminal chosen, a clear banner says how many receive input.
    expect(await page.getByTestId('broadcast-banner').count()).toBe(0);
    await page.getByTestId('broadcast').click();
    await page.getByTestId('broadcast-all').click();
    await expect.poll(() => page.getByTestId('broadcast-banner').textContent()).toContain('2');
    // The server port in SSH_CONNECTION tells which sshd ran the command.
    await typeIn(page, 'echo "ran-on:${SSH_CONNECTION##* }"\n');
    await waitForText(page, new RegExp(`^ran-on:${world.sshd[0]!.port}$`, 'm'), a!.pane);
    await waitForText(page, new RegExp(`^ran-on:${world.sshd[1]!.port}$`, 'm'), b!.pane);

    // One key stops it; input goes to the focused terminal only again.
    await page.keyboard.press('Control+Shift+B');
    expect(await page.getByTestId('broadcast-banner').count()).toBe(0);
    await page.keyboard.type('echo "solo-$((40+2))"\n');
    await waitForText(page, /^solo-42$/m, b!.pane);
    expect(await hook.text(page, a!.pane)).not.toMatch(/^solo-42$/m);
  });

  it('switches tabs with Ctrl+Tab, renames, reorders, duplicates and closes them', async () => {
    const titles = () => page.getByTestId('tab').allTextContents();
    await page.keyboard.press('Control+Tab');
    await expect.poll(async () => (await hook.panes(page)).find((p) => p.active)?.tab).toBe((await hook.panes(page))[0]!.tab);
    await page.getByTestId('tab-title').first().dblclick();
    await page.getByTestId('rename-input').fill('primary');
    await page.getByTestId('rename-input').press('Enter');
    await expect.poll(titles).toEqual([expect.stringContaining('primary'), expect.stringContaining('beta')]);
    await activePane(page).locator('.xterm-screen').click();
    await page.keyboard.press('Control+Shift+PageDown');
    await expect.poll(titles).toEqual([expect.stringContaining('beta'), expect.stringContaining('primary')]);
    await page.getByTestId('duplicate-tab').click();
    await expect.poll(() => page.getByTestId('tab').count()).toBe(3);
    await expect.poll(() => page.getByTestId('tab').nth(2).getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    expect((await titles())[2]).toContain('primary');
    await page.getByTestId('close-tab').nth(2).click();
    await expect.poll(() => page.getByTestId('tab').count()).toBe(2);
  });

  it('splits panes right and down, moves focus with the keyboard, and a resize reaches `stty size`', async () => {
    await page.getByTestId('tab-title').first().click();
    const tab = (await hook.panes(page)).find((p) => p.active)!.tab;
    await page.getByTestId('split-right').click();
    await page.getByTestId('split-down').click();
    const mine = async () => (await hook.panes(page)).filter((p) => p.tab === tab);
    await expect.poll(async () => (await mine()).map((p) => p.state), { timeout: 20_000 }).toEqual(['connected', 'connected', 'connected']);
    const [left, topRight, bottomRight] = await mine();
    expect(await activePaneId(page)).toBe(bottomRight!.pane);

    await activePane(page).locator('.xterm-screen').click();
    await page.keyboard.press('Alt+ArrowUp');
    await expect.poll(() => activePaneId(page)).toBe(topRight!.pane);
    await page.keyboard.press('Alt+ArrowLeft');
    await expect.poll(() => activePaneId(page)).toBe(left!.pane);

    const sizeOf = async (pane: string) => (await hook.panes(page)).find((p) => p.pane === pane)!;
    const before = await sizeOf(left!.pane);
    await page.keyboard.type('stty size\n');
    await waitForText(page, new RegExp(`^${before.rows} ${before.cols}$`, 'm'), left!.pane);
    // Grow the left pane with the keyboard; the remote PTY follows.
    await page.keyboard.press('Alt+Shift+ArrowRight');
    await expect.poll(async () => (await sizeOf(left!.pane)).cols).toBeGreaterThan(before.cols);
    const after = await sizeOf(left!.pane);
    await page.keyboard.type('clear; stty size\n');
    await waitForText(page, new RegExp(`^${after.rows} ${after.cols}$`, 'm'), left!.pane);

    // Closing a pane gives its room to its neighbour.
    await page.getByTestId('close-pane').click();
    await expect.poll(async () => (await mine()).length).toBe(2);
  });

  it('finds text, with case and regular expressions', async () => {
    await typeIn(page, 'clear; echo Needle-one; echo needle-two\n');
    await waitForText(page, /^needle-two$/m);
    await page.keyboard.press('Control+Shift+F');
    await page.getByTestId('search-input').fill('needle');
    const count = () => page.getByTestId('search-count').getAttribute('data-count');
    // `clear` took the command line away: the two output lines are left.
    await expect.poll(count).toBe('2');
    await page.getByTestId('search-case').check();
    await expect.poll(count).toBe('1');
    await page.getByTestId('search-regex').check();
    await page.getByTestId('search-input').fill('[Nn]eedle-\\w+');
    await expect.poll(count).toBe('2');
    await page.getByTestId('search-input').fill('^needle-t\\w+');
    await expect.poll(count).toBe('1');
    await page.getByTestId('search-input').press('Escape');
    expect(await page.getByTestId('search-bar').count()).toBe(0);
  });

  it('asks before pasting several lines, and pastes nothing when told no', async () => {
    const paste = (text: string) =>
      activePane(page)
        .locator('textarea.xterm-helper-textarea')
        .evaluate((el, t) => {
          const data = new DataTransfer();
          data.setData('text/plain', t);
          el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        }, text);
    await typeIn(page, 'clear\n');
    await paste('echo "p1-$((1+1))"\necho "p2-$((2+2))"\n');
    await page.getByTestId('paste-confirm').waitFor();
    await page.getByTestId('paste-cancel').click();
    await page.waitForTimeout(300);
    expect(await hook.text(page)).not.toContain('p1-');
    await paste('echo "p1-$((1+1))"\necho "p2-$((2+2))"\n');
    await page.getByTestId('paste-ok').click();
    // Bash turned bracketed paste on: the lines wait in the line editor until Enter.
    await waitForText(page, /echo "p2-\$\(\(2\+2\)\)"$/);
    expect(await hook.text(page)).not.toMatch(/^p1-2$/m);
    await page.keyboard.press('Enter');
    await waitForText(page, /^p1-2$[\s\S]*^p2-4$/m);
    // One line goes straight in.
    await paste('echo "single-$((3+3))"');
    await page.keyboard.press('Enter');
    await waitForText(page, /^single-6$/m);
    expect(await page.getByTestId('paste-confirm').count()).toBe(0);
  });

  it('refuses clipboard writes from the host (OSC 52)', async () => {
    await typeIn(page, "printf '\\033]52;c;aGVsbG8=\\a'; echo osc-done\n");
    await waitForText(page, /^osc-done$/m);
    expect(await page.evaluate(() => window.keylessTest.refusedClipboardWrites())).toBe(1);
  });

  it('records a session to an asciicast file in the chosen folder and plays it back with the same output', async () => {
    const folder = join(world.home, 'recordings');
    mkdirSync(folder);
    await page.getByTestId('terminal-settings').click();
    await page.getByTestId('recording-folder').fill(folder);
    await page.getByTestId('save-terminal-settings').click();

    await page.getByTestId('record').click();
    await expect.poll(() => activePane(page).getAttribute('data-recording')).toMatch(/\.cast$/);
    await typeIn(page, 'clear; echo "rec-$((6*7))"; seq 101 105\n');
    const source = await waitForText(page, /^105$/m);
    await page.getByTestId('record').click();
    await expect.poll(() => activePane(page).getAttribute('data-recording')).toBe('');

    const [file] = readdirSync(folder);
    const lines = readFileSync(join(folder, file!), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, env: { TERM: 'xterm-256color' } });
    // Output with its timing, and no input (not asked for).
    const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.length).toBeGreaterThan(3);
    expect(events.every(([t, kind]) => typeof t === 'number' && kind === 'o')).toBe(true);
    expect(events.map((e) => e[2]).join('')).toContain('rec-42');

    const panesBefore = (await hook.panes(page)).length;
    await page.getByTestId('recordings').click();
    await page.getByTestId('play-recording').first().click();
    await until(async () => (await hook.panes(page)).length === panesBefore + 1, 10_000, 'the playback tab');
    const played = (await hook.panes(page)).at(-1)!;
    await until(async () => (await hook.panes(page)).at(-1)!.state === 'closed', 15_000, 'the playback to finish');
    const replay = await hook.text(page, played.pane);
    const out = (s: string) => s.slice(s.indexOf('rec-42'), s.indexOf('105') + 3);
    expect(out(replay)).toBe(out(source));
    expect(out(replay)).toMatch(/^rec-42\n101\n102\n103\n104\n105$/);
  });

  it('offers reconnect when a session ends, and lists the shortcuts in a help sheet', async () => {
    await page.getByTestId('tab-title').first().click();
    await typeIn(page, 'exit\n');
    await expect.poll(() => activePane(page).getAttribute('data-state'), { timeout: 10_000 }).toBe('closed');
    await page.getByTestId('reconnect').click();
    await expect.poll(() => activePane(page).getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await typeIn(page, 'echo back-$((5+5))\n');
    await waitForText(page, /^back-10$/m);

    await page.keyboard.press('F1');
    const sheet = page.getByTestId('help-sheet');
    await sheet.waitFor();
    expect(await sheet.textContent()).toContain('Ctrl+Shift+T');
    await page.keyboard.press('Escape');
  });

  it('reopens the same tabs, names and splits after a restart when asked to', async () => {
    // Playback tabs are not reopened.
    await page.getByTestId('tab').filter({ hasText: '.cast' }).getByTestId('close-tab').click();
    await page.getByTestId('terminal-settings').click();
    await page.getByTestId('restore-tabs').check();
    await page.getByTestId('save-terminal-settings').click();
    // Saved once main has the setting and the window has noted its tabs.
    await until(async () => (await page.evaluate(() => localStorage.getItem('keyless.openTabs'))) !== null, 10_000, 'the open tabs to be noted');
    const shape = async () => {
      const panes = await hook.panes(page);
      const tabs = [...new Set(panes.map((p) => p.tab))];
      return { titles: await page.getByTestId('tab').allTextContents(), panesPerTab: tabs.map((t) => panes.filter((p) => p.tab === t).length) };
    };
    const before = await shape();
    expect(before.panesPerTab.some((n) => n > 1)).toBe(true);
    // The app took the token out of the address bar, so a restart is a fresh visit of the app.
    await page.goto(`${world.app.url}&testHooks=1`);
    let states = '';
    await until(
      async () => {
        const panes = await hook.panes(page).catch(() => []);
        states = JSON.stringify(panes.map((p) => p.state));
        return panes.length > 0 && panes.every((p) => p.state === 'connected');
      },
      30_000,
      'the restored tabs to connect',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${states}`);
    });
    expect(await shape()).toEqual(before);
  });
});
