// Profiles of every kind and the inventory's failure marks, in Chromium against the simulator:
// a wrong MFA code (prompt kept, says so), a web identity profile, credentials about to expire,
// and an inventory across an opt-in region not enabled, a region throttled beyond retries, a
// denied profile and expired credentials — each marked with its reason, the rest still loaded.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, type InstanceSpec } from '../sim/index';
import { ROLE, startAwsWorld, writeCredentialProcess, writeWebIdentityToken, type AwsWorld } from '../integration/profiles/aws-world';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

describe.skipIf(!!chromiumMissing)('profile kinds and per-scope inventory failures in Chromium, against the simulator', () => {
  let world: AwsWorld;
  let app: RunningHarness;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const instances: InstanceSpec[] = [
      ...[1, 2, 3].map((k) => ({ region: 'us-east-1', subnetId: 'subnet-0000000000000f001', tags: { Name: `east-${k}` } })),
      ...[1, 2].map((k) => ({ region: 'us-west-2', subnetId: 'subnet-0000000000000f002', tags: { Name: `west-${k}` } })),
    ];
    world = await startAwsWorld({
      regions: ['us-east-1', 'us-west-2'],
      // An opt-in region (Bahrain) this account never enabled.
      disabledRegions: ['me-south-1'],
      fleet: {
        vpcs: [
          { id: 'vpc-0000000000000f001', region: 'us-east-1', cidr: '10.0.0.0/16', subnets: [{ id: 'subnet-0000000000000f001', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/24' }] },
          { id: 'vpc-0000000000000f002', region: 'us-west-2', cidr: '10.1.0.0/16', subnets: [{ id: 'subnet-0000000000000f002', availabilityZone: 'us-west-2a', cidr: '10.1.0.0/24' }] },
        ],
        instances,
      },
    });
    const e = world.sim.endpoint;
    await world.addConfig(`[profile mfa]
role_arn = ${ROLE('MfaRole')}
source_profile = default
mfa_serial = arn:aws:iam::${ACCOUNT_ID}:mfa/sim-admin
region = us-east-1
endpoint_url = ${e}

[profile web]
role_arn = ${ROLE('WebRole')}
web_identity_token_file = ${await writeWebIdentityToken(world, 'web')}
role_session_name = keyless-e2e
region = us-west-2
endpoint_url = ${e}

[profile soon]
credential_process = ${await writeCredentialProcess(world, { name: 'soon', ttlMs: 10 * 60_000 })}
region = us-east-1
endpoint_url = ${e}

[profile partner-wrong]
role_arn = ${ROLE('PartnerRole')}
source_profile = default
external_id = not-the-partner-ext
region = us-east-1
endpoint_url = ${e}`);
    await world.addExpiredProfile('stale');
    const data = join(world.dir, 'keyless');
    mkdirSync(data, { recursive: true });
    app = await startWebApp({ ...world.env, KEYLESS_HOME: data, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(app.url);
  });
  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    await world?.stop();
  });

  const row = (profile: string) => page.locator(`[data-testid=profile-row][data-profile="${profile}"]`);

  it('a wrong MFA code: the prompt comes back saying the code was wrong, and the right one then works', async () => {
    await page.getByTestId('view-profiles').click();
    await row('mfa').waitFor();
    await row('mfa').getByTestId('profile-check').click();
    const dialog = page.locator('[data-testid=prompt][data-kind=mfa]');
    await dialog.waitFor();
    expect(await dialog.textContent()).not.toContain('Wrong MFA code');
    await page.getByTestId('mfa-code').fill('000000');
    await dialog.locator('button[type=submit]').click();
    // STS refused it (MultiFactorAuthentication failed…): asked again, with the reason.
    await dialog.filter({ hasText: 'Wrong MFA code: AWS did not accept it. Enter the current code and try again.' }).waitFor();
    await page.getByTestId('mfa-code').fill('123456');
    await dialog.locator('button[type=submit]').click();
    await row('mfa').and(page.locator('[data-state=valid]')).waitFor();
    expect(await row('mfa').getByTestId('profile-arn').textContent()).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/MfaRole/`));
    expect(await dialog.count()).toBe(0);
  });

  it('web identity, expiring, expired and refused profiles each show their account, ARN and status', async () => {
    for (const p of ['web', 'soon', 'stale', 'partner-wrong']) await row(p).getByTestId('profile-check').click();
    await row('web').and(page.locator('[data-state=valid]')).waitFor();
    expect(await row('web').getByTestId('profile-account').textContent()).toBe(ACCOUNT_ID);
    expect(await row('web').getByTestId('profile-arn').textContent()).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/WebRole/keyless-e2e`);
    expect(await row('web').textContent()).toContain('Web identity');

    await row('soon').and(page.locator('[data-state=expiring]')).waitFor();
    expect(await row('soon').getByTestId('profile-state').textContent()).toBe('Expiring soon');
    expect(await row('soon').textContent()).toMatch(/expires in (9|10) min/);

    await row('stale').and(page.locator('[data-state=expired]')).waitFor();
    expect(await row('stale').getByTestId('profile-error').textContent()).toContain('have expired. Sign in again.');

    await row('partner-wrong').and(page.locator('[data-state=error]')).waitFor();
    const refused = row('partner-wrong').getByTestId('profile-error');
    expect(await refused.getAttribute('data-code')).toBe('AwsAccessDenied');
    // Worded from the denial's code and parameters (the action and the role), not AWS's English sentence.
    expect(await refused.textContent()).toContain(`AWS refused the role of profile partner-wrong (sts:AssumeRole on ${ROLE('PartnerRole')})`);
    expect(errors).toEqual([]);
  });

  it('web identity from the environment alone (as on EKS): listed as the default profile, from environment variables, and checked', async () => {
    const env = {
      ...world.env,
      KEYLESS_HOME: join(world.dir, 'keyless-env'),
      SSH_AUTH_SOCK: '',
      LANG: 'en_US.UTF-8',
      AWS_PROFILE: 'pod',
      AWS_WEB_IDENTITY_TOKEN_FILE: await writeWebIdentityToken(world, 'pod', { subject: 'system:serviceaccount:ops:pod' }),
      AWS_ROLE_ARN: ROLE('WebRole'),
      AWS_ROLE_SESSION_NAME: 'pod-session',
      AWS_ENDPOINT_URL_STS: world.sim.endpoint,
    };
    mkdirSync(env.KEYLESS_HOME, { recursive: true });
    const second = await startWebApp(env);
    const tab = await chromium.browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await tab.goto(second.url);
      await tab.getByTestId('view-profiles').click();
      const pod = tab.locator('[data-testid=profile-row][data-profile="pod"]');
      await pod.waitFor();
      expect(await pod.getByTestId('profile-from-env').textContent()).toBe('from environment variables');
      expect(await pod.textContent()).toContain('Web identity');
      await pod.getByTestId('profile-check').click();
      await pod.and(tab.locator('[data-state=valid]')).waitFor();
      expect(await pod.getByTestId('profile-arn').textContent()).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/WebRole/pod-session`);
      // A profile from the files is not marked so.
      expect(await tab.locator('[data-testid=profile-row][data-profile="web"]').getByTestId('profile-from-env').count()).toBe(0);
    } finally {
      await tab.close();
      await second.stop();
    }
  });

  it('inventory: a region not enabled, a region throttled beyond retries, a denied profile and expired credentials are each marked with their reason; the rest loads', async () => {
    await page.getByTestId('view-inventory').click();
    await page.getByTestId('inventory-profiles').click();
    for (const p of ['nobody', 'stale']) await page.locator(`[data-testid=inventory-profile][data-profile="${p}"]`).check();
    await page.getByTestId('inventory-profiles').click();
    await page.getByTestId('inventory-regions').fill('us-east-1, us-west-2, me-south-1');
    // us-west-2 answers RequestLimitExceeded to every DescribeInstances, through every retry.
    world.sim.admin.setThrottle('DescribeInstances', 1, 'us-west-2');
    try {
      await page.getByTestId('inventory-refresh').click();
      await page.getByTestId('inventory-count').filter({ hasText: '3 of 3 instances' }).waitFor({ timeout: 90_000 });
      await page.getByTestId('inventory-refresh').waitFor({ timeout: 90_000 });
    } finally {
      world.sim.admin.resetFaults();
    }
    const marks = await page.getByTestId('inventory-failure').evaluateAll((els) =>
      Object.fromEntries(els.map((e) => [`${e.getAttribute('data-profile')}/${e.getAttribute('data-region')}`, e.getAttribute('data-code')])),
    );
    expect(marks).toMatchObject({
      'default/me-south-1': 'AwsRegionDisabled',
      'default/us-west-2': 'AwsThrottled',
      'nobody/me-south-1': 'AwsRegionDisabled',
      'nobody/us-east-1': 'AwsAccessDenied',
      'nobody/us-west-2': 'AwsThrottled',
      'stale/us-east-1': 'AwsCredentialsExpired',
      'stale/us-west-2': 'AwsCredentialsExpired',
    });
    const text = (scope: string) => page.locator(`[data-testid=inventory-failure][data-profile="${scope.split('/')[0]}"][data-region="${scope.split('/')[1]}"]`).textContent();
    // An expired session in a region that is not enabled: AWS says only AuthFailure there, and the
    // profile works nowhere else, so the credentials (not the region) are named, as AWS words it.
    expect(marks['stale/me-south-1']).toBe('AwsCredentialsMissing');
    expect(await text('stale/me-south-1')).toContain('The AWS credentials of profile stale were not found, or AWS did not accept them.');
    expect(Object.keys(marks)).toHaveLength(8);
    expect(await text('default/me-south-1')).toContain('The region me-south-1 is not enabled for the account of default.');
    expect(await text('default/us-west-2')).toContain('AWS is throttling requests.');
    expect(await text('nobody/us-east-1')).toContain('Your IAM policy does not allow ec2:DescribeInstances on * (profile nobody).');
    expect(await text('stale/us-east-1')).toContain('have expired. Sign in again.');
    // The one scope that worked is all there.
    const names = await page.getByTestId('inventory-row').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    for (const n of ['east-1', 'east-2', 'east-3']) expect(names.some((t) => t.includes(n))).toBe(true);
    expect(names.some((t) => t.includes('west-'))).toBe(false);
    expect(errors).toEqual([]);
  });
});
