import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runCli } from '../../../electron/main/bridge/keyless-cli';
import { InventoryCache } from '../../../electron/main/inventory/inventory-cache';
import { HostStore } from '../../../electron/main/store/hosts';
import { inst } from '../inventory/instance-fixture';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'keyless-cli-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function keyless(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await runCli(args, {
    stdin: Readable.from([]),
    stdout,
    stderr: new PassThrough(),
    env: { KEYLESS_HOME: home, HOME: home, LANG: 'en_US.UTF-8' },
    command: { node: '/usr/bin/node', script: '/opt/keyless/bin/keyless.mjs' },
    hangup: new Promise(() => {}),
  });
  return { code, stdout: Buffer.concat(chunks).toString('utf8') };
}

it('keyless hosts prints Name tags as text: escape sequences and bidirectional overrides in them cannot drive the terminal', async () => {
  const hosts = new HostStore(home);
  await hosts.save({ kind: 'ec2', name: 'web-1', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', port: 22 });
  hosts.dispose();
  const cache = new InventoryCache(join(home, 'inventory.json'));
  // A Name tag that retitles the window, clears the screen and hides what follows, then one that reverses the line.
  const hostile = 'db\u001b]0;owned\u0007\u001b[2J\u001b[8mhidden\u009b31m';
  await cache.save(
    { fetchedAt: Date.now(), scopes: [], instances: [inst({ id: 'i-0aaaaaaaaaaaaaaa1', name: hostile }), inst({ id: 'i-0aaaaaaaaaaaaaaa2', name: 'evil\u202etxt.exe' })], endpoints: [], vpcs: [], subnets: [] },
    { profiles: ['dev'] },
  );
  const { code, stdout } = await keyless(['hosts']);
  expect(code).toBe(0);
  // eslint-disable-next-line no-control-regex -- control characters are what must not be printed
  expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  const lines = stdout.trimEnd().split('\n');
  expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(['i-0123456789abcdef0', 'i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2']);
  expect(lines[1]).toMatch(/^db\?\]0;owned\?\?\[2J\?\[8mhidden\?31m /);
  expect(lines[2]).toMatch(/^evil\?txt\.exe /);
});
