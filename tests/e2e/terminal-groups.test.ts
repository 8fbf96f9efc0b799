import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSshd } from './support/sshd';
import { connect, hook, startWorld, terminalSkip, until, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the host-group terminal tests: ${terminalSkip}`);

const activePane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

/** Saves a plain SSH host through the editor, in a group when one is named, recording as asked. */
async function saveHost(page: Page, name: string, sshd: TestSshd, opts: { group?: string; record?: 'on' | 'off' } = {}): Promise<void> {
  await page.getByTestId('add-host').click();
  const form = page.getByTestId('host-editor');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=host]').fill('127.0.0.1');
  await form.locator('input[name=port]').fill(String(sshd.port));
  await form.locator('input[name=user]').fill(sshd.user);
  await form.locator('input[name=keyPath]').fill(sshd.clientKey);
  if (opts.group) await form.locator('select[name=group]').selectOption({ label: opts.group });
  if (opts.record) await form.locator('select[name=recordSessions]').selectOption(opts.record);
  await page.getByTestId('save-host').click();
  await page.getByTestId('host-row').filter({ hasText: name }).waitFor();
}

/** Trusts host keys when asked until `count` tabs are connected. */
async function connectedTabs(page: Page, count: number): Promise<void> {
  await until(
    async () => {
      if (await page.getByTestId('trust-host-key').isVisible()) await page.getByTestId('trust-host-key').click();
      const states = await page.getByTestId('tab').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
      return states.length === count && states.every((s) => s === 'connected');
    },
    30_000,
    `${count} connected tabs`,
  );
}

describe.skipIf(terminalSkip)('terminals for a group of hosts, end to end in Chromium against two real sshd', () => {
  let world: TerminalWorld;
  let page: Page;

  beforeAll(async () => {
    world = await startWorld({ servers: 2 });
    page = world.page;
    await page.getByTestId('add-group').click();
    await page.getByTestId('group-editor').locator('input[name=groupName]').fill('Pair');
    await page.getByTestId('save-group').click();
    await page.getByTestId('group').filter({ hasText: 'Pair' }).waitFor();
    await saveHost(page, 'alpha', world.sshd[0]!, { group: 'Pair' });
    await saveHost(page, 'beta', world.sshd[1]!, { group: 'Pair' });
    await saveHost(page, 'gamma', world.sshd[0]!);
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
  });

  it('broadcasts to a whole group: reuses the open tab, opens the others, and only they receive input', async () => {
    await connect(page, 'alpha');
    await connect(page, 'gamma');
    const [alpha, gamma] = await hook.panes(page);
    expect(await page.getByTestId('broadcast-banner').count()).toBe(0);

    await page.getByTestId('group').filter({ hasText: 'Pair' }).getByTestId('group-menu').first().click();
    await page.getByTestId('broadcast-group').click();
    await connectedTabs(page, 3);
    const beta = (await hook.panes(page)).find((p) => p.pane !== alpha!.pane && p.pane !== gamma!.pane)!;
    expect(await page.getByTestId('tab').allTextContents()).toEqual([expect.stringContaining('alpha'), expect.stringContaining('gamma'), expect.stringContaining('beta')]);
    await expect.poll(() => page.getByTestId('broadcast-banner').textContent()).toContain('2 terminals');
    // Focus is on a receiving terminal, so typing right away goes to the group.
    expect((await hook.panes(page)).find((p) => p.active)!.pane).toBe(alpha!.pane);

    await waitForText(page, /[$#] ?$/, beta.pane);
    await activePane(page).locator('.xterm-screen').click();
    await page.keyboard.type('echo "group-ran:${SSH_CONNECTION##* }"\n');
    await waitForText(page, new RegExp(`^group-ran:${world.sshd[0]!.port}$`, 'm'), alpha!.pane);
    await waitForText(page, new RegExp(`^group-ran:${world.sshd[1]!.port}$`, 'm'), beta.pane);
    expect(await hook.text(page, gamma!.pane)).not.toContain('group-ran');

    // One key stops it.
    await page.keyboard.press('Control+Shift+B');
    expect(await page.getByTestId('broadcast-banner').count()).toBe(0);
    await page.keyboard.type('echo "alone-$((3+4))"\n');
    await waitForText(page, /^alone-7$/m, alpha!.pane);
    expect(await hook.text(page, beta.pane)).not.toMatch(/^alone-7$/m);
    for (let n = await page.getByTestId('tab').count(); n > 0; n--) await page.getByTestId('close-tab').first().click();
  });

  it('a host set to record is recorded from its first byte without a click, output only, and plays back', async () => {
    const folder = join(world.home, 'recordings');
    mkdirSync(folder);
    await connect(page, 'gamma'); // the settings button lives in a tab's toolbar
    await page.getByTestId('terminal-settings').click();
    await page.getByTestId('recording-folder').fill(folder);
    expect(await page.getByTestId('record-input').isChecked()).toBe(false);
    await page.getByTestId('save-terminal-settings').click();
    expect(await activePane(page).getAttribute('data-recording')).toBe('');

    await saveHost(page, 'delta', world.sshd[1]!, { record: 'on' });
    // The sidebar says which hosts are recorded before anyone connects.
    await page.getByTestId('host-row').filter({ hasText: 'delta' }).getByTestId('host-records').waitFor();
    expect(await page.getByTestId('host-records').count()).toBe(1);
    await connect(page, 'delta');
    const name = await activePane(page).getAttribute('data-recording');
    expect(name).toMatch(/^delta-.*\.cast$/);
    await activePane(page).locator('.xterm-screen').click();
    // A 120-character line, wider than the 80 columns the PTY started with.
    await page.keyboard.type(`echo "auto-$((6*7))"; printf 'w%.0s' $(seq 1 120); echo; seq 201 203\n`);
    const source = await waitForText(page, /^203$/m);
    await page.getByTestId('record').click(); // stop, so the file is complete
    await expect.poll(() => activePane(page).getAttribute('data-recording')).toBe('');

    expect(readdirSync(folder)).toEqual([name]);
    const lines = readFileSync(join(folder, name!), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, title: 'delta' });
    const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    // Output, and the terminal's size when it changed (the pane fits itself right after connecting): nothing typed.
    expect(events.filter(([, kind]) => kind !== 'o')).toEqual(events.filter(([, kind, data]) => kind === 'r' && /^\d+x\d+$/.test(data)));
    expect(events.some(([, kind]) => kind === 'i')).toBe(false);
    // From the first byte: the recording holds the prompt that came before anything was typed.
    const recorded = events.map((e) => e[2]).join('');
    const typedAt = recorded.indexOf('echo "auto-');
    expect(typedAt).toBeGreaterThan(0);
    expect(recorded.slice(0, typedAt)).toMatch(/[$#] $/);

    await page.getByTestId('recordings').click();
    await page.getByTestId('play-recording').first().click();
    await until(async () => (await hook.panes(page)).at(-1)!.state === 'closed' && (await page.getByTestId('tab').count()) === 3, 15_000, 'the playback to finish');
    const replay = await hook.text(page, (await hook.panes(page)).at(-1)!.pane);
    const out = (s: string) => s.slice(s.indexOf('auto-42'), s.lastIndexOf('203') + 3);
    expect(out(replay)).toBe(out(source));
    // The long line wraps where it did in the tab (wider than the 80 columns the PTY started with).
    expect(out(replay)).toMatch(/^auto-42\nw{81,}\n(w+\n)?201\n202\n203$/);
  });

  it('a group set to record makes its hosts record too', async () => {
    await page.getByTestId('group').filter({ hasText: 'Pair' }).getByTestId('group-menu').first().click();
    await page.getByTestId('edit-group').click();
    await page.getByTestId('group-editor').locator('select[name=recordSessions]').selectOption('on');
    await page.getByTestId('save-group').click();
    await expect.poll(() => page.getByTestId('group-editor').count()).toBe(0);
    // The tree is one flat list (windowed): the group's hosts are the rows that name it.
    const pairId = await page.getByTestId('group').filter({ hasText: 'Pair' }).getAttribute('data-group-id');
    await expect.poll(() => page.locator(`[data-testid=host-row][data-group-id="${pairId}"] [data-testid=host-records]`).count()).toBe(2);
    expect(await page.getByTestId('host-row').filter({ hasText: 'gamma' }).getByTestId('host-records').count()).toBe(0);
    await connect(page, 'beta');
    expect(await activePane(page).getAttribute('data-recording')).toMatch(/^beta-.*\.cast$/);
  });
});
