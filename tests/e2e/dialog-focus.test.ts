import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, terminalSkip, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the dialog focus test: ${terminalSkip}`);

/** Whether the focused element is inside `selector`. */
const focusInside = (page: Page, selector: string) => page.evaluate((s) => !!document.activeElement?.closest(s), selector);

/**
 * Presses Tab (or Shift+Tab) more times than the dialog has controls and records whether the focus
 * ever left it: behind a modal dialog nothing may be reached by keyboard.
 */
async function tabsStayInside(page: Page, selector: string, key: 'Tab' | 'Shift+Tab'): Promise<boolean[]> {
  const seen: boolean[] = [];
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press(key);
    seen.push(await focusInside(page, selector));
  }
  return seen;
}

// Issue 18 (keyboard-first): every modal dialog keeps Tab and Shift+Tab inside it, the shared
// Dialog (the host editor sheet) and the hand-made ones (F1's shortcuts, quick connect) alike.
describe.skipIf(terminalSkip)('modal dialogs keep the keyboard focus inside', () => {
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

  const cases: Array<{ what: string; open: (page: Page) => Promise<void>; selector: string }> = [
    { what: 'the shortcuts sheet (F1)', open: (p) => p.keyboard.press('F1'), selector: '[data-testid=help-sheet]' },
    { what: 'quick connect (Ctrl+K)', open: (p) => p.keyboard.press('Control+k'), selector: '[data-testid=quick-connect]' },
    {
      what: 'the host editor sheet',
      open: async (p) => {
        await p.getByTestId('add-host').focus();
        await p.keyboard.press('Enter');
      },
      selector: '[role=dialog]:has([data-testid=host-editor])',
    },
  ];
  for (const c of cases) {
    it(`${c.what}: Tab and Shift+Tab never reach the page behind it; Esc closes it`, async () => {
      await c.open(page);
      await page.locator(c.selector).first().waitFor();
      expect(await focusInside(page, c.selector)).toBe(true);
      expect(await tabsStayInside(page, c.selector, 'Tab')).not.toContain(false);
      expect(await tabsStayInside(page, c.selector, 'Shift+Tab')).not.toContain(false);
      await page.keyboard.press('Escape');
      await page.locator(c.selector).first().waitFor({ state: 'detached' });
    });
  }
});
