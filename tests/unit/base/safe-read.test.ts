import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRefusal, READ_LIMITS, readRegularFile } from '../../../electron/main/base/safe-read';
import { createHostHandlers } from '../../../electron/main/store/host-handlers';
import { HostStore } from '../../../electron/main/store/hosts';
import { readRecording } from '../../../electron/main/session/recording';
import { KnownHosts } from '../../../electron/main/ssh/known-hosts';
import { silentLogger } from '../../../electron/main/base/log';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorWords } from '../../../electron/contract/i18n/error-words';
import type { PeerContext } from '../../../electron/main/rpc/contract-server';
import { sshConfigSkipWords } from '../../../electron/contract/i18n/skip-words';

let dir: string;
const fifos: string[] = [];
const MiB = 1024 * 1024;

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  fifos.push(p);
  return p;
}

async function refusal(p: Promise<unknown>): Promise<FileRefusal> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FileRefusal);
  return err as FileRefusal;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-safe-read-'));
});
afterAll(async () => {
  // A reader the old code left blocked on a FIFO is let go by a writer that opens and closes it.
  for (const f of fifos) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* nobody was waiting */
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('reading a file whose path came from a setting or a file', () => {
  it('reads a regular file, up to its limit exactly', async () => {
    const p = join(dir, 'ok');
    writeFileSync(p, 'x'.repeat(1000));
    expect((await readRegularFile(p, 1000)).toString()).toBe('x'.repeat(1000));
    expect((await refusal(readRegularFile(p, 999))).reason).toBe('tooLarge');
  });

  it.each([
    ['a FIFO', (): string => fifo('pipe'), 'fifo', /named pipe \(FIFO\)/],
    ['a folder', (): string => (mkdirSync(join(dir, 'folder')), join(dir, 'folder')), 'directory', /a folder/],
    ['a device', (): string => '/dev/zero', 'device', /a device/],
    ['a 2 MiB file', (): string => (writeFileSync(join(dir, 'big'), Buffer.alloc(2 * MiB)), join(dir, 'big')), 'tooLarge', /larger than the 1 MiB/],
    ['a symlink loop', (): string => (symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a')), symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b')), join(dir, 'loop-a')), 'symlinkLoop', /loops back on itself/],
  ] as const)('refuses %s with a typed error naming the path and what it is', async (_name, make, reason, words) => {
    const path = make();
    const err = await refusal(readRegularFile(path, READ_LIMITS.keyFile));
    expect(err.toData()).toMatchObject({ code: 'FileRefused', retryable: false, detail: { path, reason, limit: '1 MiB' } });
    expect(err.message).toContain(path);
    expect(err.message).toMatch(words);
    // The renderer words it in both languages, with the path and nothing left unfilled.
    for (const cat of [en, ja]) {
      const text = errorWords(cat, err.toData());
      expect(text).toContain(path);
      expect(text).not.toMatch(/\{\w+\}/);
    }
    expect(errorWords(en, err.toData())).not.toBe(errorWords(en, { ...err.toData(), detail: { path, reason: 'other' } }));
  });

  it('a file that says it is smaller than it is (as /proc files do) is read no further than the limit + 1', async () => {
    expect((await refusal(readRegularFile('/proc/self/maps', 64))).reason).toBe('tooLarge');
    const p = join(dir, 'sparse');
    writeFileSync(p, '');
    await truncate(p, 3 * MiB);
    expect((await refusal(readRegularFile(p, MiB))).reason).toBe('tooLarge');
  });

  it('many FIFOs at once leave the file system free for other reads', async () => {
    const pipes = Array.from({ length: 8 }, (_, k) => fifo(`many-${k}`));
    const errs = await Promise.all(pipes.map((p) => refusal(readRegularFile(p, READ_LIMITS.keyFile))));
    expect(errs.map((e) => e.reason)).toEqual(pipes.map(() => 'fifo'));
    const p = join(dir, 'after');
    writeFileSync(p, 'still served');
    expect((await readRegularFile(p, 100)).toString()).toBe('still served');
  });
});

describe('every reader of such a path refuses them', () => {
  it('known_hosts: a FIFO is refused, not taken for an empty file (which would make a known key look new)', async () => {
    const kh = new KnownHosts(join(dir, 'own-known-hosts'), [fifo('user-known-hosts')]);
    expect((await refusal(kh.verify('web.example', 22, Buffer.from('AAAAC3NzaC1lZDI1NTE5', 'base64')))).reason).toBe('fifo');
    const own = new KnownHosts(fifo('own-fifo'), []);
    expect((await refusal(own.add('web.example', 22, Buffer.from('AAAAC3NzaC1lZDI1NTE5', 'base64')))).reason).toBe('fifo');
  });

  it('~/.ssh/config: a FIFO config is refused; a FIFO or folder Include is skipped with the reason', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const store = new HostStore(join(dir, 'data-ssh'));
    const { handlers } = createHostHandlers(store, { home, log: silentLogger });
    const ctx = { peer: {} as PeerContext, signal: new AbortController().signal } as never;
    const configFifo = join(home, '.ssh', 'config');
    execFileSync('mkfifo', [configFifo]);
    fifos.push(configFifo);
    expect((await refusal(Promise.resolve(handlers['hosts.importSshConfig']({}, ctx)))).reason).toBe('fifo');
    await rm(configFifo);

    const include = fifo('include-fifo');
    mkdirSync(join(home, '.ssh', 'conf.d'));
    writeFileSync(configFifo, `Include ${include}\nInclude conf.d\nHost web\n  HostName 10.0.0.1\n  User me\n`);
    const report = await handlers['hosts.importSshConfig']({}, ctx);
    expect(report.added).toBe(1);
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.pattern, sshConfigSkipWords(en, s)]));
    expect(reasons[`Include ${include}`]).toBe(`Keyless did not read ${include}: it is a named pipe (FIFO), not a file, and reading it could wait forever. Point the setting at the file itself.`);
    expect(reasons[`Include ${join(home, '.ssh', 'conf.d')}`]).toMatch(/it is a folder, not a file/);
    expect(sshConfigSkipWords(ja, report.skipped.find((s) => s.pattern === `Include ${include}`)!)).toContain('名前付きパイプ（FIFO）');
    store.dispose();
  });

  it('hosts.json: a FIFO is reported as unreadable, left alone, and no change gets through', async () => {
    const data = join(dir, 'data-fifo');
    mkdirSync(data);
    execFileSync('mkfifo', [join(data, 'hosts.json')]);
    fifos.push(join(data, 'hosts.json'));
    const store = new HostStore(data);
    const err = await store.tree().then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(err).toMatchObject({ code: 'StoreCorrupt', message: expect.stringMatching(/hosts\.json: it is a named pipe \(FIFO\), not a regular file/) });
    await expect(store.saveGroup({ name: 'g' })).rejects.toMatchObject({ code: 'StoreCorrupt' });
    store.dispose();
  });

  it('a recording that is a FIFO is not read', async () => {
    const folder = join(dir, 'recordings');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.cast'), '{"version":2}\n');
    expect(await readRecording(folder, 'a.cast')).toBe('{"version":2}\n');
    execFileSync('mkfifo', [join(folder, 'b.cast')]);
    fifos.push(join(folder, 'b.cast'));
    await expect(readRecording(folder, 'b.cast')).rejects.toMatchObject({ code: 'NotFound' });
  });
});
