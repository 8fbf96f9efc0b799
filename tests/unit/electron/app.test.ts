import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INVOKE_CHANNEL, NOTIFY_CHANNEL } from '../../../electron/main/ipc-electron';
import { CONTENT_SECURITY_POLICY } from '../../../electron/main/web/harness-server';
import { FakeWebContents, FakeWebFrameMain } from './fake-electron';
import { runApp, type RunningApp } from './run-app';

vi.mock('electron', async () => (await import('./run-app')).electronModule());

let running: RunningApp | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});
const start = async (opts?: Parameters<typeof runApp>[0]) => (running = await runApp(opts));

// The first run loads the whole backend (every service module): allow for a slow, shared machine.
describe('the Electron shell (app.ts, window.ts, ipc-electron.ts) against a fake of electron', { timeout: 60_000 }, () => {
  it('opens one window: sandboxed, isolated, no Node, web security on, loading only app://keyless', async () => {
    const { electron, window } = await start();
    expect(electron.windows).toHaveLength(1);
    expect(window.options.webPreferences).toEqual({
      preload: expect.stringMatching(/[\\/]preload[\\/]index\.cjs$/),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    });
    expect(window.loaded).toEqual(['app://keyless/index.html']);
    // Shown once the page has painted, not as an empty frame.
    expect(window.options.show).toBe(false);
    await vi.waitFor(() => expect(window.isVisible()).toBe(true));
    // app:// is a standard, secure scheme, and nothing more (no CSP bypass, no service workers).
    expect(electron.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  it('refuses navigation, new windows (http ones too), webviews, permissions and requests that leave the app', async () => {
    const { electron, window } = await start();
    // Every web contents, not only the window's: one Electron makes later (devtools, a popup) too.
    const later = new FakeWebContents(electron);
    electron.app.emit('web-contents-created', { preventDefault() {}, defaultPrevented: false }, later);
    for (const contents of [window.contents, later]) {
      expect(contents.navigate('https://evil.example/')).toBe(false);
      expect(contents.navigate('file:///etc/passwd')).toBe(false);
      for (const url of ['https://example.com/', 'http://example.com/', 'javascript:alert(1)', 'file:///etc/passwd', 'app://keyless/index.html']) {
        expect(contents.openWindow(url), url).toBe('deny');
      }
      expect(contents.attachWebview('https://evil.example/')).toBe(false);
    }
    expect(window.contents.mainFrame.url).toBe('app://keyless/index.html');
    // Opening a link is the renderer's question and link.open's job, never a new window.
    expect(electron.openedExternally).toEqual([]);

    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen'] as const) {
      expect(await electron.requestPermission(window.contents, permission), permission).toBe(false);
      expect(electron.checkPermission(window.contents, permission, 'app://keyless'), permission).toBe(false);
    }

    expect(await electron.request('app://keyless/index.html', window.contents)).toBe(true);
    for (const url of ['https://evil.example/x', 'http://127.0.0.1:8080/', 'ws://127.0.0.1:1/', 'file:///etc/passwd', 'app://keyless.evil/x', 'app://other/index.html']) {
      expect(await electron.request(url, window.contents), url).toBe(false);
    }
  });

  it('serves app:// from the renderer folder only, with the CSP and nosniff on every response', async () => {
    const { electron, appPath } = await start();
    const renderer = join(appPath, 'out', 'renderer');
    mkdirSync(join(renderer, 'assets'));
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Keyless</title>');
    writeFileSync(join(renderer, 'assets', 'app.js'), 'export {};');
    writeFileSync(join(appPath, 'secret.txt'), 'SECRET');
    mkdirSync(join(appPath, 'out', 'renderer-other'));
    writeFileSync(join(appPath, 'out', 'renderer-other', 'x.html'), 'SECRET');
    symlinkSync(join(appPath, 'secret.txt'), join(renderer, 'leak.txt'));
    symlinkSync(appPath, join(renderer, 'escape'));
    symlinkSync(join(renderer, 'assets', 'app.js'), join(renderer, 'alias.js'));

    const get = async (path: string) => {
      const res = await electron.fetch(`app://keyless/${path}`);
      expect(res.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    expect(await get('index.html')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html><title>Keyless</title>' });
    expect(await get('assets/app.js')).toMatchObject({ status: 200, body: 'export {};' });
    // A link that stays inside the folder is one of its files.
    expect(await get('alias.js')).toMatchObject({ status: 200, body: 'export {};' });

    const refused = [
      '../../secret.txt',
      '%2e%2e/%2e%2e/secret.txt',
      '..%2f..%2fsecret.txt',
      '%2E%2E%2F%2E%2E%2Fsecret.txt',
      'assets/..%2f..%2f..%2fsecret.txt',
      '..%2frenderer-other/x.html',
      '..%5c..%5csecret.txt',
      'leak.txt',
      'escape/secret.txt',
      'escape/out/renderer-other/x.html',
      '%E0%A4%A',
      'index.html%00.js',
      'missing.js',
      'assets',
      '',
    ];
    for (const path of refused) {
      const got = await get(path);
      expect(got.status, path).toBe(404);
      expect(got.body, path).not.toContain('SECRET');
    }
    const otherHost = await electron.fetch('app://other/index.html');
    expect(otherHost.status).toBe(404);
    expect(otherHost.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it("serves the contract to the window's main frame on app://keyless, and refuses other frames, windows and origins", async () => {
    const { electron, window, logged } = await start();
    const main = window.contents.frame;
    const info = await window.contents.invoke(INVOKE_CHANNEL, main, 'app.info', {});
    expect(info).toEqual({ ok: true, value: { version: '9.8.7', platform: process.platform, systemLocale: 'ja', transport: 'electron' } });

    const refusedFrom = async (contents: FakeWebContents, frame: FakeWebFrameMain | null) => {
      const outcome = (await contents.invoke(INVOKE_CHANNEL, frame, 'app.info', {})) as { ok: boolean; error?: { code: string } };
      return outcome.ok === false && outcome.error?.code === 'ForeignSender';
    };
    // An iframe of our own page, even one on our own origin.
    expect(await refusedFrom(window.contents, new FakeWebFrameMain('app://keyless/index.html', main as never))).toBe(true);
    // A frame that is gone.
    expect(await refusedFrom(window.contents, null)).toBe(true);
    // Another web contents, even showing our page.
    const other = new FakeWebContents(electron);
    other.frame.url = 'app://keyless/index.html';
    expect(await refusedFrom(other, other.frame)).toBe(true);
    // Our main frame showing something else (look-alike hosts included).
    for (const url of ['https://evil.example/', 'app://keyless.evil/index.html', 'file:///index.html', 'about:blank']) {
      main.url = url;
      expect(await refusedFrom(window.contents, main), url).toBe(true);
    }
    main.url = 'app://keyless/index.html';
    expect(logged()).toContain('refused call from a foreign sender');
    expect(logged()).toContain('frameOrigin="https://evil.example"');

    // One-way messages get the same check.
    other.sendToMain(NOTIFY_CHANNEL, other.frame, 'session.ack', { sessionId: 's1', bytes: 1 });
    expect(logged()).toContain('dropped notification from a foreign sender');
  });

  it('opens a link only through link.open: http(s), as the parsed address, in the system browser', async () => {
    const { electron, window } = await start();
    const call = (url: string) => window.contents.invoke(INVOKE_CHANNEL, window.contents.frame, 'link.open', { url });
    expect(await call('https://example.com/a b?q=<x>')).toEqual({ ok: true, value: { opened: true } });
    expect(electron.openedExternally).toEqual(['https://example.com/a%20b?q=%3Cx%3E']);
    for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'https://user:pw@example.com/', 'smb://host/share']) {
      expect(await call(url), url).toMatchObject({ ok: false, error: { code: 'InvalidArguments' } });
    }
    expect(electron.openedExternally).toHaveLength(1);
  });

  it('brings the window back when the app is started a second time', async () => {
    const { electron, window } = await start();
    window.minimize();
    expect(window.isFocused()).toBe(false);
    electron.secondInstance(['keyless', '--again']);
    expect(window.isMinimized()).toBe(false);
    expect(window.isFocused()).toBe(true);
    expect(electron.windows).toHaveLength(1);
  });

  it('a second start that does not get the lock quits at once: no window, no IPC, no app://', async () => {
    const { electron } = await start({ singleInstanceLock: false });
    await new Promise((resolve) => setImmediate(resolve));
    expect(electron.quitCalls).toBe(1);
    expect(electron.windows).toEqual([]);
    expect(electron.ipcMainHandlers.size).toBe(0);
    expect(electron.protocolHandlers.size).toBe(0);
  });

  it('closing the window removes the IPC handlers and quits', async () => {
    const { electron } = await start();
    expect(electron.ipcMain.listenerCount(NOTIFY_CHANNEL)).toBe(1);
    electron.app.emit('window-all-closed');
    expect(electron.ipcMainHandlers.size).toBe(0);
    expect(electron.ipcMain.listenerCount(NOTIFY_CHANNEL)).toBe(0);
    expect(electron.quitCalls).toBe(1);
  });
});
