import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, connect, hook, startWorld, terminalSkip, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the paste guard tests: ${terminalSkip}`);

const activePane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

/**
 * Each way text reaches a terminal without being typed, done as Chromium does it for a person:
 * the clipboard with Ctrl+Shift+V, the primary selection (text selected with the mouse elsewhere
 * in the page) with a middle click, and a drag of text dropped on the terminal.
 */
const deliver = {
  async clipboard(page: Page, text: string): Promise<void> {
    await page.evaluate((t) => navigator.clipboard.writeText(t), text);
    await activePane(page).locator('.xterm-screen').click();
    await page.keyboard.press('Control+Shift+V');
  },
  async middleClick(page: Page, text: string): Promise<void> {
    await page.evaluate((t) => {
      document.getElementById('elsewhere')?.remove();
      const notes = document.createElement('textarea');
      notes.id = 'elsewhere';
      notes.value = t;
      notes.style.cssText = 'position:fixed;left:0;bottom:0;width:400px;height:40px;z-index:100';
      document.body.append(notes);
    }, text);
    await page.locator('#elsewhere').click({ clickCount: 3 });
    const box = (await activePane(page).locator('.xterm-screen').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: 'middle' });
    await page.evaluate(() => document.getElementById('elsewhere')?.remove());
  },
  async drop(page: Page, text: string): Promise<void> {
    await page.evaluate((t) => {
      document.getElementById('elsewhere')?.remove();
      const source = document.createElement('div');
      source.id = 'elsewhere';
      source.draggable = true;
      source.textContent = 'drag me';
      source.style.cssText = 'position:fixed;left:0;bottom:0;padding:8px;background:#fff;color:#000;z-index:100';
      source.addEventListener('dragstart', (e) => e.dataTransfer!.setData('text/plain', t));
      document.body.append(source);
    }, text);
    await page.locator('#elsewhere').dragTo(activePane(page).locator('.xterm-screen'));
    await page.evaluate(() => document.getElementById('elsewhere')?.remove());
  },
};
type Path = keyof typeof deliver;

describe.skipIf(terminalSkip)('the paste guard, end to end: Chromium, the harness and bash in a real sshd PTY', () => {
  let world: TerminalWorld;
  let page: Page;
  let n = 0;
  /** A file the hostile pastes try to create; it must never exist. */
  const marker = () => join(world.home, `pwned-${randomBytes(6).toString('hex')}`);
  /**
   * Bash, asked after everything sent before: whether `file` exists (input is handled in order, so
   * no waiting on a clock). Ctrl+E Ctrl+U first: whatever a paste left in the line editor goes.
   */
  async function shellSays(file: string, pane?: string): Promise<'ran' | 'clean'> {
    const id = ++n;
    const line = `\x05\x15if [ -e ${file} ]; then echo RAN-${id}; else echo CLEAN-${id}; fi\r`;
    await page.evaluate(([l, p]) => window.keylessTest.type(l, p), [line, pane] as const);
    const text = await waitForText(page, new RegExp(`^(RAN|CLEAN)-${id}$`, 'm'), pane);
    return new RegExp(`^RAN-${id}$`, 'm').test(text) ? 'ran' : 'clean';
  }
  const question = () => page.getByTestId('paste-confirm');

  beforeAll(async () => {
    world = await startWorld({ servers: 2 });
    page = world.page;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await addHost(page, 'alpha', world.sshd[0]!);
    await addHost(page, 'beta', world.sshd[1]!);
    await connect(page, 'alpha');
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
  });

  for (const path of ['clipboard', 'middleClick', 'drop'] as Path[]) {
    it(`${path}: ESC[201~ and a control character (no line break) ask first, and nothing runs when told no`, async () => {
      const file = marker();
      // Bash has bracketed paste on: ESC[201~ would end it, and Ctrl+O then runs the line.
      await deliver[path](page, `echo safe\x1b[201~; touch ${file}\x0f`);
      // Nothing ran while the question waits (the shell answers in input order).
      expect(await shellSays(file)).toBe('clean');
      await question().waitFor();
      expect(await question().getAttribute('data-ask')).toBe('controls');
      // The question shows the text with its control characters drawn, the ESC as ␛.
      expect(await page.getByTestId('paste-text').textContent()).toBe(`echo safe\u241b[201~; touch ${file}\u240f`);
      await page.getByTestId('paste-cancel').click();
      expect(await shellSays(file)).toBe('clean');
      expect(existsSync(file)).toBe(false);

      // With a line break instead, the line-break question comes; no is no.
      await deliver[path](page, `echo safe\x1b[201~; touch ${file}\n`);
      await question().waitFor();
      expect(await question().getAttribute('data-ask')).toBe('lines');
      await page.getByTestId('paste-cancel').click();
      expect(await shellSays(file)).toBe('clean');
      expect(existsSync(file)).toBe(false);
    });

    it(`${path}: a plain line goes straight in and runs on Enter`, async () => {
      const id = ++n;
      await deliver[path](page, `echo "plain-${id}-$((20+22))"`);
      await waitForText(page, new RegExp(`echo "plain-${id}-\\$\\(\\(20\\+22\\)\\)"$`, 'm'));
      expect(await question().count()).toBe(0);
      await page.evaluate(() => window.keylessTest.type('\r'));
      await waitForText(page, new RegExp(`^plain-${id}-42$`, 'm'));
    });
  }

  it('a yes pastes the text with ESC neutralised: bracketed paste holds it all, so still nothing runs', async () => {
    const file = marker();
    await deliver.clipboard(page, `echo safe\x1b[201~; touch ${file}\x0f`);
    await question().waitFor();
    await page.getByTestId('paste-ok').click();
    // The whole text sits in bash's line editor (␛ and all), waiting for Enter.
    await waitForText(page, new RegExp(`touch ${file}`));
    expect(await shellSays(file)).toBe('clean');
    expect(existsSync(file)).toBe(false);
  });

  it('broadcast: one question where the text was pasted, and each receiving terminal gets the text prepared', async () => {
    await connect(page, 'beta');
    const [a, b] = await hook.panes(page);
    await page.getByTestId('broadcast').click();
    await page.getByTestId('broadcast-all').click();
    await expect.poll(() => page.getByTestId('broadcast-banner').textContent()).toContain('2');

    const file = marker();
    await deliver.clipboard(page, `echo safe\x1b[201~; touch ${file}\x0f`);
    expect(await shellSays(file, a!.pane)).toBe('clean');
    expect(await shellSays(file, b!.pane)).toBe('clean');
    await question().waitFor();
    await page.getByTestId('paste-cancel').click();
    expect(await shellSays(file, a!.pane)).toBe('clean');
    expect(await shellSays(file, b!.pane)).toBe('clean');

    // Told yes, both shells hold the text in their line editors and neither runs it.
    await deliver.clipboard(page, `echo safe\x1b[201~; touch ${file}\x0f`);
    await question().waitFor();
    expect(await question().count()).toBe(1);
    await page.getByTestId('paste-ok').click();
    await waitForText(page, new RegExp(`touch ${file}`), a!.pane);
    await waitForText(page, new RegExp(`touch ${file}`), b!.pane);
    expect(await shellSays(file, a!.pane)).toBe('clean');
    expect(await shellSays(file, b!.pane)).toBe('clean');
    expect(existsSync(file)).toBe(false);

    // A plain line reaches both and runs in both.
    const id = ++n;
    await deliver.clipboard(page, `echo "both-${id}-$((6*7))"`);
    await page.evaluate(() => window.keylessTest.type('\r'));
    await waitForText(page, new RegExp(`^both-${id}-42$`, 'm'), a!.pane);
    await waitForText(page, new RegExp(`^both-${id}-42$`, 'm'), b!.pane);
    await page.getByTestId('broadcast-stop').click();
  });
});
