import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNEL, INVOKE_CHANNEL, NOTIFY_CHANNEL } from '../../../electron/main/ipc-electron';
import { runApp, type RunningApp } from './run-app';

vi.mock('electron', async () => (await import('./run-app')).electronModule());

interface KeylessApi {
  invoke(channel: string, args: unknown): Promise<unknown>;
  notify(channel: string, args: unknown): void;
  on(event: string, listener: (payload: unknown) => void): () => void;
}

let running: RunningApp | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** The app running, and the preload run in its window's page, as Electron does before the page's scripts. */
async function pageWithPreload(): Promise<{ app: RunningApp; api: KeylessApi }> {
  const app = (running = await runApp());
  app.electron.runPreloadIn(app.window.contents);
  await import('../../../electron/preload/index');
  return { app, api: app.electron.mainWorld['keyless'] as KeylessApi };
}

describe('the preload against a fake of electron', { timeout: 60_000 }, () => {
  it('exposes exactly window.keyless = { invoke, notify, on }, all functions, and nothing else', async () => {
    const { app, api } = await pageWithPreload();
    expect(Object.keys(app.electron.mainWorld)).toEqual(['keyless']);
    expect(Object.keys(api).sort()).toEqual(['invoke', 'notify', 'on']);
    for (const fn of Object.values(api)) expect(typeof fn).toBe('function');
  });

  it("reaches main's contract over the same channels ipc-electron.ts serves", async () => {
    const { app, api } = await pageWithPreload();
    expect(app.electron.ipcMainHandlers.has(INVOKE_CHANNEL)).toBe(true);
    expect(await api.invoke('app.info', {})).toMatchObject({ ok: true, value: { transport: 'electron' } });
    // Whatever the page passes as a channel name goes as a string, and main answers with a typed error.
    expect(await api.invoke({ toString: () => 'no.such' } as unknown as string, {})).toMatchObject({ ok: false, error: { code: 'UnknownChannel' } });
    // One-way: nothing comes back, and main takes it on the notify channel without complaint.
    expect(api.notify('session.ack', { sessionId: 's1', bytes: 1 })).toBeUndefined();
    expect(app.electron.ipcMain.listenerCount(NOTIFY_CHANNEL)).toBe(1);
    expect(app.logged()).not.toContain('foreign sender');
  });

  it('passes a listener only its own event’s payload, never the IPC event, and unsubscribes', async () => {
    const { app, api } = await pageWithPreload();
    const got: unknown[] = [];
    const off = api.on('session.data', (payload) => got.push(payload));
    expect(app.electron.ipcRenderer.listenerCount(EVENT_CHANNEL)).toBe(1);
    app.electron.deliverToPage(EVENT_CHANNEL, 'session.state', { sessionId: 's1', state: 'closed' });
    app.electron.deliverToPage(EVENT_CHANNEL, 'session.data', { sessionId: 's1', data: 'hi' });
    expect(got).toEqual([{ sessionId: 's1', data: 'hi' }]);
    off();
    expect(app.electron.ipcRenderer.listenerCount(EVENT_CHANNEL)).toBe(0);
    app.electron.deliverToPage(EVENT_CHANNEL, 'session.data', { sessionId: 's1', data: 'later' });
    expect(got).toHaveLength(1);
  });

  it("main's events reach the page through it: a saved host brings hosts.changed to on()", async () => {
    const { app, api } = await pageWithPreload();
    const changed: unknown[] = [];
    api.on('hosts.changed', (payload) => changed.push(payload));
    expect(await api.invoke('hosts.list', {})).toMatchObject({ ok: true });
    const host = { kind: 'ssh', name: 'web', host: 'web.example.com', port: 22, user: 'ubuntu', auth: { type: 'agent' } };
    expect(await api.invoke('hosts.save', { host })).toMatchObject({ ok: true, value: { name: 'web' } });
    await vi.waitFor(() => expect(changed).toEqual([{}]), { timeout: 10_000 });
    expect(app.window.contents.sent.map((m) => m.slice(0, 2))).toContainEqual([EVENT_CHANNEL, 'hosts.changed']);
  });
});
