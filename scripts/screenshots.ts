// `npm run screenshots`: the README's pictures, made again from simulated data only.
//
// Starts, on 127.0.0.1: the AWS simulator with the demo fleet (a real sshd per instance, as in
// `npm run demo`) plus two simulated accounts from the inventory benchmark's fleet (no sshd,
// 2,000 instances each across 17 regions), an AWS config for them in a temporary HOME with
// profiles of every credential state (the end-to-end tests' helpers), a Keyless data folder
// seeded with the demo's groups of saved EC2 hosts, the browser harness, and Debian's Chromium.
// It then drives the app as a user would and writes PNGs into docs/ at 1280×800; everything
// is stopped and the temporary folders removed at the end. The only account id anywhere is the
// simulator's (123456789012); keys are the simulator's dummy ones and never shown.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import type { Page } from 'playwright-core';
import { FLEET_DONE_STATES } from '../electron/contract/fleet';
import { HostStore } from '../electron/main/store/hosts';
import { ROLE, startAwsWorld, writeCredentialProcess, type AwsWorld } from '../tests/integration/profiles/aws-world';
import { fleetFor, REGIONS } from '../tests/bench/support/inventory-fleet';
import { chromiumMissing, launchChromium } from '../tests/e2e/support/browser';
import { startWebApp, type RunningHarness } from '../tests/e2e/support/harness';
import { startSshd } from '../tests/e2e/support/sshd';
import { addHost, connect, hook, panesConnected, until, waitForText } from '../tests/e2e/terminal-support';
import { generateEphemeralKey } from '../electron/main/connect/ephemeral-key';
import { demoFleet, sshdMissing, startSimulator, type Simulator } from '../tests/sim/index';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };
/** The two extra simulated accounts of the inventory picture and how many instances each holds. */
const FLEETS = [
  { profile: 'platform', account: 1, count: 2000 },
  { profile: 'analytics', account: 2, count: 2000 },
];

const step = (msg: string) => process.stderr.write(`  … ${msg}\n`);

async function main(): Promise<void> {
  const missing = chromiumMissing ?? sshdMissing;
  if (missing) throw new Error(`cannot make the screenshots: ${missing}`);

  const stops: (() => Promise<unknown>)[] = [];
  try {
    step('starting the AWS simulator (demo fleet with sshd) and two 2,000-instance accounts');
    const world: AwsWorld = await startAwsWorld({ noSshd: false, fleet: demoFleet() });
    stops.push(() => world.stop());
    const fleets: Simulator[] = [];
    for (const f of FLEETS) {
      const sim = await startSimulator({ noSshd: true, regions: REGIONS, fleet: fleetFor(f.account, f.count, 0) });
      stops.push(() => sim.stop());
      fleets.push(sim);
      const admin = sim.principals[0]!;
      await world.addConfig(`[profile ${f.profile}]\nregion = eu-west-1\nendpoint_url = ${sim.endpoint}`);
      await world.addCredentials(`[${f.profile}]\naws_access_key_id = ${admin.accessKeyId}\naws_secret_access_key = ${admin.secretAccessKey}`);
    }
    // Profiles in each credential state the profiles view tells apart.
    const e = world.sim.endpoint;
    await world.addConfig(`[profile ci-deploy]
credential_process = ${await writeCredentialProcess(world, { name: 'ci-deploy', ttlMs: 10 * 60_000 })}
region = us-east-1
endpoint_url = ${e}

[profile partner]
role_arn = ${ROLE('PartnerRole')}
source_profile = default
external_id = not-the-partner-ext
region = us-east-1
endpoint_url = ${e}`);
    await world.addExpiredProfile('old-session');

    // The demo's saved hosts (as `npm run demo` seeds them): a group per region; db-1 is Ubuntu.
    const data = join(world.dir, 'keyless');
    await mkdir(data, { recursive: true });
    const store = new HostStore(data);
    const groups = new Map<string, string>();
    for (const region of new Set(world.sim.instances().map((i) => i.region))) {
      const g = await store.saveGroup({ name: `demo ${region}`, parentId: null, settings: { profile: 'default', region, osUser: 'ec2-user', connectionType: 'auto' } });
      groups.set(region, g.id);
    }
    for (const i of world.sim.instances()) {
      const name = i.tags.Name ?? i.id;
      await store.saveHost({ kind: 'ec2', name, groupId: groups.get(i.region) ?? null, instanceId: i.id, connectionType: 'eice', tags: ['demo'], ...(name === 'db-1' ? { osUser: 'ubuntu' } : {}) });
    }

    step('starting the browser harness and Chromium');
    const app: RunningHarness = await startWebApp({ ...world.env, AWS_PROFILE: 'default', KEYLESS_HOME: data, SSH_AUTH_SOCK: '', LANG: 'en_US.UTF-8' });
    stops.push(() => app.stop());
    const chromium = await launchChromium();
    stops.push(() => chromium.close());
    const page = await chromium.browser.newPage({ viewport: VIEWPORT, locale: 'en-US', colorScheme: 'dark' });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // testHooks: only to read the terminals' state and text while waiting; every change is a click or a key.
    await page.goto(`${app.url}&testHooks=1`);

    await mkdir(DOCS, { recursive: true });
    await hostTree(page);
    await profiles(page);
    const total = world.sim.instances().length + fleets.reduce((n, s) => n + s.instances().length, 0);
    await inventory(page, total);
    await policy(page);
    // Before the broadcast's panes: app-1's connection is made here, so its steps are all shown.
    await ec2FromInventory(page);
    await broadcast(page);
    await audit(page, world.sim);
    await fleetRun(page);
    step('a plain SSH host (a real sshd on 127.0.0.1)');
    const sshd = await startSshd();
    stops.push(() => sshd.stop());
    await plainHost(page, sshd);
    if (errors.length) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error('while stopping:', err));
  }
}

async function shot(page: Page, file: string): Promise<void> {
  // Let the last frame settle (caret blink, transitions) before the picture.
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(DOCS, file) });
  console.log(`wrote docs/${file}`);
}

/** The host tree: a group per region, one line per host, and a host's menu opened from the keyboard (Shift+F10). */
async function hostTree(page: Page): Promise<void> {
  step('host tree with a host menu');
  await page.getByTestId('view-terminals').click();
  const row = page.getByTestId('host-row').filter({ hasText: 'app-1' }).first();
  await row.waitFor();
  await row.focus();
  await page.keyboard.press('Shift+F10');
  await page.getByRole('menu').waitFor();
  await shot(page, 'screenshot-hosts.png');
  await page.keyboard.press('Escape');
}

const DONE: readonly string[] = FLEET_DONE_STATES;

/** A command on the us-east-1 group from its menu: a row per host, one host's output opened. */
async function fleetRun(page: Page): Promise<void> {
  step('a command on a group of hosts');
  await page.getByTestId('view-terminals').click();
  await page.getByTestId('group').filter({ hasText: 'demo us-east-1' }).getByTestId('group-menu').first().click();
  await page.getByTestId('run-group').click();
  await page.getByTestId('runs-view').waitFor();
  await page.getByTestId('runs-command').fill('uptime -p\ndf -h / | tail -1');
  await page.getByTestId('runs-start').click();
  await page.locator('[data-testid=runs-row]').first().waitFor();
  await until(
    async () => (await page.locator('[data-testid=runs-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')))).every((s) => DONE.includes(s ?? '')),
    60_000,
    'every host of the run to end',
  );
  await page.locator('[data-testid=runs-row]').first().getByTestId('runs-row-open').click();
  await page.getByTestId('runs-stdout').waitFor();
  await shot(page, 'screenshot-runs.png');
  await page.getByTestId('view-terminals').click();
}

/** AWS profiles: Check all, then every row says who it is and whether its credentials work. */
async function profiles(page: Page): Promise<void> {
  step('AWS profiles');
  await page.getByTestId('view-profiles').click();
  await page.locator('[data-testid=profile-row][data-profile=default]').waitFor();
  await page.getByTestId('profiles-check-all').click();
  await until(
    async () => {
      const states = await page.getByTestId('profile-row').evaluateAll((els) => els.map((el) => el.getAttribute('data-state')));
      return states.length > 0 && states.every((s) => s !== 'checking' && s !== 'unchecked');
    },
    30_000,
    'every profile to be checked',
  );
  await shot(page, 'screenshot-profiles.png');
}

/** Inventory: three profiles, every enabled region, then a filter and grouping by region. */
async function inventory(page: Page, total: number): Promise<void> {
  step(`inventory of ${total} instances`);
  await page.getByTestId('view-inventory').click();
  await page.getByTestId('inventory-profiles').click();
  for (const name of ['default', ...FLEETS.map((f) => f.profile)]) {
    const box = page.locator(`[data-testid=inventory-profile][data-profile="${name}"]`);
    if (!(await box.isChecked())) await box.check();
  }
  await page.getByTestId('inventory-profiles').click();
  await page.getByTestId('inventory-regions').fill('');
  await page.getByTestId('inventory-refresh').click();
  await page.getByTestId('inventory-count').filter({ hasText: `${total} of ${total}` }).waitFor({ timeout: 120_000 });
  await page.getByTestId('inventory-refresh').waitFor();
  // `/` from outside any field focuses the filter.
  await page.locator('h1, header').first().click();
  await page.keyboard.press('/');
  await page.keyboard.type('env:prod state:running');
  await page.getByTestId('inventory-group').selectOption('region');
  await page.getByTestId('inventory-groupline').first().waitFor();
  // Every region folded but the last one, so the picture shows the regions and some rows.
  for (;;) {
    const open = page.getByTestId('inventory-groupline').filter({ hasText: '▾' }).filter({ hasNotText: 'us-west-2 (' });
    if (!(await open.count())) break;
    await open.first().click();
  }
  await page.getByTestId('inventory-filter').blur();
  await shot(page, 'screenshot-inventory.png');
}

/** The least-privilege policy and Terraform for the saved group of us-east-1 hosts. */
async function policy(page: Page): Promise<void> {
  step('access policy dialog');
  await page.getByTestId('view-terminals').click();
  await page.getByTestId('group').filter({ hasText: 'demo us-east-1' }).getByTestId('group-menu').first().click();
  await page.getByTestId('group-policy').click();
  await page.getByTestId('policy-json').waitFor();
  await shot(page, 'screenshot-policy.png');
  await page.getByTestId('policy-close').click();
}

/** Three panes in one tab (web-1, then app-1 and db-1 split in from quick connect), broadcast to two. */
async function broadcast(page: Page): Promise<void> {
  step('split panes with broadcast input');
  await page.getByTestId('host-row').filter({ hasText: 'web-1' }).getByTestId('connect').click();
  await panesConnected(page, 1);
  for (const name of ['app-1', 'db-1']) {
    await page.keyboard.press('Control+k');
    const input = page.getByTestId('quick-connect-input');
    await input.waitFor();
    await input.fill(name);
    await page.getByTestId('quick-connect-item').first().filter({ hasText: name }).waitFor();
    // Ctrl+Enter on the first match opens it in a split of this tab (pressed again if the palette missed it).
    for (let tries = 0; ; tries++) {
      await input.press('Control+Enter');
      const closed = await page.getByTestId('quick-connect').waitFor({ state: 'detached', timeout: 3_000 }).then(() => true, () => false);
      if (closed) break;
      if (tries === 2) throw new Error(`quick connect did not open ${name}`);
    }
  }
  await panesConnected(page, 3);
  const panes = await hook.panes(page);
  // Broadcast starts with the focused pane (db-1); web-1 is ticked too, app-1 is left out.
  await page.getByTestId('broadcast').click();
  await page.getByTestId('broadcast-banner').filter({ hasText: ' 1 ' }).waitFor();
  // The banner pushed the panes down: let them settle before ticking web-1's box.
  await page.waitForTimeout(500);
  const web1 = page.locator(`[data-testid=terminal-pane][data-pane="${panes[0]!.pane}"]`);
  await web1.locator('.xterm-screen').click();
  await page.waitForTimeout(300);
  await web1.locator('[data-testid=broadcast-target] input').click();
  await page.getByTestId('broadcast-banner').filter({ hasText: ' 2 ' }).waitFor({ timeout: 5_000 }).catch(async (err: Error) => {
    await page.screenshot({ path: join(DOCS, '..', 'tests', 'artifacts', 'screenshots-broadcast-failed.png') });
    throw err;
  });
  await page.locator(`[data-testid=terminal-pane][data-pane="${panes[2]!.pane}"] .xterm-screen`).click();
  await page.waitForTimeout(500);
  // Two short commands: the narrow panes would wrap one long line.
  await page.keyboard.type('whoami\n');
  await page.keyboard.type('uptime -p\n');
  await waitForText(page, /ubuntu$[\s\S]*uptime -p\n^up /m, panes[2]!.pane);
  await waitForText(page, /ec2-user$[\s\S]*uptime -p\n^up /m, panes[0]!.pane);
  await shot(page, 'screenshot-broadcast.png');
  await page.getByTestId('broadcast-stop').click();
  await page.getByTestId('close-tab').click();
  await page.getByTestId('tab').waitFor({ state: 'detached' });
}

/** app-1 (private, behind the VPC's Instance Connect Endpoint) connected from the inventory. */
async function ec2FromInventory(page: Page): Promise<void> {
  step('EC2 Instance Connect from the inventory');
  await page.getByTestId('view-inventory').click();
  await page.getByTestId('inventory-group').selectOption('none');
  await page.getByTestId('inventory-filter').fill('app-1');
  const row = page.getByTestId('inventory-row').filter({ hasText: 'app-1' });
  await row.first().click();
  await page.getByTestId('inventory-connect').click();
  await panesConnected(page, 1);
  await page.locator('[data-testid=terminal-pane] .xterm-screen').click();
  await page.keyboard.type('echo instance-$((6*7)) $(whoami)\n');
  await waitForText(page, /^instance-42 ec2-user$/m);
  // The connect's steps, kept after connecting, unfolded: the route and the waterfall of timings.
  await page.locator('[data-testid=steps-kept] summary').click();
  await shot(page, 'screenshot-ec2.png');
  await page.getByTestId('close-tab').click();
  await page.getByTestId('tab').waitFor({ state: 'detached' });
}

/**
 * The Audit view after two unusual pushes beside Keyless's own (the operator refused for ubuntu,
 * a key for root): the trail marks them, and the alarm setup is written for a topic.
 */
async function audit(page: Page, sim: Simulator): Promise<void> {
  step('audit view with alarms');
  const instance = sim.instances().find((i) => i.region === 'us-east-1')!;
  const key = generateEphemeralKey('screenshot');
  for (const [profile, user] of [['operator', 'ubuntu'], ['default', 'root']] as const) {
    const who = sim.principals.find((p) => p.profile === profile)!;
    const client = new EC2InstanceConnectClient({ region: 'us-east-1', endpoint: sim.endpoint, credentials: who });
    await client.send(new SendSSHPublicKeyCommand({ InstanceId: instance.id, InstanceOSUser: user, SSHPublicKey: key.publicKey })).catch(() => undefined);
    client.destroy();
  }
  key.dispose();
  await page.getByTestId('view-audit').click();
  // The default profile only (the operator's would read the same account's trail).
  for (const box of await page.getByTestId('audit-profile').all()) {
    if ((await box.getAttribute('data-profile')) === 'default') await box.check();
    else if (await box.isChecked()) await box.uncheck();
  }
  await page.getByTestId('audit-region').fill('us-east-1');
  await page.getByTestId('audit-load').click();
  await page.getByTestId('audit-alarm').first().waitFor();
  await page.getByTestId('alarm-topic').fill('arn:aws:sns:us-east-1:123456789012:security-alerts');
  await page.getByTestId('alarm-write').click();
  await page.getByTestId('alarm-terraform').waitFor();
  await shot(page, 'screenshot-audit.png');
  await page.getByTestId('view-terminals').click();
}

/** A plain SSH host added in the editor (key file), connected in a tab. */
async function plainHost(page: Page, sshd: Awaited<ReturnType<typeof startSshd>>): Promise<void> {
  await addHost(page, 'build box', sshd);
  await connect(page, 'build box');
  await page.locator('[data-testid=terminal-pane] .xterm-screen').click();
  await page.keyboard.type('echo "Keyless: no key was stored to open this shell"; uname -sr\n');
  await waitForText(page, /^Linux \S+/m);
  await shot(page, 'screenshot-terminal.png');
}


main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
