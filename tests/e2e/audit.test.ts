import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet, startSimulator, type Simulator } from '../sim/index';
import { chromiumMissing, launchChromium } from './support/browser';
import { startWebApp, type RunningHarness } from './support/harness';

const skip = chromiumMissing;
if (skip) console.warn(`skipping end-to-end audit tests: ${skip}`);
const INSTANCE = 'i-0a1b2c3d4e5f00002';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM audit@e2e';

describe.skipIf(skip)('the Audit view and the access policy, end to end in Chromium', () => {
  let sim: Simulator;
  let app: RunningHarness;
  let home: string;
  let close: () => Promise<void>;
  let page: Page;

  beforeAll(async () => {
    sim = await startSimulator({ fleet: demoFleet(), noSshd: true });
    home = mkdtempSync(join(tmpdir(), 'keyless-e2e-audit-'));
    const files = await sim.writeAwsConfig(join(home, '.aws'));
    const data = join(home, 'data');
    mkdirSync(data);
    const host = { kind: 'ec2', id: 'h1', name: 'app-1', groupId: 'g1', instanceId: INSTANCE, port: 22, portForwards: [], tags: [], notes: '', favourite: false };
    const group = { id: 'g1', name: 'prod', parentId: null, settings: { profile: 'operator', region: 'us-east-1', osUser: 'ec2-user' }, notes: '' };
    writeFileSync(join(data, 'hosts.json'), JSON.stringify({ version: 2, groups: [group], hosts: [host], recents: [], smartGroups: [] }));
    // The operator may push keys as ec2-user, and is explicitly denied ubuntu.
    const operator = sim.principals.find((p) => p.profile === 'operator')!;
    const client = new EC2InstanceConnectClient({ region: 'us-east-1', endpoint: sim.endpoint, credentials: operator });
    await client.send(new SendSSHPublicKeyCommand({ InstanceId: INSTANCE, InstanceOSUser: 'ec2-user', SSHPublicKey: KEY }));
    await client.send(new SendSSHPublicKeyCommand({ InstanceId: INSTANCE, InstanceOSUser: 'ubuntu', SSHPublicKey: KEY })).catch(() => undefined);
    client.destroy();
    app = await startWebApp({ KEYLESS_HOME: data, HOME: home, AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile, AWS_PROFILE: '', AWS_REGION: '', SSH_AUTH_SOCK: '' });
    const chromium = await launchChromium();
    close = chromium.close;
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(app.url);
  }, 60_000);

  afterAll(async () => {
    await close?.();
    await app?.stop();
    await sim?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('lists the allowed and the denied key push from CloudTrail', async () => {
    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-view').waitFor();
    // The default profile is ticked first; the operator's would read the same account's trail.
    await page.locator('[data-testid="audit-profile"][data-profile="default"]').check();
    await page.locator('[data-testid="audit-profile"][data-profile="operator"]').uncheck();
    await page.getByTestId('audit-region').fill('us-east-1');
    await page.getByTestId('audit-load').click();
    const rows = page.getByTestId('audit-trail-row');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    const denied = page.locator('[data-testid="audit-trail-row"][data-outcome="denied"]');
    expect(await denied.textContent()).toContain('ubuntu');
    expect(await denied.textContent()).toContain('AccessDeniedException');
    expect(await denied.textContent()).toContain('user/operator');
    const allowed = page.locator('[data-testid="audit-trail-row"][data-outcome="allowed"]');
    expect(await allowed.textContent()).toContain('ec2-user');
    expect(await allowed.textContent()).toContain(INSTANCE);
    // The refused push is what the alarm on refusals counts; the allowed one sets nothing off.
    expect(await denied.getByTestId('audit-alarm').getAttribute('data-alarm')).toBe('denied');
    expect(await allowed.getByTestId('audit-alarm').count()).toBe(0);
  });

  it('writes the alarm setup for the profile and region: the rules, Terraform with the topic, and the AWS CLI commands', async () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:security-alerts';
    await page.getByTestId('alarm-topic').fill(topic);
    await page.getByTestId('alarm-threshold').fill('3');
    await page.getByTestId('alarm-write').click();
    await page.getByTestId('alarm-terraform').waitFor();
    expect(await page.getByTestId('alarm-rule').evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')))).toEqual(['denied', 'rootUser']);
    const tf = (await page.getByTestId('alarm-terraform').textContent())!;
    expect(tf).toContain(`alarm_actions       = ["${topic}"]`);
    expect(tf).toContain('threshold           = 3');
    expect(tf).toContain('variable "trail_bucket"');
    const cli = (await page.getByTestId('alarm-cli').textContent())!;
    // The account is the profile's, from STS through the simulator.
    expect(cli).toContain('arn:aws:logs:us-east-1:123456789012:log-group:/keyless/instance-connect:*');
    expect(cli.trim().split('\n')).toHaveLength(10);
    expect(await page.getByTestId('alarm-account-unknown').count()).toBe(0);
    await page.getByTestId('alarm-copy-cli').click();
    await expect.poll(() => page.getByTestId('alarm-copy-cli').textContent()).toBe('Copied');
  });

  it('shows the least-privilege policy for a group, with the Terraform and copy buttons', async () => {
    await page.getByTestId('group-menu').first().click();
    await page.getByTestId('group-policy').click();
    const dialog = page.getByTestId('policy-dialog');
    await dialog.waitFor();
    await page.getByTestId('policy-json').waitFor();
    const json = JSON.parse((await page.getByTestId('policy-json').textContent())!);
    expect(json.Statement[0]).toMatchObject({ Action: ['ec2-instance-connect:SendSSHPublicKey'], Condition: { StringEquals: { 'ec2:osuser': ['ec2-user'] } } });
    expect(await page.getByTestId('policy-terraform').textContent()).toContain('resource "aws_iam_policy"');
    await page.getByTestId('policy-subnet').fill('subnet-0a1b2c3d4e5f60012');
    await page.getByTestId('policy-sg').fill('sg-0123456789abcdef0');
    await page.getByRole('button', { name: 'Update' }).click();
    await page.getByTestId('policy-cli').waitFor();
    expect(await page.getByTestId('policy-cli').textContent()).toContain('--subnet-id subnet-0a1b2c3d4e5f60012');
    // The Terraform's parts besides the policy: the role, the endpoint with its own group, and the rule on app-1's groups.
    await expect.poll(() => page.getByTestId('policy-tf-parts').locator('li').evaluateAll((els) => els.map((e) => e.getAttribute('data-part')))).toEqual(['role', 'endpoint', 'rules']);
    expect(await page.locator('[data-testid="policy-tf-parts"] li[data-part="rules"]').getAttribute('data-instances')).toBe(INSTANCE);
    const tf = (await page.getByTestId('policy-terraform').textContent())!;
    expect(tf).toContain('resource "aws_iam_role"');
    expect(tf).toContain('resource "aws_vpc_security_group_ingress_rule"');
    expect(tf).toContain(`data "aws_instance" "${INSTANCE}"`);
    await page.getByTestId('copy-policy').click();
    await page.getByTestId('policy-close').click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('writes the policy per feature used, each statement with its reason; the features are ticked by keyboard', async () => {
    await page.getByTestId('group-menu').first().click();
    await page.getByTestId('group-policy').click();
    await page.getByTestId('policy-json').waitFor();
    const sids = async () => (JSON.parse((await page.getByTestId('policy-json').textContent())!) as { Statement: { Sid: string; Action: string[] }[] }).Statement;
    // Connecting alone: the console output (host keys) and the AMI (the OS user) are in, the inventory and CloudTrail are not.
    const connect = await sids();
    expect(connect.flatMap((s) => s.Action)).toEqual(expect.arrayContaining(['ec2:GetConsoleOutput', 'ec2:DescribeImages']));
    expect(connect.flatMap((s) => s.Action)).not.toContain('cloudtrail:LookupEvents');
    await page.getByTestId('policy-feature-audit').focus();
    await page.keyboard.press('Space');
    await expect.poll(async () => (await sids()).map((s) => s.Sid)).toContain('AuditTrail');
    const reasons = page.getByTestId('policy-reasons').locator('li');
    expect(await reasons.count()).toBe((await sids()).length);
    expect(await reasons.last().textContent()).toBe("AuditTrail Read CloudTrail's EC2 Instance Connect events in the Audit view.");
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await expect.poll(async () => (await sids()).map((s) => s.Sid)).toContain('CreateEndpoint');
    await page.getByTestId('policy-close').click();
  });

  it('logs a connection Keyless tried, with its outcome, in the same view', async () => {
    // The simulated instance has no sshd here, so the connection fails after the key push.
    await page.getByTestId('view-terminals').click();
    await page.getByRole('button', { name: 'Connect', exact: true }).first().click();
    await page.locator('[data-testid="tab"][data-state="closed"]').waitFor({ timeout: 45_000 });
    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-local-reload').click();
    const row = page.getByTestId('audit-local-row').first();
    await row.waitFor();
    expect(await row.getAttribute('data-outcome')).toBe('failed');
    const text = (await row.textContent())!;
    expect(text).toContain('app-1');
    expect(text).toContain(INSTANCE);
    expect(text).toContain('operator');
  }, 60_000);
});
