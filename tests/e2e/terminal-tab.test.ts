import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';
import { sshdMissing, startSshd, type TestSshd } from './support/sshd';
import './terminal-support';

const skip = chromiumMissing ?? sshdMissing;
if (skip) console.warn(`skipping end-to-end terminal tests: ${skip}`);
const ARTIFACTS = join(process.cwd(), 'tests', 'artifacts');

/** What the focused terminal holds, row by row, read through xterm.js's buffer (whichever renderer draws it). */
async function screenText(page: Page): Promise<string> {
  return page.evaluate(() => window.keylessTest.text());
}

function sessionsOf(sshdPid: number): number {
  try {
    return execFileSync('pgrep', ['-P', String(sshdPid)]).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe.skipIf(skip)('a plain SSH host in a terminal tab, end to end in Chromium', () => {
  let sshd: TestSshd;
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;

  beforeAll(async () => {
    sshd = await startSshd();
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-home-'));
    app = await startWebApp({ KEYLESS_HOME: join(home, 'data'), HOME: home, SSH_AUTH_SOCK: '' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1200, height: 760 } });
    await page.goto(`${app.url}&testHooks=1`);
  });

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sshd?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('adds a host, trusts its key, runs a command and follows a resize', async () => {
    await page.getByText('No saved hosts yet').waitFor();
    await page.getByTestId('add-host').click();
    const form = page.getByTestId('host-editor');
    await form.locator('input[name=name]').fill('e2e box');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(String(sshd.port));
    await form.locator('input[name=user]').fill(sshd.user);
    await form.locator('input[name=keyPath]').fill(sshd.clientKey);
    await page.getByTestId('save-host').click();
    await expect.poll(() => page.getByTestId('host-row').count()).toBe(1);

    // Whoever moves to "Trust" the moment the question shows (before its next frame) stays there:
    // the question's own focus on its safe answer, due a frame later, does not take it back.
    const movedAtOnce = page.evaluate(
      () =>
        new Promise<string | undefined>((resolve) => {
          const seen = new MutationObserver(() => {
            const trust = document.querySelector<HTMLElement>('[data-testid=trust-host-key]');
            if (!trust) return;
            seen.disconnect();
            trust.focus();
            requestAnimationFrame(() => requestAnimationFrame(() => resolve((document.activeElement as HTMLElement | null)?.dataset['testid'])));
          });
          seen.observe(document.body, { childList: true, subtree: true });
        }),
    );
    await page.getByTestId('connect').click();
    const prompt = page.getByTestId('prompt');
    await expect.poll(() => prompt.getAttribute('data-kind')).toBe('hostKeyUnknown');
    const expected = sshd.hostFingerprint();
    expect(await page.getByTestId('fingerprint').textContent()).toBe(expected);
    expect(await movedAtOnce).toBe('trust-host-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('tab').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    // The accepted key is now in Keyless's own known_hosts, in OpenSSH format.
    expect(readFileSync(join(home, 'data', 'known_hosts'), 'utf8')).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);

    await page.locator('[data-testid=terminal-pane][data-active=true] .xterm').click();
    await page.keyboard.type('echo hello-$RANDOM\n');
    await expect.poll(async () => /^hello-\d+\s*$/m.test(await screenText(page)), { timeout: 10_000 }).toBe(true);

    // The remote PTY follows the terminal's size, before and after the window shrinks.
    const pane = page.locator('[data-testid=terminal-pane][data-active=true]');
    const ptySize = async () => `${await pane.getAttribute('data-rows')} ${await pane.getAttribute('data-cols')}`;
    await page.keyboard.type('stty size\n');
    const first = await ptySize();
    await expect.poll(async () => new RegExp(`^${first}\\s*$`, 'm').test(await screenText(page)), { timeout: 10_000 }).toBe(true);
    await page.setViewportSize({ width: 900, height: 560 });
    await expect.poll(ptySize).not.toBe(first);
    const second = await ptySize();
    await page.keyboard.type('clear; stty size\n');
    await expect.poll(async () => new RegExp(`^${second}\\s*$`, 'm').test(await screenText(page)), { timeout: 10_000 }).toBe(true);
    await page.keyboard.type('echo "Keyless: no key was stored to open this shell"; uname -sr\n');
    await expect.poll(async () => (await screenText(page)).includes('Linux'), { timeout: 10_000 }).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'terminal-connected.png') });
  });

  it('closing the tab closes the SSH session on the server', async () => {
    expect(sessionsOf(sshd.pid)).toBeGreaterThan(0);
    await page.getByTestId('close-tab').click();
    await expect.poll(() => page.getByTestId('tab').count()).toBe(0);
    await expect.poll(() => sessionsOf(sshd.pid), { timeout: 10_000 }).toBe(0);
  });

  it('shows a refused connection in words a person can act on', async () => {
    await page.getByTestId('add-host').click();
    const form = page.getByTestId('host-editor');
    await form.locator('input[name=name]').fill('closed port');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill('1');
    await form.locator('input[name=user]').fill(sshd.user);
    await form.locator('input[name=keyPath]').fill(sshd.clientKey);
    await page.getByTestId('save-host').click();
    await page.getByTestId('host-row').filter({ hasText: 'closed port' }).getByTestId('connect').click();
    const error = page.getByTestId('tab-error');
    await expect.poll(() => error.getAttribute('data-code'), { timeout: 10_000 }).toBe('ConnectionRefused');
    expect(await error.textContent()).toContain('Nothing accepts SSH connections on 127.0.0.1 port 1');
    // A card: what happened as its title, the words with why and what to do under it.
    expect(await error.getByRole('heading').textContent()).toBe('Could not reach the host');
  });
});
