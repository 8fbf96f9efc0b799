// The Audit view's search, end to end in Chromium against the AWS simulator: two profiles and two
// regions at once, the filters by person and OS user typed and ticked by keyboard, the review of
// the period, the CSV export, a host's own "Audit" button, and axe-core on all of it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, demoFleet, startSimulator, type Simulator } from '../sim/index';
import { seriousViolations } from './support/axe';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

const skip = chromiumMissing;
if (skip) console.warn(`skipping end-to-end audit search tests: ${skip}`);
const APP = 'i-0a1b2c3d4e5f00002';
const STAGING = 'i-0a1b2c3d4e5f00005';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM audit@e2e';
const OPERATOR = `arn:aws:iam::${ACCOUNT_ID}:user/operator`;

describe.skipIf(skip)('the Audit view’s search and review, end to end in Chromium', () => {
  let sim: Simulator;
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;
  let admin = '';

  beforeAll(async () => {
    sim = await startSimulator({ fleet: demoFleet(), noSshd: true });
    admin = sim.principals[0]!.arn;
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-audit-search-'));
    const files = await sim.writeAwsConfig(join(home, '.aws'));
    const data = join(home, 'data');
    mkdirSync(data);
    const group = { id: 'g1', name: 'prod', parentId: null, settings: { profile: 'operator', region: 'us-east-1', osUser: 'ec2-user' }, notes: '' };
    const hosts = [
      { kind: 'ec2', id: 'h1', name: 'app-1', groupId: 'g1', instanceId: APP, port: 22, portForwards: [], tags: [], notes: '', favourite: false },
      { kind: 'ec2', id: 'h2', name: 'staging-1', groupId: null, instanceId: STAGING, region: 'us-west-2', port: 22, portForwards: [], tags: [], notes: '', favourite: false },
    ];
    writeFileSync(join(data, 'hosts.json'), JSON.stringify({ version: 2, groups: [group], hosts, recents: [], smartGroups: [] }));
    const pushAs = async (profile: string, region: string, instanceId: string, osUser: string) => {
      const who = sim.principals.find((p) => p.profile === profile)!;
      const client = new EC2InstanceConnectClient({ region, endpoint: sim.endpoint, credentials: who });
      await client.send(new SendSSHPublicKeyCommand({ InstanceId: instanceId, InstanceOSUser: osUser, SSHPublicKey: KEY })).catch(() => undefined);
      client.destroy();
    };
    await pushAs('operator', 'us-east-1', APP, 'ec2-user');
    await pushAs('operator', 'us-east-1', APP, 'ubuntu'); // refused: the operator is denied ubuntu
    await pushAs('default', 'us-east-1', APP, 'root');
    await pushAs('default', 'us-west-2', STAGING, 'ec2-user');
    app = await startWebApp({ KEYLESS_HOME: data, HOME: home, AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile, AWS_PROFILE: '', AWS_REGION: '', SSH_AUTH_SOCK: '' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    await page.goto(app.url);
  }, 60_000);

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sim?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const rows = () => page.getByTestId('audit-trail-row');
  const rowUsers = () => rows().evaluateAll((els) => els.map((e) => [e.getAttribute('data-user'), e.getAttribute('data-os-user'), e.getAttribute('data-region'), e.getAttribute('data-outcome')]));

  it('searches two profiles and two regions at once by keyboard, each event once, then filters by person and by OS user exactly', async () => {
    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-view').waitFor();
    const operatorBox = page.locator('[data-testid="audit-profile"][data-profile="operator"]');
    await operatorBox.waitFor();
    await operatorBox.focus();
    await page.keyboard.press('Space');
    expect(await operatorBox.isChecked()).toBe(true);
    expect(await page.locator('[data-testid="audit-profile"][data-profile="default"]').isChecked()).toBe(true);
    await page.getByTestId('audit-region').fill('us-east-1, us-west-2');
    await page.getByTestId('audit-region').press('Enter');
    await expect.poll(() => rows().count()).toBe(4);
    expect(await rowUsers()).toEqual([
      [admin, 'ec2-user', 'us-west-2', 'allowed'],
      [admin, 'root', 'us-east-1', 'allowed'],
      [OPERATOR, 'ubuntu', 'us-east-1', 'denied'],
      [OPERATOR, 'ec2-user', 'us-east-1', 'allowed'],
    ]);
    // Person: the whole ARN, typed, Enter to search.
    await page.getByTestId('audit-person').fill(OPERATOR);
    await page.getByTestId('audit-person').press('Enter');
    await expect.poll(() => rows().count()).toBe(2);
    expect((await rowUsers()).map((r) => r[0])).toEqual([OPERATOR, OPERATOR]);
    // Person and OS user together; then who pushed keys for root.
    await page.getByTestId('audit-osuser').fill('ubuntu');
    await page.getByTestId('audit-osuser').press('Enter');
    await expect.poll(() => rows().count()).toBe(1);
    await page.getByTestId('audit-person').fill('');
    await page.getByTestId('audit-osuser').fill('root');
    await page.getByTestId('audit-osuser').press('Enter');
    await expect.poll(async () => JSON.stringify(await rowUsers())).toBe(JSON.stringify([[admin, 'root', 'us-east-1', 'allowed']]));
    expect(await seriousViolations(page, '[data-testid="audit-view"]')).toEqual([]);
  }, 60_000);

  it('reviews the period: totals, refused attempts and root use, per person and per host; refused only by keyboard', async () => {
    await page.getByTestId('audit-osuser').fill('');
    await page.getByTestId('audit-load').click();
    await expect.poll(() => rows().count()).toBe(4);
    const totals = page.getByTestId('audit-review-totals');
    expect([await totals.getAttribute('data-total'), await totals.getAttribute('data-refused'), await totals.getAttribute('data-root')]).toEqual(['4', '1', '1']);
    expect(await totals.textContent()).toContain('4 events: 3 allowed, 1 refused, 1 for root.');
    const people = await page.getByTestId('audit-review-person').evaluateAll((els) => els.map((e) => [e.getAttribute('data-user'), e.getAttribute('data-total'), e.getAttribute('data-refused'), e.getAttribute('data-root')]));
    expect(people).toEqual([
      [OPERATOR, '2', '1', '0'],
      [admin, '2', '0', '1'],
    ].sort((a, b) => a[0]!.localeCompare(b[0]!)));
    const hosts = await page.getByTestId('audit-review-host').evaluateAll((els) => els.map((e) => [e.getAttribute('data-host'), e.getAttribute('data-total')]));
    expect(hosts).toEqual([
      [APP, '3'],
      [STAGING, '1'],
    ]);
    await page.getByTestId('audit-refused').focus();
    await page.keyboard.press('Space');
    await page.getByTestId('audit-load').press('Enter');
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().getAttribute('data-outcome')).toBe('denied');
    expect(await seriousViolations(page, '[data-testid="audit-view"]')).toEqual([]);
    await page.getByTestId('audit-refused').uncheck();
  }, 60_000);

  it('exports the events shown as CSV', async () => {
    await page.getByTestId('audit-load').click();
    await expect.poll(() => rows().count()).toBe(4);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^keyless-audit-[\d-]+T[\d-]+\.csv$/);
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text.split('\r\n');
    expect(lines[0]!.startsWith('Time (UTC),Event,Region,Profile,Person (ARN),')).toBe(true);
    expect(lines).toHaveLength(6); // header, four events, the last line end
    expect(lines.filter((l) => l.includes(',refused,AccessDeniedException,'))).toHaveLength(1);
  });

  it('opens a host’s events from its row in the host list: who reached app-1', async () => {
    await page.getByTestId('view-terminals').click();
    await page.locator('[data-testid="host-row"][data-host-id="h1"] [data-testid="host-menu"]').click();
    await page.getByTestId('host-audit').click();
    await page.getByTestId('audit-view').waitFor();
    await page.getByTestId('audit-host-applied').waitFor();
    expect(await page.getByTestId('audit-host').inputValue()).toBe('h1');
    await expect.poll(() => rows().count()).toBe(3);
    expect((await rowUsers()).map((r) => r[1])).toEqual(['root', 'ubuntu', 'ec2-user']);
    expect(await page.getByTestId('audit-host-applied').textContent()).toContain(APP);
    expect(await seriousViolations(page, '[data-testid="audit-view"]')).toEqual([]);
  }, 60_000);
});
