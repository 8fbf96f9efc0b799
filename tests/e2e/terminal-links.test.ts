import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, connect, startWorld, terminalSkip, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the terminal link tests: ${terminalSkip}`);

const activePane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

/** An OSC 8 hyperlink: `text` shown, `target` behind it. */
const osc8 = (target: string, text: string) => `\x1b]8;;${target}\x1b\\${text}\x1b]8;;\x1b\\`;

describe.skipIf(terminalSkip)('links from a host, end to end: OSC 8 and plain addresses printed by bash, clicked in Chromium', () => {
  let world: TerminalWorld;
  let page: Page;
  /** Stands in for "the web": records every address a browser tab asked it for. */
  let web: Server;
  let webBase = '';
  const fetched: string[] = [];
  /** Every address any link question showed, and every new tab or browser dialog, from the page's start. */
  const popups: Page[] = [];
  const browserDialogs: string[] = [];
  const shownQuestions = () => page.evaluate(() => (window as unknown as { linkQuestions: string[] }).linkQuestions);

  beforeAll(async () => {
    web = createServer((req, res) => {
      fetched.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webBase = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    world = await startWorld();
    page = world.page;
    page.context().on('page', (p) => popups.push(p));
    page.on('dialog', (d) => {
      browserDialogs.push(d.message());
      void d.dismiss();
    });
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { linkQuestions: string[] }).linkQuestions = seen;
      new MutationObserver(() => {
        const shown = document.querySelector('[data-testid=link-url]')?.textContent;
        if (shown && seen.at(-1) !== shown) seen.push(shown);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await addHost(page, 'alpha', world.sshd[0]!);
    await connect(page, 'alpha');
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
    await new Promise((resolve) => web?.close(resolve));
  });

  /** Moves the mouse onto `at` in the output line starting with `line` (xterm.js finds links on hover) and clicks it. */
  async function clickText(line: string, at = line): Promise<void> {
    const lines = (await waitForText(page, new RegExp(`^${line}`, 'm'))).split('\n');
    const row = lines.findIndex((l) => l.startsWith(line));
    const col = lines[row]!.indexOf(at) + 2;
    const screen = activePane(page).locator('.xterm-screen');
    const box = (await screen.boundingBox())!;
    const { cols, rows } = (await page.evaluate(() => window.keylessTest.panes())).find((p) => p.active)!;
    const x = box.x + (col + 0.5) * (box.width / cols);
    const y = box.y + (row + 0.5) * (box.height / rows);
    // From the cell below: xterm.js looks for a link only when the pointer moves to another cell.
    await page.mouse.move(x, y + box.height / rows);
    await page.mouse.move(x, y);
    await page.mouse.click(x, y);
  }

  it('OSC 8 links to javascript: and file: never open; an http one asks first, showing its full address', async () => {
    const full = `${webBase}/osc8/a%20path?q=1&r=two#frag`;
    const file = join(world.home, 'links.txt');
    writeFileSync(
      file,
      [osc8('javascript:alert(document.domain)', 'js-target'), osc8('file:///etc/passwd', 'file-target'), osc8(full, 'http-target'), ''].join('\n'),
    );
    // `clear` wipes the scrollback too, so buffer lines are screen rows.
    await page.evaluate((f) => window.keylessTest.type(`clear; cat ${f}\r`), file);
    await clickText('js-target');
    await clickText('file-target');
    await clickText('http-target');
    await page.getByTestId('link-confirm').waitFor();
    // Clicks are handled in order: by now the first two were, and no question showed them.
    expect(await page.getByTestId('link-url').textContent()).toBe(full);
    expect(await shownQuestions()).toEqual([full]);
    expect(popups).toEqual([]);
    expect(browserDialogs).toEqual([]);

    // No opens nothing; yes opens exactly that address (the harness has no system browser: a browser tab).
    await page.getByTestId('link-cancel').click();
    expect(await page.getByTestId('link-confirm').count()).toBe(0);
    await clickText('http-target');
    await page.getByTestId('link-open').click();
    await expect.poll(() => fetched).toContain('/osc8/a%20path?q=1&r=two');
    await expect.poll(() => popups.map((p) => p.url())).toEqual([full]);
  });

  it('a plain address in the output asks the same question', async () => {
    await page.evaluate((base) => window.keylessTest.type(`clear; echo "plain ${base}/plain/x"\r`), webBase);
    await clickText('plain', webBase);
    await page.getByTestId('link-confirm').waitFor();
    expect(await page.getByTestId('link-url').textContent()).toBe(`${webBase}/plain/x`);
    await page.getByTestId('link-cancel').click();
  });

  it('window.open in the page asks the same question, and never opens anything but http(s)', async () => {
    const before = popups.length;
    await page.evaluate(() => {
      window.open('javascript:alert(1)');
      window.open('file:///etc/passwd');
    });
    await page.evaluate((base) => window.open(`${base}/from-window-open?\u202Egnp.exe`), webBase);
    await page.getByTestId('link-confirm').waitFor();
    // Shown as the address that would open: the bidi override visible as its bytes.
    expect(await page.getByTestId('link-url').textContent()).toBe(`${webBase}/from-window-open?%E2%80%AEgnp.exe`);
    expect((await shownQuestions()).at(-1)).toBe(`${webBase}/from-window-open?%E2%80%AEgnp.exe`);
    await page.getByTestId('link-cancel').click();
    expect(popups.length).toBe(before);
    expect(browserDialogs).toEqual([]);
  });
});
