import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, connect, hook, startWorld, terminalSkip, until, waitForText, type TerminalWorld } from './terminal-support';

if (terminalSkip) console.warn(`skipping the WebGL fallback test: ${terminalSkip}`);

/**
 * Headless Chromium here has no GPU, but it does have WebGL, drawn in software by SwiftShader.
 * Keyless keeps software WebGL off on purpose (the DOM renderer is faster there), so the page is
 * told it has a GPU: WEBGL_debug_renderer_info answers with a hardware-sounding name. Everything
 * else is real: xterm.js's WebGL renderer draws with a real context, which the test then loses.
 */
const PRETEND_GPU = () => {
  const UNMASKED_RENDERER_WEBGL = 0x9246;
  for (const proto of [WebGL2RenderingContext.prototype, WebGLRenderingContext.prototype]) {
    const real = proto.getParameter;
    proto.getParameter = function (this: WebGLRenderingContext, p: number) {
      return p === UNMASKED_RENDERER_WEBGL ? 'Keyless test GPU' : real.call(this, p);
    } as typeof real;
  }
};

const pane = (page: Page) => page.locator('[data-testid=terminal-pane][data-active=true]:visible');

describe.skipIf(terminalSkip)('the WebGL renderer falls back to the DOM renderer when the GPU context is lost (Chromium)', () => {
  let world: TerminalWorld;
  let page: Page;
  let noWebgl: string | undefined;

  beforeAll(async () => {
    world = await startWorld();
    page = world.page;
    noWebgl = await page.evaluate(() => (document.createElement('canvas').getContext('webgl2') ? undefined : 'this Chromium gives no WebGL 2 context, even in software'));
    if (noWebgl) return;
    await page.context().addInitScript(PRETEND_GPU);
    // A fresh visit with the script in place (the app keeps nothing of the first one but its data folder).
    await page.goto(`${world.app.url}&testHooks=1`);
    await addHost(page, 'alpha', world.sshd[0]!);
  });

  afterAll(async () => {
    expect(world?.errors ?? []).toEqual([]);
    await world?.stop();
  });

  it('draws with WebGL, loses the context, and keeps showing what is typed with the DOM renderer', async (ctx) => {
    if (noWebgl) {
      console.warn(`skipping the WebGL fallback test: ${noWebgl}`);
      ctx.skip();
    }
    await connect(page, 'alpha');
    expect((await hook.panes(page))[0]!.renderer).toBe('webgl');
    expect(await pane(page).getAttribute('data-renderer')).toBe('webgl');
    // WebGL draws on a canvas; the DOM renderer's rows are not there.
    expect(await pane(page).locator('.xterm-screen canvas').count()).toBeGreaterThan(0);
    expect(await pane(page).locator('.xterm-rows').count()).toBe(0);

    await pane(page).locator('.xterm-screen').click();
    await page.keyboard.type('echo "before-$((20+1))"\n');
    await waitForText(page, /^before-21$/m);

    // What a GPU reset does to the page: every WebGL context of the terminal is lost for good.
    const lost = await pane(page).evaluate((el) => {
      let n = 0;
      for (const c of el.querySelectorAll('canvas')) {
        const gl = c.getContext('webgl2');
        const ext = gl?.getExtension('WEBGL_lose_context');
        if (ext) {
          ext.loseContext();
          n++;
        }
      }
      return n;
    });
    expect(lost).toBeGreaterThan(0);
    // xterm.js waits 3 s for the context to come back before it gives up on it.
    await until(async () => (await pane(page).getAttribute('data-renderer')) === 'dom', 15_000, 'the DOM renderer');
    expect((await hook.panes(page))[0]!.renderer).toBe('dom');

    // Still a working terminal: typing reaches the shell, and the DOM renderer draws the answer.
    await pane(page).locator('.xterm-screen').click();
    await page.keyboard.type('echo "after-$((40+2))"\n');
    await waitForText(page, /^after-42$/m);
    await until(async () => /after-42/.test((await pane(page).locator('.xterm-rows').textContent()) ?? ''), 10_000, 'the DOM renderer to draw the output');
    expect(await pane(page).locator('.xterm-rows').textContent()).toContain('before-21');
  });
});
