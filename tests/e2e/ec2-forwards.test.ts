import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../integration/support/sshd';
import { connectFromInventory, ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the EC2 port-forward end-to-end test: ${ec2Skip}`);

/** The first bytes a TCP connection to 127.0.0.1:port receives, or the connection's error code. */
function firstBytes(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    const t = setTimeout(() => (s.destroy(), resolve('timeout')), 15_000);
    s.once('data', (d: Buffer) => (clearTimeout(t), s.destroy(), resolve(d.toString())));
    s.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(e.code ?? e.message)));
    s.once('close', () => (clearTimeout(t), resolve('closed')));
  });
}

// A person connected to a private instance opens an SSH local forward from the tab's toolbar,
// uses it from another program on this machine, sees it listed, and stops it.
describe.skipIf(ec2Skip)('port forwards of an EC2 tab, in Chromium', () => {
  let world: Ec2World;
  beforeAll(async () => {
    world = await startEc2World();
  });
  afterAll(() => world?.stop());

  it('opens an SSH local forward to the instance sshd on 127.0.0.1, lists it, stops it, saves it with the host and starts it again', async () => {
    const { page, sim } = world;
    await connectFromInventory(page, 'app-1');

    // In the simulator each instance is a real sshd on its own port of this machine.
    const instance = sim.instances().find((i) => i.tags['Name'] === 'app-1');
    const sshdPort = instance?.sshPort;
    expect(sshdPort).toBeTypeOf('number');

    await page.getByTestId('port-forwards').click();
    const sheet = page.getByTestId('forwards-sheet');
    await sheet.waitFor();
    await sheet.getByTestId('forward-kind').selectOption('ssh');
    await sheet.getByTestId('forward-remote-host').fill('127.0.0.1');
    await sheet.getByTestId('forward-remote-port').fill(String(sshdPort));
    await sheet.getByTestId('forward-start').click();

    const row = sheet.getByTestId('forward-row');
    await row.waitFor({ timeout: 30_000 });
    const shown = (await row.getByTestId('forward-local').textContent()) ?? '';
    const m = /^127\.0\.0\.1:(\d+)$/.exec(shown.trim());
    expect(m, `the sheet shows ${shown}`).not.toBeNull();
    const localPort = Number(m![1]);

    expect(await firstBytes(localPort)).toMatch(/^SSH-2\.0-/);

    // Listed by main too, as the sheet shows it.
    await sheet.getByTestId('forwards-close').click();
    await page.getByTestId('port-forwards').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 10_000 }).toBe(1);
    expect((await sheet.getByTestId('forward-local').textContent())?.trim()).toBe(`127.0.0.1:${localPort}`);

    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 10_000 }).toBe(0);
    expect(await sheet.getByTestId('forward-error').count()).toBe(0);
    await expect.poll(() => firstBytes(localPort), { timeout: 10_000 }).toBe('ECONNREFUSED');

    // Saved with the host on a fixed port, then started again with one click.
    const fixed = await freePort();
    // The sheet was reopened above, so its form starts empty again.
    await sheet.getByTestId('forward-remote-host').fill('127.0.0.1');
    await sheet.getByTestId('forward-remote-port').fill(String(sshdPort));
    await sheet.getByTestId('forward-local-port').fill(String(fixed));
    await sheet.getByTestId('forward-save').click();
    await sheet.getByTestId('saved-forward-row').waitFor({ timeout: 10_000 });
    expect(await sheet.getByTestId('forward-error').count()).toBe(0);
    await sheet.getByTestId('saved-forward-start').click();
    await expect.poll(() => sheet.getByTestId('forward-row').count(), { timeout: 30_000 }).toBe(1);
    expect((await sheet.getByTestId('forward-local').textContent())?.trim()).toBe(`127.0.0.1:${fixed}`);
    expect(await firstBytes(fixed)).toMatch(/^SSH-2\.0-/);
    await sheet.getByTestId('forward-stop').click();
    await expect.poll(() => firstBytes(fixed), { timeout: 10_000 }).toBe('ECONNREFUSED');

    // The host's row in the sidebar opens the same sheet (from its menu), with the saved forward.
    await sheet.getByTestId('forwards-close').click();
    await page.getByTestId('host-row').first().getByTestId('host-menu').click();
    await page.getByTestId('host-port-forwards').click();
    await expect.poll(() => page.getByTestId('forwards-sheet').getByTestId('saved-forward-row').count(), { timeout: 10_000 }).toBe(1);
  });
});
