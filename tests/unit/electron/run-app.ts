import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { FakeElectron, type ElectronSurface, type FakeBrowserWindow } from './fake-electron';

const FAKE_KEY = '__keylessFakeElectron';

/** The fake of the current run (a test file's own imports load before any run: they get one of their own). */
export function currentFake(): FakeElectron {
  const holder = globalThis as unknown as Record<string, FakeElectron | undefined>;
  return (holder[FAKE_KEY] ??= new FakeElectron());
}

/**
 * The `electron` module for a test file's mock, `vi.mock('electron', async () => (await
 * import('./run-app')).electronModule())`: each part is the current run's, whenever it is read.
 */
export function electronModule(): ElectronSurface {
  return {
    get app() {
      return currentFake().app;
    },
    get BrowserWindow() {
      return currentFake().BrowserWindow;
    },
    get ipcMain() {
      return currentFake().ipcMain;
    },
    get ipcRenderer() {
      return currentFake().ipcRenderer;
    },
    get contextBridge() {
      return currentFake().contextBridge;
    },
    get protocol() {
      return currentFake().protocol;
    },
    get session() {
      return currentFake().session;
    },
    get shell() {
      return currentFake().shell;
    },
    get dialog() {
      return currentFake().dialog;
    },
  };
}

export interface RunningApp {
  electron: FakeElectron;
  window: FakeBrowserWindow;
  /** The app folder app.getAppPath() answers (out/renderer inside). */
  appPath: string;
  /** What the app logged (stderr lines). */
  logged(): string;
  stop(): void;
}

/**
 * Runs electron/main/app.ts as Electron would: the main script is evaluated, then the app
 * becomes ready. The real backend runs behind it, with its data in a temporary folder.
 * The test file mocks electron with currentFake (above).
 */
export async function runApp(opts: { singleInstanceLock?: boolean } = {}): Promise<RunningApp> {
  vi.resetModules();
  const dir = mkdtempSync(join(tmpdir(), 'keyless-unit-electron-'));
  const appPath = join(dir, 'app');
  mkdirSync(join(appPath, 'out', 'renderer'), { recursive: true });
  const electron = new FakeElectron();
  electron.appPath = appPath;
  electron.singleInstanceLock = opts.singleInstanceLock ?? true;
  (globalThis as unknown as Record<string, FakeElectron>)[FAKE_KEY] = electron;
  const lines: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  const home = process.env.KEYLESS_HOME;
  process.env.KEYLESS_HOME = join(dir, 'data');
  await import('../../../electron/main/app');
  electron.emitReady();
  if (electron.singleInstanceLock) {
    await vi.waitFor(
      () => {
        if (electron.ipcMainHandlers.size === 0) throw new Error('the app has not served IPC yet');
      },
      { timeout: 20_000, interval: 20 },
    );
  }
  return {
    electron,
    window: electron.windows[0]!,
    appPath,
    logged: () => lines.join(''),
    stop() {
      if (electron.windows.length > 0) electron.app.emit('window-all-closed');
      stderr.mockRestore();
      if (home === undefined) delete process.env.KEYLESS_HOME;
      else process.env.KEYLESS_HOME = home;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
