import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFromInventory, ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the EC2 end-to-end test: ${ec2Skip}`);

// The whole hot path as a person meets it: the inventory lists the demo fleet from the simulator,
// Connect on a private instance pushes a fresh key and opens an EICE tunnel, the host key is
// confirmed from the console output without a question, and the shell answers.
describe.skipIf(ec2Skip)('connecting to an EC2 instance from the inventory, in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
  });
  afterAll(() => world?.stop());

  it('lists the fleet, connects to a private instance through its endpoint, and runs a command', async () => {
    const { page, sim } = world;
    // Terminals come forward; the tab connects with no host-key question (the console vouched for it).
    await connectFromInventory(page, 'app-1');
    expect(await page.getByTestId('prompt').count()).toBe(0);
    await page.evaluate(() => window.keylessTest.type('echo instance-$((6*7)) $(whoami)\n'));
    await expect.poll(() => page.evaluate(() => window.keylessTest.text()), { timeout: 15_000 }).toMatch(/^instance-42 ec2-user\s*$/m);

    mkdirSync(join(process.cwd(), 'tests', 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'tests', 'artifacts', 'ec2-connected.png') });

    // What happened went through Instance Connect: one key push and one tunnel, both allowed.
    const events = sim.admin.trail().map((e) => `${e.eventName}:${e.errorCode ?? 'ok'}`);
    expect(events).toContain('SendSSHPublicKey:ok');
    expect(events).toContain('OpenTunnel:ok');
  });
});
