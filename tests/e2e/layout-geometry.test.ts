import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

if (chromiumMissing) console.warn(`skipping the layout geometry tests: ${chromiumMissing}`);

/** Saved hosts with long names, Japanese names and deep groups: what overflows first. */
function hostsFile(): unknown {
  const groups = [
    { id: 'g1', name: 'Production 本番環境 eu-west-1 (payments, ledger and reporting)', parentId: null, settings: { osUser: 'ec2-user' }, notes: '' },
    { id: 'g2', name: 'ステージング', parentId: 'g1', settings: {}, notes: '' },
  ];
  const hosts = [
    { kind: 'ssh', id: 'h1', name: 'bastion-with-a-very-long-name-that-does-not-fit.example.internal', groupId: 'g1', tags: [], notes: '', favourite: true, host: 'bastion-with-a-very-long-name.example.internal', port: 2222, user: 'admin', auth: { type: 'agent' } },
    { kind: 'ec2', id: 'h2', name: '決済 API サーバー 1 号機', groupId: 'g2', tags: [], notes: '', favourite: false, instanceId: 'i-0123456789abcdef0', region: 'ap-northeast-1', connectionType: 'eice', port: 22, portForwards: [] },
    { kind: 'ssh', id: 'h3', name: 'db', groupId: null, tags: [], notes: '', favourite: false, host: '10.0.0.5', port: 22, user: 'postgres', auth: { type: 'agent' } },
  ];
  return { version: 2, groups, hosts, recents: [], smartGroups: [{ id: 's1', name: 'Running in Tokyo 東京で実行中', query: 'state:running region:ap-northeast-1' }] };
}

/**
 * Text that does not fit its box, read from element geometry: an element whose content is wider
 * than its box without an ellipsis that says so, or that sticks out of the sidebar; and buttons
 * that wrap their label (a button taller than two lines of text).
 */
async function overflows(page: Page, scope: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const root = document.querySelector(sel);
    if (!root) return [`no ${sel}`];
    const bounds = root.getBoundingClientRect();
    const out: string[] = [];
    const describe = (el: Element) => `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
    for (const el of root.querySelectorAll<HTMLElement>('*')) {
      if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
      const style = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim());
      if (ownText && el.scrollWidth > el.clientWidth + 1 && style.textOverflow !== 'ellipsis' && style.overflowX !== 'auto' && style.overflowX !== 'scroll' && el.clientWidth > 0) out.push(`wider than its box: ${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
      if (r.right > bounds.right + 1 || r.left < bounds.left - 1) {
        // Inside a scrolling box, being outside is being scrolled to: fine.
        let scroller: HTMLElement | null = el.parentElement;
        let scrolls = false;
        while (scroller && scroller !== root) {
          const o = getComputedStyle(scroller).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') scrolls = true;
          scroller = scroller.parentElement;
        }
        if (!scrolls) out.push(`outside the box: ${describe(el)}`);
      }
      if (el.tagName === 'BUTTON' && (el.textContent ?? '').trim()) {
        const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.3;
        const pad = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
        if (r.height - pad > line * 2.2 && style.whiteSpace === 'nowrap') out.push(`button wraps: ${describe(el)}`);
        if (r.height - pad > line * 3.2) out.push(`button wraps over 3 lines: ${describe(el)}`);
      }
    }
    return out;
  }, scope);
}

describe.skipIf(chromiumMissing)('the sidebar at 1280×800 and 1024×700, English and Japanese, light and dark: nothing overflows', () => {
  let app: RunningHarness;
  let home: string;
  let browser: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-geometry-'));
    mkdirSync(join(home, 'data'), { recursive: true });
    writeFileSync(join(home, 'data', 'hosts.json'), JSON.stringify(hostsFile()));
    app = await startWebApp({ KEYLESS_HOME: join(home, 'data'), HOME: home, SSH_AUTH_SOCK: '' });
    const chromium = await launchChromium();
    browser = chromium.browser;
    close = chromium.close;
  });
  afterAll(async () => {
    await close?.();
    await app?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the check itself sees a clipped label and a wrapping button', async () => {
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    try {
      await page.goto(app.url);
      await page.getByTestId('host-row').first().waitFor();
      await page.evaluate(() => {
        const aside = document.querySelector('aside')!;
        aside.insertAdjacentHTML('beforeend', '<p style="white-space:nowrap;overflow:hidden;width:60px">a label far too long for its box</p><button style="width:30px">Connect all in tabs</button>');
      });
      const found = await overflows(page, 'aside');
      // Buttons keep their label on one line (app.css), so a too-narrow one overflows rather than wraps.
      expect(found).toEqual([expect.stringContaining('wider than its box: p'), expect.stringContaining('wider than its box: button "Connect all in tabs"')]);
    } finally {
      await page.close();
    }
  });

  for (const viewport of [{ width: 1280, height: 800 }, { width: 1024, height: 700 }]) {
    for (const locale of ['en', 'ja'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        it(`${viewport.width}×${viewport.height} ${locale} ${colorScheme}: the tree, its menu and the editor sheet`, async () => {
          const page = await browser.newPage({ viewport, colorScheme });
          try {
            await page.goto(app.url);
            await page.getByTestId('host-row').first().waitFor();
            await page.getByTestId('language').selectOption(locale);
            const addLabel = locale === 'ja' ? 'ホストを追加' : 'Add host';
            await page.waitForFunction((l) => document.querySelector('[data-testid=add-host]')?.getAttribute('aria-label') === l, addLabel);
            expect(await overflows(page, 'aside')).toEqual([]);

            // The menu of the long-named host opens inside the window, its words inside the menu.
            const row = page.getByTestId('host-row').first();
            await row.hover();
            await row.getByTestId('host-menu').click();
            const menu = page.getByTestId('context-menu');
            await menu.waitFor();
            const box = (await menu.boundingBox())!;
            expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
            expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
            expect(await overflows(page, '[data-testid=context-menu]')).toEqual([]);
            await page.keyboard.press('Escape');

            await page.getByTestId('add-host').click();
            await page.getByTestId('host-editor').waitFor();
            expect(await overflows(page, '[role=dialog]')).toEqual([]);
            await page.keyboard.press('Escape');
          } finally {
            await page.close();
          }
        });
      }
    }
  }
});
