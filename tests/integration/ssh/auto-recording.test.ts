import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { terminalSettingsSchema, type HostEntryInput } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend } from '../../../renderer/lib/backend/backend';
import { sshdMissing, startSshd, type SshdFixture } from '../support/sshd';
import { receiveOutput } from '../support/terminal-output';

/**
 * Hosts (or their groups) set to record every session: main records from the first byte, into
 * the recording folder, with input only when the settings ask for it. Real sshd, real files.
 */

let sshd: SshdFixture;
const cleanups: Array<() => Promise<void>> = [];

async function waitFor(cond: () => boolean | Promise<boolean>, what: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Main as in the app, a renderer client over the in-memory transport that acknowledges output. */
async function world(terminal: { recordingFolder?: string; recordInput?: boolean }) {
  const home = await mkdtemp(join(tmpdir(), 'keyless-autorec-'));
  const folder = join(home, 'recordings');
  await mkdir(folder);
  const main: MainBackend = await createBackend({ home, transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [] });
  const { bridge, peer } = connectInMemory(new ContractServer(main.handlers, silentLogger));
  const backend = new Backend(bridge);
  const output = new Map<string, string>();
  backend.on('prompt', (p) => void backend.invoke('prompt.answer', { promptId: p.promptId, value: p.kind === 'hostKeyUnknown' }));
  receiveOutput(backend, output);
  await backend.invoke('settings.set', { terminal: terminalSettingsSchema.parse({ recordingFolder: folder, ...terminal }) });
  cleanups.push(async () => {
    peer.dispose();
    await main.close();
    await rm(home, { recursive: true, force: true });
  });
  let n = 0;
  return {
    backend,
    folder,
    output: (s: string) => output.get(s) ?? '',
    async group(recordSessions: boolean | undefined): Promise<string> {
      const g = await backend.invoke('groups.save', { group: { name: 'fleet', settings: recordSessions === undefined ? {} : { recordSessions } } });
      return g.id;
    },
    async host(extra: Partial<HostEntryInput> = {}): Promise<string> {
      const h = await backend.invoke('hosts.save', {
        host: { kind: 'ssh', name: `box ${++n}`, host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: { type: 'keyFile', path: sshd.keyPath }, ...extra } as HostEntryInput,
      });
      return h.id;
    },
    open: (hostId: string) => backend.invoke('session.open', { requestId: `r${++n}`, hostId, cols: 80, rows: 24 }),
    type: (sessionId: string, data: string) => backend.invoke('session.write', { sessionId, data }),
    close: (sessionId: string) => backend.invoke('session.close', { sessionId }),
  };
}

/** The recording's events after its header line. */
async function events(path: string): Promise<Array<[number, string, string]>> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  return lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
}

describe.skipIf(!!sshdMissing)('sessions recorded automatically for a host or its group', () => {
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('a host in a group that records: every byte from the first is in the file, and what is typed is not', async () => {
    const w = await world({ recordInput: false });
    const groupId = await w.group(true);
    const hostId = await w.host({ groupId });
    const opened = await w.open(hostId);
    expect(opened.recording).toMatch(/^box-1-\d{8}-\d{6}-s\d+\.cast$/);
    expect(opened.recordingError).toBeUndefined();
    const s = opened.sessionId;
    // Typed with echo off, so the words below reach the shell but never come back as output.
    await w.type(s, 'stty -echo; echo "echo-off-$((1+1))"\r');
    await waitFor(() => /echo-off-2/.test(w.output(s)), () => 'echo off');
    await w.type(s, ': typed-only-7f3a\r');
    await w.type(s, 'echo "done-$((2+3))"\r');
    await waitFor(() => /done-5/.test(w.output(s)), () => `done-5 in ${JSON.stringify(w.output(s).slice(-200))}`);
    await w.close(s);

    const [file] = await readdir(w.folder);
    expect(file).toBe(opened.recording);
    const path = join(w.folder, file!);
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ version: 2, width: 80, height: 24, title: 'box 1' });
    const evs = await events(path);
    // Nothing but output (and size changes, had there been any) with its timing.
    expect(new Set(evs.map((e) => e[1]))).toEqual(new Set(['o']));
    // Everything the renderer got, from its first byte, in order (the file may also hold what was still on its way at the close).
    await waitFor(
      async () => (await events(path)).map((e) => e[2]).join('').startsWith(w.output(s)),
      () => 'the recording to begin with all the output the renderer received',
    );
    expect(text).not.toContain('typed-only-7f3a');
  });

  it('records input too when the settings ask for it', async () => {
    const w = await world({ recordInput: true });
    const opened = await w.open(await w.host({ recordSessions: true }));
    await w.type(opened.sessionId, 'echo "in-$((3*3))"\r');
    await waitFor(() => /in-9/.test(w.output(opened.sessionId)), () => 'in-9');
    await w.close(opened.sessionId);
    const path = join(w.folder, opened.recording!);
    await waitFor(async () => (await events(path)).some((e) => e[1] === 'i' && e[2].includes('echo "in-$((3*3))"')), () => 'the input event');
  });

  it('a host that says no is not recorded even when its group records; nor is a host nobody asked about', async () => {
    const w = await world({});
    const groupId = await w.group(true);
    const no = await w.open(await w.host({ groupId, recordSessions: false }));
    const plain = await w.open(await w.host());
    expect(no.recording).toBeUndefined();
    expect(plain.recording).toBeUndefined();
    await w.type(no.sessionId, 'echo "x-$((1+1))"\r');
    await waitFor(() => /x-2/.test(w.output(no.sessionId)), () => 'x-2');
    expect(await readdir(w.folder)).toEqual([]);
  });

  it('with no usable recording folder the session still opens, and says why it is not recorded', async () => {
    const w = await world({ recordingFolder: '' });
    const opened = await w.open(await w.host({ recordSessions: true }));
    expect(opened.recording).toBeUndefined();
    expect(opened.recordingError).toMatchObject({ code: 'RecordingFolderUnusable', message: expect.stringContaining('not set') });
    await w.type(opened.sessionId, 'echo "still-$((4+4))"\r');
    await waitFor(() => /still-8/.test(w.output(opened.sessionId)), () => 'still-8');
  });
});
