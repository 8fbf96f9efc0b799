/**
 * The numbered bugs of issue 18 that a person meets in the browser app, end to end in Chromium
 * against a real sshd: reload reconnects, the DOM renderer draws `_`, connecting from the host list
 * brings the terminals forward and keeps the steps, a failed retry reuses its tab, Reconnect only
 * where a retry helps, F1 lists Ctrl+K, Esc closes the access-policy dialog, our own words for form
 * validation, and Japanese sidebar buttons on one line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../../electron/contract/i18n/en';
import { ja } from '../../electron/contract/i18n/ja';
import { addHost, connect, startWorld, terminalSkip, until, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the issue 18 bug tests: ${terminalSkip}`);

const pane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

/** Rows (top to bottom) of a screenshot region, each as the count of pixels that differ from the background. */
async function litRows(page: Page, clip: { x: number; y: number; width: number; height: number }): Promise<number[]> {
  const png = await page.screenshot({ clip });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    // The background (light or dark theme): the region's top-right pixel, past the glyphs.
    const bg = [d[(c.width - 1) * 4]!, d[(c.width - 1) * 4 + 1]!, d[(c.width - 1) * 4 + 2]!];
    const rows: number[] = [];
    for (let y = 0; y < c.height; y++) {
      let n = 0;
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (Math.abs(d[i]! - bg[0]!) + Math.abs(d[i + 1]! - bg[1]!) + Math.abs(d[i + 2]! - bg[2]!) > 150) n++;
      }
      rows.push(n);
    }
    return rows;
  }, png.toString('base64'));
}

describe.skipIf(terminalSkip)('issue 18 bugs, end to end in Chromium', () => {
  let world: TerminalWorld;
  let page: Page;

  beforeAll(async () => {
    world = await startWorld({ viewport: { width: 1280, height: 800 } });
    page = world.page;
    await addHost(page, 'alpha', world.sshd[0]!);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('F5 reconnects: the saved hosts are there again, no "cannot be reached"', async () => {
    expect(page.url()).not.toContain('token=');
    await page.reload();
    await page.getByTestId('host-row').filter({ hasText: 'alpha' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('hosts-empty').count()).toBe(0);
    expect(await page.getByText('cannot be reached').count()).toBe(0);
  });

  it('Connect in the sidebar brings the terminals forward; the steps and their timings stay (collapsed) once connected', async () => {
    await page.getByTestId('view-inventory').click();
    expect(await page.getByTestId('view-inventory').getAttribute('aria-pressed')).toBe('true');
    await connect(page, 'alpha');
    expect(await page.getByTestId('view-terminals').getAttribute('aria-pressed')).toBe('true');
    expect(await pane(page).isVisible()).toBe(true);
    const kept = pane(page).getByTestId('steps-kept');
    await kept.waitFor();
    await kept.locator('summary').click();
    const text = await kept.textContent();
    expect(text).toContain('Authenticating');
    expect(text).toMatch(/\d+ ms/);
    await kept.locator('summary').click();
  });

  it('the DOM renderer draws "_" whole: pixel rows under the baseline are painted, with the bundled monospace font', async () => {
    expect(await pane(page).getAttribute('data-renderer')).toBe('dom');
    const family = await page.evaluate(() => getComputedStyle(document.querySelector('.xterm-rows')!).fontFamily);
    expect(family).toContain('JetBrains Mono');
    expect(await page.evaluate(() => document.fonts.check('14px "JetBrains Mono"'))).toBe(true);
    await pane(page).locator('.xterm-screen').click();
    await page.keyboard.type("clear; printf '%s\\n' ________ x86_64\n");
    await waitForText(page, /^x86_64$/m);
    const row = pane(page).locator('.xterm-rows > div').filter({ hasText: /^_{8}\s*$/ });
    await row.first().waitFor();
    const box = (await row.first().boundingBox())!;
    const cell = await page.evaluate(() => {
      const r = document.querySelector('.xterm-rows > div') as HTMLElement;
      return r.getBoundingClientRect().height;
    });
    // Eight cells of "_" in that row; the glyph lies under the baseline, at the cell's bottom.
    const rows = await litRows(page, { x: box.x, y: box.y, width: Math.min(box.width, 160), height: Math.ceil(cell) });
    const painted = rows.map((n, y) => (n > 20 ? y : -1)).filter((y) => y >= 0);
    expect(painted.length, `lit pixels per row: ${rows.join(',')}`).toBeGreaterThan(0);
    // Below the middle of the cell: the part a too-small line height clipped.
    expect(Math.min(...painted), `lit pixels per row: ${rows.join(',')}`).toBeGreaterThan(cell / 2);
  });

  it('F1 lists Ctrl+K (quick connect)', async () => {
    await pane(page).locator('.xterm-screen').click();
    await page.keyboard.press('F1');
    const sheet = page.getByTestId('help-sheet');
    await sheet.waitFor();
    expect(await sheet.textContent()).toContain('Ctrl+K');
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
  });

  it('a failure a retry cannot fix offers no Reconnect, and connecting again reuses its tab', async () => {
    const sshd = world.sshd[0]!;
    await page.getByTestId('add-host').click();
    const form = page.getByTestId('host-editor');
    await form.locator('input[name=name]').fill('wrong-user');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(String(sshd.port));
    await form.locator('input[name=user]').fill('nobody-here');
    await form.locator('input[name=keyPath]').fill(sshd.clientKey);
    await page.getByTestId('save-host').click();
    const row = page.getByTestId('host-row').filter({ hasText: 'wrong-user' });
    await row.waitFor();
    const before = await page.getByTestId('tab').count();
    await row.getByTestId('connect').click();
    const error = pane(page).getByTestId('tab-error');
    await until(async () => {
      if (await page.getByTestId('trust-host-key').isVisible()) await page.getByTestId('trust-host-key').click();
      return error.isVisible();
    }, 20_000, 'the authentication failure');
    expect(await error.getAttribute('data-code')).toBe('AuthFailed');
    expect(await pane(page).getByTestId('reconnect').count()).toBe(0);
    expect(await page.getByTestId('tab').count()).toBe(before + 1);
    await row.getByTestId('connect').click();
    await until(async () => (await pane(page).getAttribute('data-state')) === 'closed' && (await error.isVisible()), 20_000, 'the second failure');
    expect(await page.getByTestId('tab').count()).toBe(before + 1);
  });

  it('form validation shows our words, not the validation library text', async () => {
    await page.getByTestId('add-host').click();
    const form = page.getByTestId('host-editor');
    await form.locator('input[name=host]').fill('x');
    await form.locator('input[name=host]').fill('');
    await form.locator('input[name=host]').blur();
    const said = form.locator('label:has(input[name=host]) + small.error-text');
    await said.waitFor();
    const words = await said.textContent();
    expect(words).toMatch(/^Fill in /);
    expect(words).not.toMatch(/Too small|expected|>=/);
    await form.getByRole('button', { name: en['editor.cancel'] }).click();
  });

  it("the audit's connection table: its last column (Outcome) can be scrolled into view at 1280 px", async () => {
    await page.getByTestId('view-audit').click();
    const table = page.getByTestId('audit-local');
    await table.waitFor({ timeout: 10_000 });
    const last = await page.evaluate(() => {
      const th = [...document.querySelectorAll('[data-testid=audit-local] th')].at(-1) as HTMLElement;
      for (let el: HTMLElement | null = th; el; el = el.parentElement) {
        const scrolls = ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
        if (scrolls && el.scrollWidth > el.clientWidth + 1) el.scrollLeft = el.scrollWidth;
      }
      const r = th.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 10), r.top + r.height / 2);
      return { text: th.textContent?.trim(), right: r.right, shown: !!hit && (hit === th || th.contains(hit)) };
    });
    expect(last.text).toBe('Outcome');
    expect(last.right).toBeLessThanOrEqual(1280);
    expect(last.shown).toBe(true);
    await page.getByTestId('view-terminals').click();
  });

  it('a new tab is scrolled into view in a full tab bar', async () => {
    await page.getByTestId('tab').first().click();
    await pane(page).locator('.xterm-screen').click();
    for (let i = 0; i < 14; i++) {
      const before = await page.getByTestId('tab').count();
      await page.keyboard.press('Control+Shift+T');
      await until(async () => (await page.getByTestId('tab').count()) === before + 1, 5_000, 'the new tab');
    }
    const seen = await page.evaluate(() => {
      const bar = document.querySelector('.tabbar')!.getBoundingClientRect();
      const tabs = [...document.querySelectorAll('[data-testid=tab]')];
      const r = tabs.at(-1)!.getBoundingClientRect();
      return { overflows: document.querySelector('.tabbar')!.scrollWidth > bar.width, active: tabs.at(-1)!.classList.contains('active'), inside: r.left >= bar.left - 1 && r.right <= bar.right + 1 };
    });
    expect(seen.overflows).toBe(true);
    expect(seen.active).toBe(true);
    await until(async () => (await page.evaluate(() => {
      const bar = document.querySelector('.tabbar')!.getBoundingClientRect();
      const r = [...document.querySelectorAll('[data-testid=tab]')].at(-1)!.getBoundingClientRect();
      return r.left >= bar.left - 1 && r.right <= bar.right + 1;
    })), 3_000, 'the new tab to be scrolled into view');
  });

  it('Edit opens the editor in view when the host list is scrolled down', async () => {
    mkdirSync(join(world.home, '.ssh'), { recursive: true });
    writeFileSync(join(world.home, '.ssh', 'config'), Array.from({ length: 40 }, (_, i) => `Host many-${String(i).padStart(2, '0')}\n  HostName 10.0.0.${i + 1}\n  User me\n`).join('\n'));
    await page.getByTestId('import-ssh-config').first().click();
    const last = page.getByTestId('host-row').filter({ hasText: 'many-39' });
    // The tree draws only the rows near its viewport: scroll it down until many-39 is drawn.
    await until(async () => {
      if (await last.count()) return true;
      await page.evaluate(() => { document.querySelector('[data-testid=host-tree]')!.parentElement!.scrollTop += 200; });
      return false;
    }, 10_000, 'many-39 to be drawn');
    await last.scrollIntoViewIfNeeded();
    await last.getByTestId('host-menu').click();
    await page.getByTestId('edit-host').click();
    const editor = page.getByTestId('host-editor');
    await editor.waitFor();
    await until(async () => {
      const r = (await editor.boundingBox())!;
      return r.y >= 0 && r.y < 800 - 40;
    }, 3_000, 'the editor to be in view');
    await editor.getByRole('button', { name: en['editor.cancel'] }).click();
  });

  it('Esc closes the access-policy dialog', async () => {
    // Two hosts selected (click, then Ctrl+click) show the selection bar and its access policy.
    const rows = page.getByTestId('host-row');
    await rows.nth(0).locator('[data-testid=host-name]').click();
    await rows.nth(1).locator('[data-testid=host-name]').click({ modifiers: ['Control'] });
    await page.getByTestId('selection-policy').click();
    const dialog = page.getByTestId('policy-dialog');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: 3_000 });
    await page.getByTestId('selection-bar').getByRole('button', { name: en['hosts.clearSelection'] }).click();
  });

  it('in Japanese, every sidebar button keeps its label on one line', async () => {
    await page.getByTestId('language').selectOption('ja');
    await until(async () => (await page.getByTestId('add-host').getAttribute('aria-label')) === ja['hosts.add'], 5_000, 'the Japanese words');
    // The selection bar's buttons are the longest words.
    const rows = page.getByTestId('host-row');
    await rows.nth(0).locator('[data-testid=host-name]').click();
    await rows.nth(1).locator('[data-testid=host-name]').click({ modifiers: ['Control'] });
    await page.getByTestId('selection-bar').waitFor();
    const tall = await page.evaluate(() => {
      const side = document.querySelector('[data-testid=add-host]')!.closest('aside, nav, .sidebar, section') ?? document.body;
      return [...side.querySelectorAll('button')]
        .filter((b) => b.offsetParent !== null && b.children.length === 0 && (b.textContent ?? '').trim().length > 1)
        .map((b) => {
          const cs = getComputedStyle(b);
          const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.3;
          const inner = b.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
          return { text: (b.textContent ?? '').trim(), lines: Math.round(inner / line) };
        })
        .filter((b) => b.lines > 1);
    });
    expect(tall, JSON.stringify(tall)).toEqual([]);
    await page.getByTestId('selection-bar').getByRole('button', { name: ja['hosts.clearSelection'] }).click();
    await page.getByTestId('language').selectOption('en');
  });
});
