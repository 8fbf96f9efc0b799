import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/axe';
import { ec2Skip, startEc2World, type Ec2World } from './support/ec2-world';

if (ec2Skip) console.warn(`skipping the send-a-file end-to-end test: ${ec2Skip}`);

// Send a file as a person does it from the Runs view: an inventory filter over the simulator's
// demo fleet (app-1 and db-1 behind their endpoint, batch-1 stopped), a path typed in the browser
// harness, Enter, a row per host.
describe.skipIf(ec2Skip)('send a file to many hosts in Chromium', () => {
  let world: Ec2World;
  const local = mkdtempSync(join(tmpdir(), 'keyless-e2e-send-'));
  const name = `keyless-e2e-send-${process.pid}-${Date.now()}.txt`;
  // The demo hosts' sshds share this machine's file system and log in as different users: a folder
  // all of them may write in, without /tmp's sticky bit (which forbids replacing another's file).
  const remote = mkdtempSync(join(tmpdir(), 'keyless-e2e-send-to-'));
  chmodSync(remote, 0o777);
  beforeAll(async () => {
    world = await startEc2World();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
    rmSync(local, { recursive: true, force: true });
    rmSync(remote, { recursive: true, force: true });
  });

  it('sends a typed path to the filtered hosts: rows per host, the stopped one named, the file on disk, axe clean', async () => {
    const { page } = world;
    const text = `sent to many ${Date.now()}\n`;
    writeFileSync(join(local, name), text);
    chmodSync(join(local, name), 0o640);
    await page.getByTestId('view-inventory').click();
    await page.locator('[data-testid=inventory-profile][data-profile=default]').check();
    await page.getByTestId('inventory-regions').fill('us-east-1');
    await page.getByTestId('inventory-refresh').click();
    await page.locator('[data-testid=inventory-row]').filter({ hasText: 'app-1' }).waitFor({ timeout: 30_000 });

    await page.getByTestId('view-runs').click();
    await page.getByTestId('runs-target-kind').selectOption('query');
    await page.getByTestId('runs-query').fill('env:prod -role:web region:us-east-1');
    await page.getByTestId('runs-query').press('Tab');
    await expect.poll(() => page.getByTestId('runs-reach').textContent(), { timeout: 20_000 }).toMatch(/^3 hosts/);

    await page.getByTestId('send-file-local').fill(join(local, name));
    await page.getByTestId('send-file-remote').fill(remote);
    await page.getByTestId('send-file-remote').press('Enter');
    await expect
      .poll(() => page.locator('[data-testid=send-file-row]').evaluateAll((rows) => rows.map((r) => `${r.querySelector('strong')?.textContent}:${r.getAttribute('data-state')}`).sort()), { timeout: 60_000 })
      .toEqual(['app-1:ok', 'batch-1:error', 'db-1:ok'])
      .catch(async (e: unknown) => {
        console.log(await page.getByTestId('send-file').textContent());
        throw e;
      });
    expect(await page.getByTestId('send-file-counts').textContent()).toBe('3 hosts: 2 sent, 1 could not be sent to, 0 still going');
    expect(await page.locator('[data-testid=send-file-row][data-state=error]').textContent()).toContain('is not running');
    expect(readFileSync(join(remote, name), 'utf8')).toBe(text);
    expect(statSync(join(remote, name)).mode & 0o777).toBe(0o640);
    expect(await seriousViolations(page, '[data-testid=send-file]')).toEqual([]);
  }, 150_000);
});
