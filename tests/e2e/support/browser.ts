import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.KEYLESS_CHROMIUM ?? '/usr/bin/chromium';
/** Headless, no sandbox (root in CI), no GPU, and nothing that reaches the network on its own. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;
export const chromiumMissing = existsSync(CHROMIUM) ? undefined : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;

/**
 * Debian's Chromium, headless, with nothing that reaches the network. Playwright gives every
 * launch a fresh, temporary --user-data-dir of its own and removes it on close.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_FLAGS],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
