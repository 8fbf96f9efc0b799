import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { startWorld, terminalSkip, until, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping end-to-end host tree tests: ${terminalSkip}`);

/** The focused element's tree row name (data-name), or its test id when it is not a row. */
const focused = (page: Page) => page.evaluate(() => {
  const el = document.activeElement as HTMLElement | null;
  return el?.dataset['name'] ?? el?.dataset['testid'] ?? el?.tagName ?? '';
});
const press = async (page: Page, ...keys: string[]) => {
  for (const k of keys) await page.keyboard.press(k);
};

/** Adds a plain SSH host without the mouse: the + button by focus and Enter, the sheet's fields typed, Enter saves. */
async function addHostByKeyboard(page: Page, world: TerminalWorld, name: string, group?: string): Promise<void> {
  const [sshd] = world.sshd;
  await page.getByTestId('add-host').focus();
  await press(page, 'Enter');
  const form = page.getByTestId('host-editor');
  await form.waitFor();
  // The sheet takes the focus (its first field), so typing goes into the form, not the page.
  expect(await page.evaluate(() => !!document.activeElement?.closest('[data-testid=host-editor]'))).toBe(true);
  await form.locator('input[name=name]').focus();
  await page.keyboard.type(name);
  if (group) await form.locator('select[name=group]').selectOption({ label: group });
  await form.locator('input[name=host]').fill('127.0.0.1');
  await form.locator('input[name=port]').fill(String(sshd!.port));
  await form.locator('input[name=user]').fill(sshd!.user);
  await form.locator('input[name=keyPath]').fill(sshd!.clientKey);
  await press(page, 'Enter');
  await form.waitFor({ state: 'detached' });
  await page.getByTestId('host-row').filter({ hasText: name }).waitFor();
}

describe.skipIf(terminalSkip)('the host tree, by keyboard alone, in both languages and themes', () => {
  let world: TerminalWorld;
  let page: Page;

  beforeAll(async () => {
    world = await startWorld({ viewport: { width: 1280, height: 800 } });
    page = world.page;
    await page.getByTestId('hosts-empty').waitFor();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('first run offers the ways in, and passes axe in light and dark', async () => {
    const empty = page.getByTestId('hosts-empty');
    expect(await empty.getByTestId('import-ssh-config').textContent()).toContain('Import ~/.ssh/config');
    expect(await empty.getByTestId('first-run-aws').textContent()).toContain('AWS profile');
    expect(await empty.textContent()).toContain('npm run demo');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await seriousViolations(page, 'aside')).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('adds a group and three hosts from the keyboard; the tree keeps one tab stop and moves by arrows', async () => {
    await page.getByTestId('add-group').focus();
    await press(page, 'Enter');
    const form = page.getByTestId('group-editor');
    await form.locator('input[name=groupName]').focus();
    await page.keyboard.type('Fleet');
    await press(page, 'Enter');
    await form.waitFor({ state: 'detached' });
    await addHostByKeyboard(page, world, 'alpha', 'Fleet');
    await addHostByKeyboard(page, world, 'beta', 'Fleet');
    await addHostByKeyboard(page, world, 'gamma');

    // Tab from the toolbar lands on one row of the tree, never on each row's buttons.
    await page.getByTestId('add-host').focus();
    await press(page, 'Tab');
    expect(await focused(page)).toBe('Fleet');
    await press(page, 'ArrowDown');
    expect(await focused(page)).toBe('alpha');
    await press(page, 'End');
    expect(await focused(page)).toBe('gamma');
    await press(page, 'Home', 'ArrowLeft');
    // Left closes the group: its hosts leave the tree, and Down goes straight to gamma.
    expect(await page.getByTestId('group').getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByTestId('host-row').count()).toBe(1);
    await press(page, 'ArrowDown');
    expect(await focused(page)).toBe('gamma');
    await press(page, 'Home', 'ArrowRight');
    expect(await page.getByTestId('host-row').count()).toBe(3);
    await press(page, 'ArrowRight');
    expect(await focused(page)).toBe('alpha');
  });

  it('type-to-find jumps to a host by the letters of its name', async () => {
    await page.keyboard.type('ga');
    expect(await focused(page)).toBe('gamma');
    expect(await page.getByTestId('tree-find').textContent()).toContain('ga');
    await page.waitForTimeout(1000);
    await page.keyboard.type('b');
    expect(await focused(page)).toBe('beta');
  });

  it('Shift+F10 opens the context menu on the row; arrows, letters and Esc work; Esc gives the focus back', async () => {
    await press(page, 'Shift+F10');
    const menu = page.getByTestId('context-menu');
    await menu.waitFor();
    expect(await menu.getAttribute('aria-label')).toBe('Actions for beta');
    expect(await focused(page)).toBe('menu-connect');
    await press(page, 'ArrowUp');
    expect(await focused(page)).toBe('delete-host');
    await press(page, 'ArrowDown');
    expect(await focused(page)).toBe('menu-connect');
    expect(await seriousViolations(page, '[data-testid=context-menu]')).toEqual([]);
    await press(page, 'Escape');
    await menu.waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('beta');
  });

  it('duplicates from the menu (ContextMenu key, letter d), then Delete asks before removing the copy', async () => {
    await press(page, 'ContextMenu');
    await page.getByTestId('context-menu').waitFor();
    await press(page, 'd');
    expect(await focused(page)).toBe('duplicate-host');
    await press(page, 'Enter');
    await page.getByTestId('host-row').filter({ hasText: 'beta (copy)' }).waitFor();
    expect(await page.getByTestId('toast').last().textContent()).toContain('Saved a copy as beta (copy)');

    const copy = page.getByTestId('host-row').filter({ hasText: 'beta (copy)' });
    await copy.focus();
    await press(page, 'Delete');
    const dialog = page.getByTestId('confirm-delete');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Delete the saved host beta (copy)?');
    // The safe answer has the focus: Enter alone would not delete.
    expect(await focused(page)).toBe('confirm-cancel');
    expect(await seriousViolations(page, '[data-testid=confirm-delete]')).toEqual([]);
    await press(page, 'Tab');
    expect(await focused(page)).toBe('confirm-delete-ok');
    await press(page, 'Enter');
    await until(async () => (await copy.count()) === 0, 5_000, 'the copy to go');
    expect(await page.getByTestId('host-row').count()).toBe(3);
  });

  it('Shift+Down selects a range and Enter connects each selected host in its own tab; rows show a connected dot', async () => {
    await page.getByTestId('host-row').filter({ hasText: 'alpha' }).focus();
    await press(page, 'Shift+ArrowDown');
    expect(await page.getByTestId('selection-bar').textContent()).toContain('2 selected');
    await press(page, 'Enter');
    let states: string[] = [];
    await until(async () => {
      const trust = page.getByTestId('trust-host-key');
      if (await trust.isVisible()) {
        // Put there the moment the question shows: the focus stays where the person put it.
        await trust.focus();
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await press(page, 'Enter');
      }
      states = await page.getByTestId('tab').evaluateAll((els) => els.map((e) => `${e.textContent}:${e.getAttribute('data-state')}`));
      return states.length === 2 && states.every((s) => s.endsWith(':connected'));
    }, 30_000, 'two connected tabs').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${states.join(', ')}; ${(await page.getByTestId('tab-error').allTextContents()).join(' / ')}; ${world.errors.join(' | ')}`);
    });
    expect(await page.getByTestId('tab').allTextContents()).toEqual([expect.stringContaining('alpha'), expect.stringContaining('beta')]);
    await until(async () => (await page.locator('[data-testid=host-row][data-status=connected]').count()) === 2, 5_000, 'two connected dots');
    expect(await page.getByTestId('host-row').filter({ hasText: 'gamma' }).getAttribute('data-status')).toBeNull();
  });

  it('F2 edits the focused host in a sheet; Esc closes it and the focus returns to the row', async () => {
    await page.getByTestId('host-row').filter({ hasText: 'gamma' }).focus();
    await press(page, 'F2');
    const editor = page.getByTestId('host-editor');
    await editor.waitFor();
    expect(await editor.locator('input[name=name]').inputValue()).toBe('gamma');
    expect(await seriousViolations(page, '[role=dialog]')).toEqual([]);
    await press(page, 'Escape');
    await editor.waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('gamma');
  });

  it('passes axe in Japanese and in both themes, menu open included, with Japanese words in the tree', async () => {
    await page.getByTestId('language').selectOption('ja');
    await until(async () => (await page.getByTestId('host-row').first().getByTestId('connect').getAttribute('aria-label')) === '接続', 5_000, 'Japanese labels');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await seriousViolations(page, 'aside')).toEqual([]);
      await page.getByTestId('host-row').filter({ hasText: 'gamma' }).focus();
      await press(page, 'Shift+F10');
      await page.getByTestId('context-menu').waitFor();
      expect(await page.getByTestId('context-menu').getAttribute('aria-label')).toBe('gamma の操作');
      expect(await seriousViolations(page, '[data-testid=context-menu]')).toEqual([]);
      await press(page, 'Escape');
    }
    await page.getByTestId('language').selectOption('en');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(world.errors).toEqual([]);
  });
});
