import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';
import { sshdMissing, startSshd, type TestSshd } from './support/sshd';

const skip = chromiumMissing ?? sshdMissing;
if (skip) console.warn(`skipping end-to-end host tests: ${skip}`);
const ARTIFACTS = join(process.cwd(), 'tests', 'artifacts');

/** Answers host-key questions (trusting the test sshd) until every tab is connected. */
async function connectedTabs(page: Page, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await page.getByTestId('tab').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    if (states.length === count && states.every((s) => s === 'connected')) return;
    if (Date.now() > deadline) throw new Error(`tabs did not connect: ${states.join(', ')}`);
    const trust = page.getByTestId('trust-host-key');
    if (await trust.isVisible()) await trust.click();
    else await page.waitForTimeout(100);
  }
}

describe.skipIf(skip)('saved hosts and groups, end to end in Chromium', () => {
  let sshd: TestSshd;
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;
  const data = () => join(home, 'data');
  const stored = () => JSON.parse(readFileSync(join(data(), 'hosts.json'), 'utf8'));

  beforeAll(async () => {
    sshd = await startSshd();
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-hosts-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'config'), `Host imported-box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKey}\n\nHost *\n  ServerAliveInterval 30\n`);
    app = await startWebApp({ KEYLESS_HOME: data(), HOME: home, SSH_AUTH_SOCK: '' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(app.url);
  });

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sshd?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('a new user sees what to do first', async () => {
    const empty = page.getByTestId('hosts-empty');
    await empty.waitFor();
    expect(await empty.textContent()).toContain('Import ~/.ssh/config');
  });

  it('creates a group whose OS user its hosts inherit, with the editor saying where the value comes from', async () => {
    await page.getByTestId('add-group').click();
    const form = page.getByTestId('group-editor');
    await form.locator('input[name=groupName]').fill('Fleet');
    await form.locator('input[name=osUser]').fill(sshd.user);
    await page.getByTestId('save-group').click();
    await page.getByTestId('group').filter({ hasText: 'Fleet' }).waitFor();

    // A host without a user is refused inline until it is in a group that gives one.
    await page.getByTestId('add-host').click();
    const editor = page.getByTestId('host-editor');
    await editor.locator('input[name=name]').fill('beta');
    await editor.locator('input[name=host]').fill('127.0.0.1');
    await editor.locator('input[name=port]').fill('70000');
    expect(await page.getByTestId('field-error-port').textContent()).toBe('A port is a whole number from 1 to 65535.');
    await editor.locator('input[name=port]').fill(String(sshd.port));
    await editor.locator('input[name=keyPath]').fill(sshd.clientKey);
    await page.getByTestId('save-host').click();
    expect(await page.getByTestId('field-error-user').textContent()).toBe('Set a user here, or an OS user on its group.');
    expect(await page.getByTestId('origin-user').textContent()).toBe('not set');
    await editor.locator('select[name=group]').selectOption({ label: 'Fleet' });
    expect(await page.getByTestId('origin-user').textContent()).toBe(`${sshd.user} from group Fleet`);
    expect(await editor.locator('input[name=user]').getAttribute('placeholder')).toBe(sshd.user);
    await page.getByTestId('save-host').click();
    await expect.poll(() => page.getByTestId('host-editor').count()).toBe(0);

    // An EC2 instance id is checked as it is typed.
    await page.getByTestId('add-host').click();
    await page.getByTestId('host-editor').getByText('EC2 instance').click();
    await page.getByTestId('host-editor').locator('input[name=instanceId]').fill('i-12');
    expect(await page.getByTestId('field-error-instanceId').textContent()).toContain('i- followed by 8 to 17 hex digits');
    // EICE reaches ports 22 and 3389 only; a profile missing from the AWS config is pointed out.
    const ec2 = page.getByTestId('host-editor');
    await ec2.locator('select[name=connectionType]').selectOption('eice');
    await ec2.locator('input[name=port]').fill('2222');
    expect(await page.getByTestId('field-error-port').textContent()).toContain('ports 22 and 3389 only');
    expect(await ec2.getByTestId('origin-osUser').textContent()).toBe('ec2-user by default');
    await ec2.locator('input[name=profile]').fill('nosuchprofile');
    expect(await page.getByTestId('profile-unknown').textContent()).toContain('The AWS profile nosuchprofile is not in your AWS config');
    await page.getByTestId('host-editor').getByText('Cancel').click();

    // A second host, at the top level, with its own user.
    await page.getByTestId('add-host').click();
    await editor.locator('input[name=name]').fill('alpha');
    await editor.locator('input[name=host]').fill('127.0.0.1');
    await editor.locator('input[name=port]').fill(String(sshd.port));
    await editor.locator('input[name=user]').fill(sshd.user);
    await editor.locator('input[name=keyPath]').fill(sshd.clientKey);
    await page.getByTestId('save-host').click();
    await expect.poll(() => page.getByTestId('host-row').count()).toBe(2);
  });

  it('drags a host into the group', async () => {
    const fleet = page.getByTestId('group').filter({ hasText: 'Fleet' });
    await page.getByTestId('host-row').filter({ hasText: 'alpha' }).dragTo(fleet.getByTestId('group-head'));
    // The tree is one flat list (windowed): a group's hosts are the rows that name it.
    const fleetId = await fleet.getAttribute('data-group-id');
    await expect.poll(() => page.locator(`[data-testid=host-row][data-group-id="${fleetId}"]`).count()).toBe(2);
    const doc = stored();
    const group = doc.groups.find((g: { name: string }) => g.name === 'Fleet');
    expect(group.settings).toEqual({ osUser: sshd.user });
    expect(doc.hosts.map((h: { groupId: string }) => h.groupId)).toEqual([group.id, group.id]);
    expect(doc.hosts.find((h: { name: string }) => h.name === 'beta').user).toBeUndefined();
  });

  it('connects to every selected host, each in its own tab, beta with the user it inherits', async () => {
    // Click selects one row, Ctrl+click adds another.
    await page.getByTestId('host-row').nth(0).getByTestId('host-name').click();
    await page.getByTestId('host-row').nth(1).getByTestId('host-name').click({ modifiers: ['Control'] });
    expect(await page.getByTestId('selection-bar').textContent()).toContain('2 selected');
    await page.getByTestId('connect-selected').click();
    await connectedTabs(page, 2);
    expect(await page.getByTestId('tab').allTextContents()).toEqual([expect.stringContaining('alpha'), expect.stringContaining('beta')]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'hosts-group-connected.png') });
  });

  it('quick-connects by typing part of a name', async () => {
    await page.keyboard.press('Control+k');
    const input = page.getByTestId('quick-connect-input');
    await input.waitFor();
    // Both were just used, so both are offered as recents before anything is typed.
    expect(await page.getByTestId('quick-connect-item').count()).toBe(2);
    await input.fill('bta');
    await expect.poll(() => page.getByTestId('quick-connect-item').allTextContents()).toEqual([expect.stringContaining('beta')]);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('quick-connect').count()).toBe(0);
    await connectedTabs(page, 3);
    expect(await page.getByTestId('tab').nth(2).textContent()).toContain('beta');
    expect(stored().recents[0].hostId).toBe(stored().hosts.find((h: { name: string }) => h.name === 'beta').id);
  });

  it('connects to the selected hosts with broadcast input on for exactly those new terminals', async () => {
    // Shift+click takes the range from the row clicked before.
    await page.getByTestId('host-row').nth(0).getByTestId('host-name').click();
    await page.getByTestId('host-row').nth(1).getByTestId('host-name').click({ modifiers: ['Shift'] });
    expect(await page.getByTestId('selection-bar').textContent()).toContain('2 selected');
    await page.getByTestId('connect-broadcast').click();
    await connectedTabs(page, 5);
    await expect.poll(() => page.getByTestId('broadcast-banner').textContent()).toContain('2 terminals');
    // The two new tabs receive input; the three opened before do not.
    const receives: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      await page.getByTestId('tab').nth(i).getByRole('tab').click();
      receives.push(await page.locator('[data-testid=terminal-pane][data-active=true]:visible [data-testid=broadcast-target] input').isChecked());
    }
    expect(receives).toEqual([false, false, false, true, true]);
    await page.getByTestId('broadcast-stop').click();
  });

  it('imports ~/.ssh/config, reporting the wildcard it skipped, and importing again adds nothing', async () => {
    await page.getByTestId('import-ssh-config').click();
    const report = page.getByTestId('import-report');
    await expect.poll(() => report.textContent()).toContain('1 hosts added, 0 updated, 1 entries skipped');
    await page.getByTestId('import-ssh-config').click();
    await expect.poll(() => report.textContent()).toContain('0 hosts added, 0 updated, 1 entries skipped');
    const importedId = await page.getByTestId('group').filter({ hasText: '~/.ssh/config' }).getAttribute('data-group-id');
    await page.locator(`[data-testid=host-row][data-group-id="${importedId}"]`).filter({ hasText: 'imported-box' }).waitFor();
  });

  it('exports the selected hosts as a JSON file that carries no key', async () => {
    await page.getByTestId('host-row').nth(0).getByTestId('host-name').click();
    await page.getByTestId('host-row').nth(1).getByTestId('host-name').click({ modifiers: ['Shift'] });
    const names = await page.getByTestId('host-row').evaluateAll((rows) => rows.slice(0, 2).map((r) => r.querySelector('[data-testid=host-name]')!.textContent!.trim()));
    const button = page.getByTestId('export-json');
    expect(await button.textContent()).toContain('Export selected');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toBe('keyless-hosts.json');
    const text = readFileSync((await download.path())!, 'utf8');
    const doc = JSON.parse(text);
    expect(doc.format).toBe('keyless-hosts');
    expect(doc.hosts.map((h: { name: string }) => h.name).sort()).toEqual([...names].sort());
    expect(text).not.toMatch(/PRIVATE KEY/);
  });

  it('an edit made to hosts.json outside the app shows up, and a broken file is left alone and can be restored', async () => {
    const doc = stored();
    doc.hosts.find((h: { name: string }) => h.name === 'alpha').name = 'alpha (edited by hand)';
    writeFileSync(join(data(), 'hosts.json'), JSON.stringify(doc, null, 2));
    await page.getByTestId('host-row').filter({ hasText: 'alpha (edited by hand)' }).waitFor();

    const broken = '{"version": 2, "hosts": [ {"kind": "ssh",';
    writeFileSync(join(data(), 'hosts.json'), broken);
    const banner = page.getByTestId('store-corrupt');
    await banner.waitFor();
    expect(await banner.textContent()).toContain(join(data(), 'hosts.json'));
    expect(await banner.textContent()).toContain('line 1, column');
    expect(readFileSync(join(data(), 'hosts.json'), 'utf8')).toBe(broken);
    await page.getByTestId('restore-backup').click();
    await page.getByTestId('store-restored').waitFor();
    await expect.poll(() => page.getByTestId('host-row').count()).toBeGreaterThanOrEqual(2);
  });
});
