/**
 * Files over a real OpenSSH server (its internal-sftp) through the whole backend: the contract's
 * channels over the in-memory transport, the renderer's Backend client, the pool's connections.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KeylessError, TransferInfo } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { descendants } from '../../sim/sshd';
import { SftpError, SftpSession, STATUS } from '../../../electron/main/ssh/sftp';
import { connectInMemory } from '../../support/memory-transport';
import { Backend, BackendError } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSshd, type SshdFixture } from '../support/sshd';
import { b64, finished, followTransfers, listAll, sha256File, writeSeeded } from './support';

let sshd: SshdFixture;
let home: string;
let work: string;
let downloads: string;
let remote: string;
let main: MainBackend;
let backend: Backend;
let hostId: string;
let seen: Map<string, TransferInfo[]>;
/** What the fake system dialog answers next (files.pick). */
let nextPick: string[] = [];
let nextRequest = 1;
const rid = () => `f${nextRequest++}`;

beforeAll(async () => {
  if (sshdMissing) return;
  sshd = await startSshd();
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  work = await mkdtemp(join(tmpdir(), 'keyless-files-'));
  downloads = join(work, 'downloads');
  remote = join(work, 'remote');
  await mkdir(downloads);
  await mkdir(remote);
  main = await createBackend({
    home,
    transport: 'web',
    version: 't',
    systemLocale: 'en',
    log: silentLogger,
    userKnownHosts: [],
    connectionLingerMs: 0,
    downloadsFolder: downloads,
    chooseFiles: async () => nextPick,
  });
  const { bridge } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  backend = new Backend(bridge);
  backend.on('prompt', (p) => {
    if (p.kind === 'hostKeyUnknown') void backend.invoke('prompt.answer', { promptId: p.promptId, value: true });
  });
  seen = followTransfers(backend);
  hostId = (await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'files-host', host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: { type: 'keyFile', path: sshd.keyPath } } })).id;
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  await main?.close();
  await sshd?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<KeylessError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BackendError) return err.error;
    throw err;
  }
  throw new Error('expected a failure');
}

/** Picks `paths` with the (fake) system dialog and uploads them into the remote folder `dir`. */
async function upload(paths: string[], dir: string, conflict: 'ask' | 'replace' | 'skip' | 'keepBoth' = 'ask', sudo = false): Promise<string> {
  nextPick = paths;
  const { picks } = await backend.invoke('files.pick', { folders: false });
  const { transferId } = await backend.invoke('files.upload', { hostId, dir: b64(dir), picks: picks!.map((p) => p.pick), conflict, sudo });
  return transferId;
}

/** Waits until the transfer `id` has moved at least half its bytes. */
const halfway = (id: string) =>
  vi.waitFor(() => {
    const t = seen.get(id)?.at(-1);
    expect(t && t.total > 0 && t.bytes >= t.total / 2).toBe(true);
  }, { timeout: 120_000, interval: 20 });

/** Files left in a folder (recursively), as names relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Names that are not simple: spaces, a newline, Japanese, an emoji, and Latin-1 bytes that are not UTF-8. */
const ODD_NAMES: Buffer[] = [
  Buffer.from('with space.txt'),
  Buffer.from('line\nbreak.txt'),
  Buffer.from('日本語のファイル.txt'),
  Buffer.from('emoji 🚀.txt'),
  Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]), // "café.txt" in Latin-1
  Buffer.from([0xff, 0xfe, 0x2d, 0x62, 0x61, 0x64]),
];

describe.skipIf(sshdMissing)('Files over OpenSSH internal-sftp', () => {
  let browserId: string;

  it('opens a browser on the pooled connection and lists a folder streamed in pages, names as bytes', async () => {
    const dir = join(remote, 'odd');
    await mkdir(dir);
    for (const name of ODD_NAMES) await writeFile(Buffer.concat([Buffer.from(dir + '/'), name]), name);
    const opened = await backend.invoke('files.open', { requestId: rid(), hostId });
    browserId = opened.browserId;
    expect(opened.route.kind).toBe('ssh');
    const { entries, pages, result } = await listAll(backend, browserId, { path: b64(dir) }, rid());
    expect(result.count).toBe(ODD_NAMES.length);
    expect(pages).toBeGreaterThan(0);
    // Every name comes back as the very bytes on disk, and is shown escaped.
    expect(entries.map((e) => Buffer.from(e.name, 'base64').toString('hex')).sort()).toEqual(ODD_NAMES.map((n) => n.toString('hex')).sort());
    const shown = entries.map((e) => e.display).sort();
    expect(shown).toContain('line\\nbreak.txt');
    expect(shown).toContain('caf\\xe9.txt');
    expect(shown).toContain('日本語のファイル.txt');
    expect(shown).toContain('emoji 🚀.txt');
    const one = entries.find((e) => e.display === 'with space.txt')!;
    expect(one).toMatchObject({ kind: 'file', size: 'with space.txt'.length, owner: sshd.user });
  });

  it('a typed path: ~ is the login folder, and a path that does not exist says so', async () => {
    const { result } = await listAll(backend, browserId, { typed: remote }, rid());
    expect(result.display).toBe(remote);
    const err = await errorOf(backend.invoke('files.list', { browserId, requestId: rid(), typed: join(remote, 'nope') }));
    expect(err.code).toBe('FileNotFound');
    expect(err.detail?.path).toBe(join(remote, 'nope'));
  });

  it('odd names round-trip: a folder downloaded and uploaded again keeps every name byte for byte', async () => {
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(join(remote, 'odd'))] });
    const done = await finished(seen, transferId);
    expect(done.state).toBe('done');
    expect(done.fileCount).toBe(ODD_NAMES.length);
    const local = await readdir(Buffer.from(join(downloads, 'odd')), { encoding: 'buffer' });
    expect(local.map((n) => n.toString('hex')).sort()).toEqual(ODD_NAMES.map((n) => n.toString('hex')).sort());
    for (const name of ODD_NAMES) expect(await readFile(Buffer.concat([Buffer.from(join(downloads, 'odd') + '/'), name]))).toEqual(name);
    // And back up, into another folder.
    await mkdir(join(remote, 'again'));
    const up = await finished(seen, await upload([join(downloads, 'odd')], join(remote, 'again')));
    expect(up.state).toBe('done');
    const back = await readdir(Buffer.from(join(remote, 'again', 'odd')), { encoding: 'buffer' });
    expect(back.map((n) => n.toString('hex')).sort()).toEqual(ODD_NAMES.map((n) => n.toString('hex')).sort());
  });

  it('a tar-streamed download keeps odd names byte for byte too', async () => {
    const dir = join(remote, 'odd-many');
    await mkdir(dir);
    const names = Array.from({ length: 40 }, (_, i) => Buffer.concat([ODD_NAMES[i % ODD_NAMES.length]!, Buffer.from(` ${i}`)]));
    for (const name of names) await writeFile(Buffer.concat([Buffer.from(dir + '/'), name]), name);
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(dir)] });
    const done = await finished(seen, transferId);
    // Every file came in the stream (a stream cut short would leave the rest to SFTP, and say so).
    expect(done).toMatchObject({ state: 'done', fileCount: 40, problems: [], via: 'tar' });
    const local = await readdir(Buffer.from(join(downloads, 'odd-many')), { encoding: 'buffer' });
    expect(local.map((n) => n.toString('hex')).sort()).toEqual(names.map((n) => n.toString('hex')).sort());
    for (const name of names) expect(await readFile(Buffer.concat([Buffer.from(join(downloads, 'odd-many') + '/'), name]))).toEqual(name);
  });

  it('a tar-streamed download whose list of names is longer than the channel window (6 MB of long paths) comes whole', async () => {
    // Each path ~3,600 bytes (14 folders of 240 characters), 1,600 files: tar reads the list while
    // its output is read, so the list cannot all go in first.
    const deep = join(remote, 'long-names', ...Array.from({ length: 14 }, (_, i) => `${i}`.padEnd(240, 'd')));
    await mkdir(deep, { recursive: true });
    const count = 1600;
    for (let i = 0; i < count; i++) await writeFile(join(deep, `${i}`.padEnd(200, 'f')), `${i}`);
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(join(remote, 'long-names'))] });
    const done = await finished(seen, transferId, 240_000);
    expect(done).toMatchObject({ state: 'done', fileCount: count, problems: [], via: 'tar' });
    const local = join(downloads, 'long-names', ...deep.slice(join(remote, 'long-names').length + 1).split('/'));
    expect(readdirSync(local)).toHaveLength(count);
    expect(await readFile(join(local, '1599'.padEnd(200, 'f')), 'utf8')).toBe('1599');
  }, 300_000);

  it('a folder of 600 subfolders is walked a few dozen requests at a time, not 600 at once', async () => {
    const wide = join(remote, 'wide');
    for (let i = 0; i < 600; i++) {
      await mkdir(join(wide, `d${i}`), { recursive: true });
      await writeFile(join(wide, `d${i}`, 'f.txt'), `${i}`);
    }
    let inFlight = 0;
    let most = 0;
    const real = SftpSession.prototype.realpath;
    const spy = vi.spyOn(SftpSession.prototype, 'realpath').mockImplementation(async function (this: SftpSession, path: Buffer) {
      most = Math.max(most, ++inFlight);
      try {
        return await real.call(this, path);
      } finally {
        inFlight--;
      }
    });
    try {
      const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(wide)] });
      expect(await finished(seen, transferId, 240_000)).toMatchObject({ state: 'done', fileCount: 600, problems: [] });
    } finally {
      spy.mockRestore();
    }
    expect(most).toBeLessThanOrEqual(64);
    expect(tree(join(downloads, 'wide'))).toHaveLength(600);
  }, 300_000);

  it('a download asked for as "folder/.." lands in the downloads folder under the real name, never above it', async () => {
    await mkdir(join(remote, 'nest', 'inner'), { recursive: true });
    await writeFile(join(remote, 'nest', 'inner', 'f.txt'), 'nested');
    const before = readdirSync(work).sort();
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(`${join(remote, 'nest', 'inner')}/..`)] });
    expect((await finished(seen, transferId)).state).toBe('done');
    expect(await readFile(join(downloads, 'nest', 'inner', 'f.txt'), 'utf8')).toBe('nested');
    expect(readdirSync(work).sort()).toEqual(before);
  });

  it('new folder, rename (refusing an existing name), chmod and recursive delete', async () => {
    const { path: made } = await backend.invoke('files.mkdir', { browserId, dir: b64(remote), name: 'ops folder' });
    expect((await stat(join(remote, 'ops folder'))).isDirectory()).toBe(true);
    await writeFile(join(remote, 'ops folder', 'a.txt'), 'a');
    await writeFile(join(remote, 'taken.txt'), 't');
    expect((await errorOf(backend.invoke('files.rename', { browserId, path: made, name: 'taken.txt' }))).code).toBe('FileExists');
    const { path: renamed } = await backend.invoke('files.rename', { browserId, path: made, name: 'renamed' });
    expect(Buffer.from(renamed, 'base64').toString()).toBe(join(remote, 'renamed'));
    await backend.invoke('files.chmod', { browserId, path: b64(join(remote, 'renamed', 'a.txt')), mode: 0o600 });
    expect((await stat(join(remote, 'renamed', 'a.txt'))).mode & 0o777).toBe(0o600);
    const { removed } = await backend.invoke('files.delete', { browserId, requestId: rid(), paths: [renamed] });
    expect(removed).toBe(2);
    expect(existsSync(join(remote, 'renamed'))).toBe(false);
  });

  it('a folder tree of 5,000 small files goes up and comes down whole', async () => {
    const src = join(work, 'many');
    let n = 0;
    for (let d = 0; d < 50; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, i) => writeFile(join(src, `d${d}`, `f${i}.txt`), `file ${n++} ${'x'.repeat(i * 7)}`)));
    }
    await mkdir(join(remote, 'up'));
    const up = await finished(seen, await upload([src], join(remote, 'up')), 300_000);
    expect(up).toMatchObject({ state: 'done', fileCount: 5000, files: 5000, problems: [] });
    expect(tree(join(remote, 'up', 'many'))).toEqual(tree(src));
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(join(remote, 'up', 'many'))] });
    const down = await finished(seen, transferId, 300_000);
    expect(down).toMatchObject({ state: 'done', fileCount: 5000 });
    // Many small files from a host with GNU tar come as one tar stream over a command.
    expect(down.via).toBe('tar');
    expect(tree(join(downloads, 'many'))).toEqual(tree(src));
    expect(await readFile(join(downloads, 'many', 'd49', 'f99.txt'), 'utf8')).toBe(await readFile(join(src, 'd49', 'f99.txt'), 'utf8'));
  }, 600_000);

  it('an existing target: skip leaves it, keep both adds "name (1)", replace keeps its mode', async () => {
    const local = join(work, 'report.txt');
    await writeFile(local, 'new contents');
    await writeFile(join(remote, 'report.txt'), 'old');
    execFileSync('chmod', ['640', join(remote, 'report.txt')]);
    expect((await finished(seen, await upload([local], remote, 'skip'))).state).toBe('skipped');
    expect(await readFile(join(remote, 'report.txt'), 'utf8')).toBe('old');
    expect((await finished(seen, await upload([local], remote, 'keepBoth'))).state).toBe('done');
    expect(await readFile(join(remote, 'report (1).txt'), 'utf8')).toBe('new contents');
    // Asked: the transfer waits with the question, the answer applies.
    const asked = await upload([local], remote, 'ask');
    await vi.waitFor(() => expect(seen.get(asked)?.at(-1)?.state).toBe('waiting'));
    expect(seen.get(asked)!.at(-1)!.conflict).toMatchObject({ display: 'report.txt', existing: { size: 3 }, incoming: { size: 12 } });
    await backend.invoke('files.answer', { transferId: asked, choice: 'replace' });
    expect((await finished(seen, asked)).state).toBe('done');
    expect(await readFile(join(remote, 'report.txt'), 'utf8')).toBe('new contents');
    expect((await stat(join(remote, 'report.txt'))).mode & 0o777).toBe(0o640);
    expect(readdirSync(remote).filter((n) => n.includes('.keyless-'))).toEqual([]);
  });

  it('replacing another user’s file says its owner would change; overwrite in place keeps the owner', async () => {
    const theirs = join(remote, 'theirs.conf');
    await writeFile(theirs, 'owned by nobody');
    execFileSync('chown', ['65534:65534', theirs]);
    const local = join(work, 'theirs.conf');
    await writeFile(local, 'new settings');
    const id = await upload([local], remote, 'ask');
    await vi.waitFor(() => expect(seen.get(id)?.at(-1)?.state).toBe('waiting'));
    expect(seen.get(id)!.at(-1)!.conflict).toMatchObject({ display: 'theirs.conf', ownerChanges: true });
    await backend.invoke('files.answer', { transferId: id, choice: 'overwrite' });
    expect((await finished(seen, id)).state).toBe('done');
    expect(await readFile(theirs, 'utf8')).toBe('new settings');
    expect((await stat(theirs)).uid).toBe(65534);
  });

  it('cancelled at half way: nothing under the final name, no temporary file left', async () => {
    const big = join(work, 'half.bin');
    await writeSeeded(big, 256 * 1024 * 1024, 'half');
    const id = await upload([big], remote);
    await halfway(id);
    await backend.invoke('files.cancel', { transferId: id });
    expect((await finished(seen, id)).state).toBe('cancelled');
    expect(existsSync(join(remote, 'half.bin'))).toBe(false);
    await vi.waitFor(() => expect(readdirSync(remote).filter((n) => n.includes('.keyless-'))).toEqual([]));
    // Retry runs it again, whole.
    await backend.invoke('files.retry', { transferId: id });
    expect((await finished(seen, id)).state).toBe('done');
    expect(await sha256File(join(remote, 'half.bin'))).toBe(await sha256File(big));
  }, 300_000);

  it('a connection dropped mid-transfer: the pool reconnects and the file goes on from its offset', async () => {
    const big = join(work, 'resume.bin');
    const hash = await writeSeeded(big, 192 * 1024 * 1024, 'resume');
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(big)] });
    let cutAt = 0;
    await vi.waitFor(() => {
      const t = seen.get(transferId)?.at(-1);
      expect(t && t.bytes > 32 * 1024 * 1024).toBe(true);
      cutAt = t!.bytes;
    }, { timeout: 120_000, interval: 20 });
    // sshd's per-connection processes: killing them drops the connection under the transfer.
    for (const pid of descendants(sshd.pid)) process.kill(pid, 'SIGKILL');
    const done = await finished(seen, transferId, 300_000);
    expect(done.state).toBe('done');
    expect(done.resumes).toBeGreaterThanOrEqual(1);
    const states = seen.get(transferId)!.map((t) => t.state);
    expect(states).toContain('reconnecting');
    // It went on: the bytes after the reconnect never fell back to zero.
    const after = seen.get(transferId)!.slice(states.indexOf('reconnecting'));
    expect(Math.min(...after.map((t) => t.bytes))).toBeGreaterThanOrEqual(Math.min(cutAt, 32 * 1024 * 1024));
    expect(await sha256File(join(downloads, 'resume.bin'))).toBe(hash);
  }, 300_000);

  it('a big upload written over two channels survives a dropped connection: it goes on and the file is whole', async () => {
    // 192 MiB: over SPLIT_UPLOAD_MIN, so each half of the file goes over an SFTP channel of its own.
    const big = join(work, 'split-up.bin');
    const hash = await writeSeeded(big, 192 * 1024 * 1024, 'split');
    const id = await upload([big], remote);
    await vi.waitFor(() => {
      const t = seen.get(id)?.at(-1);
      expect(t && t.bytes > 48 * 1024 * 1024).toBe(true);
    }, { timeout: 120_000, interval: 20 });
    for (const pid of descendants(sshd.pid)) process.kill(pid, 'SIGKILL');
    const done = await finished(seen, id, 300_000);
    expect(done.state).toBe('done');
    expect(done.resumes).toBeGreaterThanOrEqual(1);
    expect(await sha256File(join(remote, 'split-up.bin'))).toBe(hash);
    expect(readdirSync(remote).filter((n) => n.includes('.keyless-'))).toEqual([]);
  }, 300_000);

  it('a connection dropped once the file is written (its rename or close made, the answer lost) leaves the file whole, not empty', async () => {
    const dropAfter = <K extends 'posixRename' | 'close'>(method: K) => {
      const real = SftpSession.prototype[method] as (...a: unknown[]) => Promise<void>;
      const spy = vi.spyOn(SftpSession.prototype, method).mockImplementationOnce(async function (this: SftpSession, ...a: unknown[]) {
        await real.apply(this, a);
        for (const pid of descendants(sshd.pid)) process.kill(pid, 'SIGKILL');
        throw new SftpError(STATUS.CONNECTION_LOST, 'the connection was lost');
      } as never);
      return spy;
    };
    // Replaced through a temporary file: the rename is made, its answer lost.
    const local = join(work, 'renamed.bin');
    const hash = await writeSeeded(local, 3 * 1024 * 1024, 'renamed');
    await writeFile(join(remote, 'renamed.bin'), 'old');
    const renameSpy = dropAfter('posixRename');
    const replaced = await finished(seen, await upload([local], remote, 'replace'), 120_000);
    renameSpy.mockRestore();
    expect(replaced).toMatchObject({ state: 'done' });
    expect(replaced.resumes).toBeGreaterThanOrEqual(1);
    expect(await sha256File(join(remote, 'renamed.bin'))).toBe(hash);
    expect(readdirSync(remote).filter((n) => n.includes('.keyless-'))).toEqual([]);

    // Overwritten in place (another user's file): the close is made, its answer lost.
    const theirs = join(remote, 'in-place.bin');
    await writeFile(theirs, 'owned by nobody');
    execFileSync('chown', ['65534:65534', theirs]);
    const mine = join(work, 'in-place.bin');
    const hash2 = await writeSeeded(mine, 3 * 1024 * 1024, 'in-place');
    const id = await upload([mine], remote, 'ask');
    await vi.waitFor(() => expect(seen.get(id)?.at(-1)?.state).toBe('waiting'));
    const closeSpy = dropAfter('close');
    await backend.invoke('files.answer', { transferId: id, choice: 'overwrite' });
    const overwritten = await finished(seen, id, 120_000);
    closeSpy.mockRestore();
    expect(overwritten).toMatchObject({ state: 'done' });
    expect(overwritten.resumes).toBeGreaterThanOrEqual(1);
    expect(await sha256File(theirs)).toBe(hash2);
  }, 300_000);

  it('a recursive download reports FIFOs, devices and symlink loops by name, and moves the rest', async () => {
    const dir = join(remote, 'mixed');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'keep.txt'), 'kept');
    await writeFile(join(dir, 'sub', 'deep.txt'), 'deep');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await symlink('/dev/zero', join(dir, 'zero'));
    await symlink('loop-b', join(dir, 'loop-a'));
    await symlink('loop-a', join(dir, 'loop-b'));
    await symlink('..', join(dir, 'sub', 'up'));
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(dir)] });
    const done = await finished(seen, transferId);
    expect(done.state).toBe('done');
    expect(tree(join(downloads, 'mixed'))).toEqual(['keep.txt', 'sub/deep.txt']);
    const byName = Object.fromEntries(done.problems.map((p) => [p.display.slice(dir.length + 1), p.error]));
    expect(byName.pipe).toMatchObject({ code: 'FileNotRegular', detail: { reason: 'fifo' } });
    expect(byName.zero).toMatchObject({ code: 'FileNotRegular', detail: { reason: 'device' } });
    expect(byName['loop-a']).toMatchObject({ code: 'FileNotRegular', detail: { reason: 'symlinkLoop' } });
    expect(byName['sub/up']).toMatchObject({ code: 'FileNotRegular', detail: { reason: 'symlinkLoop' } });
  });

  it('an upload never opens a local FIFO (it would hang): reported by name, the folder goes on', async () => {
    const dir = join(work, 'with-fifo');
    await mkdir(dir);
    await writeFile(join(dir, 'a.txt'), 'a');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await mkdir(join(remote, 'fifo-up'));
    const done = await finished(seen, await upload([dir], join(remote, 'fifo-up')));
    expect(done.state).toBe('done');
    expect(readdirSync(join(remote, 'fifo-up', 'with-fifo'))).toEqual(['a.txt']);
    expect(done.problems).toEqual([expect.objectContaining({ display: join(dir, 'pipe'), error: expect.objectContaining({ code: 'FileNotRegular', detail: expect.objectContaining({ reason: 'fifo' }) }) })]);
  });

  it('a download overwriting a local FIFO in place says it is not a file, and never waits on it', async () => {
    await writeFile(join(remote, 'fifo-target.txt'), 'remote text');
    execFileSync('mkfifo', [join(downloads, 'fifo-target.txt')]);
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(join(remote, 'fifo-target.txt'))], conflict: 'ask' });
    await vi.waitFor(() => expect(seen.get(transferId)?.at(-1)?.state).toBe('waiting'));
    await backend.invoke('files.answer', { transferId, choice: 'overwrite' });
    const done = await finished(seen, transferId, 20_000);
    expect([done.error, ...done.problems.map((p) => p.error)]).toContainEqual(expect.objectContaining({ code: 'FileNotRegular', detail: expect.objectContaining({ reason: 'fifo' }) }));
    expect((await lstat(join(downloads, 'fifo-target.txt'))).isFIFO()).toBe(true);
    await rm(join(downloads, 'fifo-target.txt'));
  });

  it('a download into a local folder that is a symbolic link stops there: nothing is written where the link points', async () => {
    await mkdir(join(remote, 'proj', 'keys'), { recursive: true });
    await writeFile(join(remote, 'proj', 'keys', 'authorized_keys'), 'ssh-ed25519 AAAA… theirs');
    const elsewhere = join(work, 'dot-ssh');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(downloads, 'proj'));
    const { transferId } = await backend.invoke('files.download', { hostId, paths: [b64(join(remote, 'proj'))] });
    const done = await finished(seen, transferId);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'FileNotRegular', detail: { reason: 'symlink', path: join(downloads, 'proj') } });
    expect(readdirSync(elsewhere)).toEqual([]);
    await rm(join(downloads, 'proj'));
  });

  it('a folder that does not exist names the file; the transfer fails and leaves nothing', async () => {
    // root ignores modes: a read-only bind would be needed. Denied through a folder the server cannot enter instead.
    const local = join(work, 'denied.txt');
    await writeFile(local, 'x');
    const done = await finished(seen, await upload([local], '/proc/1/nonexistent-dir'));
    expect(done.state).toBe('failed');
    expect(['FileNotFound', 'FilePermissionDenied']).toContain(done.error?.code);
    expect(done.error?.detail?.path).toContain('/proc/1/nonexistent-dir/');
  });

  it('copies a folder between two hosts, streamed from one to the other', async () => {
    const other = await startSshd();
    try {
      const otherId = (await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'other-host', host: '127.0.0.1', port: other.port, user: other.user, auth: { type: 'keyFile', path: other.keyPath } } })).id;
      const src = join(remote, 'to-copy');
      await mkdir(join(src, 'inner'), { recursive: true });
      const hash = await writeSeeded(join(src, 'inner', 'data.bin'), 20 * 1024 * 1024, 'copy');
      await writeFile(Buffer.concat([Buffer.from(src + '/'), ODD_NAMES[4]!]), 'latin-1 name');
      const dest = join(work, 'copied');
      await mkdir(dest);
      const { transferId } = await backend.invoke('files.copy', { hostId, paths: [b64(src)], to: { hostId: otherId, dir: b64(dest) } });
      const done = await finished(seen, transferId);
      expect(done).toMatchObject({ state: 'done', kind: 'copy', host: 'files-host', toHost: 'other-host', fileCount: 2 });
      expect(await sha256File(join(dest, 'to-copy', 'inner', 'data.bin'))).toBe(hash);
      expect(await readFile(Buffer.concat([Buffer.from(join(dest, 'to-copy') + '/'), ODD_NAMES[4]!]), 'utf8')).toBe('latin-1 name');
    } finally {
      await other.stop();
    }
  });

  it.skipIf(!existsSync('/usr/bin/sudo'))('sudo upload cancelled at half way: nothing under the final name, no temporary file left', async () => {
    // Without a terminal, sshd only ends the script's input when the channel closes: the script must see it was cut short.
    const big = join(work, 'sudo-half.bin');
    await writeSeeded(big, 256 * 1024 * 1024, 'sudo-half');
    await writeFile(join(remote, 'sudo-half.bin'), 'the old contents');
    const id = await upload([big], remote, 'replace', true);
    await halfway(id);
    await backend.invoke('files.cancel', { transferId: id });
    expect((await finished(seen, id)).state).toBe('cancelled');
    await vi.waitFor(() => expect(readdirSync(remote).filter((n) => n.includes('.keyless-'))).toEqual([]), { timeout: 10_000 });
    expect((await stat(join(remote, 'sudo-half.bin'))).size).toBe('the old contents'.length);
    expect(await readFile(join(remote, 'sudo-half.bin'), 'utf8')).toBe('the old contents');
    await backend.invoke('files.retry', { transferId: id });
    expect((await finished(seen, id)).state).toBe('done');
    expect(await sha256File(join(remote, 'sudo-half.bin'))).toBe(await sha256File(big));
  }, 300_000);

  it.skipIf(!existsSync('/usr/bin/sudo'))('sudo upload of a folder makes its folders and puts every file in place', async () => {
    const src = join(work, 'sudo-tree');
    await mkdir(join(src, 'conf.d', 'extra'), { recursive: true });
    await writeFile(join(src, 'top.conf'), 'top');
    await writeFile(join(src, 'conf.d', 'a.conf'), 'a');
    await writeFile(join(src, 'conf.d', 'extra', 'b.conf'), 'b');
    const done = await finished(seen, await upload([src], remote, 'replace', true));
    expect(done).toMatchObject({ state: 'done', files: 3, problems: [] });
    expect(tree(join(remote, 'sudo-tree'))).toEqual(['conf.d/a.conf', 'conf.d/extra/b.conf', 'top.conf']);
    expect(await readFile(join(remote, 'sudo-tree', 'conf.d', 'extra', 'b.conf'), 'utf8')).toBe('b');
  });

  it('sudo upload: a host without sudo says so', async () => {
    const local = join(work, 'sudo.txt');
    await writeFile(local, 'as root');
    const done = await finished(seen, await upload([local], remote, 'replace', true));
    if (existsSync('/usr/bin/sudo')) {
      expect(done.state).toBe('done');
    } else {
      expect(done.error).toMatchObject({ code: 'SudoRefused' });
    }
  });
});

/**
 * A full disk: the test sshd runs in a mount namespace of its own (`unshare -m`) with a 4 MiB
 * tmpfs over its folder, so the machine's disk is never filled.
 */
describe.skipIf(sshdMissing)('Files on a full disk', () => {
  const refusal = (() => {
    try {
      execFileSync('unshare', ['-Urm', 'true'], { stdio: 'ignore' });
      return undefined;
    } catch {
      try {
        execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
        return undefined;
      } catch (err) {
        return `this machine refuses a mount namespace (unshare -m: ${(err as Error).message.split('\n')[0]}); the full-disk test is skipped`;
      }
    }
  })();
  if (refusal) console.warn(refusal);

  it.skipIf(refusal)('an upload that does not fit says the disk is full (confirmed with statvfs) and leaves nothing', async () => {
    const small = join(work, 'small-disk');
    await mkdir(small);
    const config = join(sshd.dir, 'sshd_config');
    const port = sshd.port + 1 > 65535 ? sshd.port - 1 : sshd.port + 1;
    const fullConfig = join(work, 'sshd_full_config');
    await writeFile(fullConfig, (await readFile(config, 'utf8')).replace(/^Port \d+$/m, `Port ${port}`).replace(/^PidFile .*$/m, `PidFile ${join(work, 'full.pid')}`));
    const proc = spawn('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=4m tmpfs '${small}' && exec /usr/sbin/sshd -D -e -f '${fullConfig}'`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await vi.waitFor(() => expect(log).toMatch(/Server listening/), { timeout: 10_000 });
      const full = (await backend.invoke('hosts.save', { host: { kind: 'ssh', name: 'full-disk', host: '127.0.0.1', port, user: sshd.user, auth: { type: 'keyFile', path: sshd.keyPath } } })).id;
      const big = join(work, 'too-big.bin');
      await writeSeeded(big, 16 * 1024 * 1024, 'full');
      nextPick = [big];
      const { picks } = await backend.invoke('files.pick', { folders: false });
      const { transferId } = await backend.invoke('files.upload', { hostId: full, dir: b64(small), picks: picks!.map((p) => p.pick), conflict: 'ask', sudo: false });
      const done = await finished(seen, transferId);
      expect(done.state).toBe('failed');
      expect(done.error).toMatchObject({ code: 'DiskFull', detail: { path: expect.stringContaining('too-big.bin'), host: 'full-disk' } });
      // The host's own folder (outside the namespace) never had the file; inside, nothing is left either.
      const { browserId } = await backend.invoke('files.open', { requestId: rid(), hostId: full });
      const { entries } = await listAll(backend, browserId, { path: b64(small) }, rid());
      expect(entries.map((e) => e.display)).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 120_000);
});
