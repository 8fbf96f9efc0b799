import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';
import { sshdMissing, startSshd, type TestSshd } from './support/sshd';

const skip = chromiumMissing ?? sshdMissing;
if (skip) console.warn(`skipping the host key type test: ${skip}`);

describe.skipIf(!!skip)('a host that now offers another type of host key, in Chromium', () => {
  let sshd: TestSshd;
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;
  let knownLine: string;
  let knownFingerprint: string;
  const data = () => join(home, 'data');

  beforeAll(async () => {
    sshd = await startSshd();
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-hktype-'));
    mkdirSync(data());
    // Keyless knows this host by an ECDSA key; the server offers its Ed25519 key.
    const ecdsa = join(home, 'old_ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
    knownLine = `[127.0.0.1]:${sshd.port} ${readFileSync(ecdsa + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    knownFingerprint = execFileSync('ssh-keygen', ['-lf', ecdsa + '.pub']).toString().split(' ')[1]!;
    writeFileSync(join(data(), 'known_hosts'), knownLine);
    const host = { kind: 'ssh', id: 'two-keys', name: 'two keys', host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: { type: 'keyFile', path: sshd.clientKey } };
    writeFileSync(join(data(), 'hosts.json'), JSON.stringify({ version: 2, groups: [], hosts: [host], recents: [], smartGroups: [] }));
    app = await startWebApp({ KEYLESS_HOME: data(), HOME: home, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.url);
  });

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sshd?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('says so and shows the key on record; Enter (on Do not connect) refuses the new key and writes nothing', async () => {
    await page.getByTestId('host-row').getByTestId('connect').click();
    const prompt = page.getByTestId('prompt');
    await expect.poll(() => prompt.getAttribute('data-kind'), { timeout: 15_000 }).toBe('hostKeyTypeChanged');
    const text = (await prompt.textContent())!;
    expect(text).toContain('This host offers a different kind of host key');
    expect(text).toContain('ssh-ed25519');
    expect(await page.getByTestId('fingerprint').textContent()).toBe(sshd.hostFingerprint());
    expect(await page.getByTestId('known-host-keys').textContent()).toContain(`ecdsa-sha2-nistp256 key ${knownFingerprint} (${join(data(), 'known_hosts')}, line 1)`);
    expect(await seriousViolations(page, '[data-testid=prompt]')).toEqual([]);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('reject-host-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('tab-error').getAttribute('data-code'), { timeout: 10_000 }).toBe('HostKeyRejected');
    expect(readFileSync(join(data(), 'known_hosts'), 'utf8')).toBe(knownLine);
  });
});
