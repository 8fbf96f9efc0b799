import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostStore } from '../../electron/main/store/hosts';
import { DOCTOR_HOSTS, DOCTOR_REGION, doctorFleet } from '../sim/doctor-fleet';
import { startSimulator, type Simulator } from '../sim/index';
import { seriousViolations } from './support/axe';
import { launchChromium } from './support/browser';
import { ec2Skip } from './support/ec2-world';
import { startWebApp, type RunningHarness } from './support/harness';

if (ec2Skip) console.warn(`skipping the doctor browser test: ${ec2Skip}`);

// A saved host whose security group does not let the endpoint in: the connect fails, the doctor
// runs by itself, names the security group, the one-click change is confirmed, and the terminal opens.
describe.skipIf(ec2Skip)('the doctor in Chromium', () => {
  let work: string;
  let sim: Simulator;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyless-e2e-doctor-'));
    sim = await startSimulator({ fleet: doctorFleet(), regions: [DOCTOR_REGION] });
    const aws = await sim.writeAwsConfig(join(work, 'aws'), { sso: false, region: DOCTOR_REGION });
    const store = new HostStore(join(work, 'data'));
    const h = DOCTOR_HOSTS.instanceGroup;
    await store.saveHost({ kind: 'ec2', name: h.name, groupId: null, instanceId: h.id, region: DOCTOR_REGION, connectionType: 'eice' });
    const stopped = DOCTOR_HOSTS.stopped;
    await store.saveHost({ kind: 'ec2', name: stopped.name, groupId: null, instanceId: stopped.id, region: DOCTOR_REGION, connectionType: 'eice' });
    store.dispose();
    app = await startWebApp({
      KEYLESS_HOME: join(work, 'data'),
      HOME: work,
      SSH_AUTH_SOCK: '',
      AWS_CONFIG_FILE: aws.configFile,
      AWS_SHARED_CREDENTIALS_FILE: aws.credentialsFile,
      AWS_PROFILE: 'default',
      KEYLESS_CHECKIP_URL: `${sim.endpoint}/__checkip`,
    });
    chromium = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    await sim?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a failing connect shows the checklist, the security-group fix is confirmed, and the terminal opens', { timeout: 180_000 }, async () => {
    const page = await chromium.browser.newPage({ viewport: { width: 1300, height: 800 } });
    await page.goto(`${app.url}&testHooks=1`);
    await page.getByTestId('host-row').filter({ hasText: DOCTOR_HOSTS.instanceGroup.name }).getByTestId('connect').click();

    await page.getByTestId('tab-error').waitFor({ timeout: 60_000 });
    const doctor = page.getByTestId('doctor');
    const cause = doctor.getByTestId('doctor-cause');
    await expect.poll(() => cause.getAttribute('data-cause').catch(() => null), { timeout: 60_000 }).toBe('securityGroups');
    const lines = doctor.getByTestId('doctor-line');
    expect(await lines.evaluateAll((ls) => ls.map((l) => `${l.getAttribute('data-check')}:${l.getAttribute('data-status')}`))).toEqual([
      'credentials:passed',
      'iamPush:passed',
      'iamTunnel:passed',
      'instanceState:passed',
      'statusChecks:passed',
      'metadata:passed',
      'osUser:passed',
      'route:passed',
      'securityGroups:failed',
      'networkAcls:passed',
      'sshd:couldNotCheck',
      'load:passed',
    ]);
    const failed = doctor.locator('[data-testid=doctor-line][data-status=failed]');
    expect(await failed.textContent()).toMatch(/No inbound rule of sg-0d0c0000000000a02 allows TCP 22 from the endpoint's security groups/);
    await failed.getByTestId('doctor-show-fix').click();
    expect(await failed.getByTestId('doctor-cli').textContent()).toMatch(/^aws ec2 authorize-security-group-ingress .*--group-id sg-0d0c0000000000a02 .*UserIdGroupPairs=\[\{GroupId=sg-0/);
    expect(await seriousViolations(page, '[data-testid=doctor]')).toEqual([]);

    // By keyboard: the one-click change asks first, saying exactly what changes and who shares the group.
    await failed.getByTestId('doctor-apply').focus();
    await page.keyboard.press('Enter');
    const confirm = doctor.getByTestId('doctor-confirm');
    await confirm.waitFor();
    expect(await confirm.getByTestId('doctor-change').textContent()).toMatch(/Add an inbound rule to sg-0d0c0000000000a02: TCP port 22 from sg-0/);
    expect(await confirm.getByTestId('doctor-shared').textContent()).toMatch(/No other instance/);
    expect(await seriousViolations(page, '[data-testid=doctor-confirm]')).toEqual([]);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('doctor-confirm-apply');
    await page.keyboard.press('Enter');

    // The doctor runs again, finds nothing, and the tab connects.
    await expect.poll(() => page.evaluate(() => window.keylessTest.panes().map((p) => p.state).join(',')), { timeout: 90_000 }).toBe('connected');
    await page.close();
  });

  it('on demand from a host row: the sheet names a stopped instance and its fix, passes axe, and Escape closes it', { timeout: 120_000 }, async () => {
    const page = await chromium.browser.newPage({ viewport: { width: 1300, height: 800 } });
    await page.goto(`${app.url}&testHooks=1`);
    await page.getByTestId('host-row').filter({ hasText: DOCTOR_HOSTS.stopped.name }).getByTestId('host-menu').click();
    await page.getByTestId('host-doctor').click();
    const sheet = page.getByTestId('doctor-sheet');
    await expect.poll(() => sheet.getByTestId('doctor-cause').getAttribute('data-cause').catch(() => null), { timeout: 60_000 }).toBe('instanceState');
    const line = sheet.locator('[data-testid=doctor-line][data-check=instanceState]');
    expect(await line.textContent()).toMatch(/The instance is stopped: start it\./);
    await line.getByTestId('doctor-show-fix').click();
    expect(await line.getByTestId('doctor-cli').textContent()).toMatch(/^aws ec2 start-instances --region us-east-1 --instance-ids i-0d0c0000000000003$/);
    expect(await seriousViolations(page, '[data-testid=doctor-sheet]')).toEqual([]);
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
    await page.close();
  });
});

