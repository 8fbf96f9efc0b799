import { app, dialog, protocol, session, shell } from 'electron';
import { join } from 'node:path';
import { openableUrl } from '../contract';
import { fail } from './base/errors';
import { createLogger } from './base/log';
import { createBackend, defaultHome } from './backend';
import { serveOverIpc } from './ipc-electron';
import { ContractServer } from './rpc/contract-server';
import { APP_SCHEME, serveAppFiles } from './web/app-protocol';
import { APP_ORIGIN, createMainWindow } from './window';

const log = createLogger('app');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  void app.whenReady().then(async () => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);
    // Our own files only, from the bundled renderer folder (electron-vite's renderer outDir inside
    // the app folder or app.asar), with the CSP on every response.
    protocol.handle(APP_SCHEME, serveAppFiles(join(app.getAppPath(), 'out', 'renderer')));
    ses.webRequest.onBeforeRequest((details, callback) => {
      const allowed = details.url.startsWith(`${APP_ORIGIN}/`) || details.url.startsWith('devtools://');
      callback({ cancel: !allowed });
    });

    const backend = await createBackend({
      home: process.env.KEYLESS_HOME ?? defaultHome(),
      transport: 'electron',
      version: app.getVersion(),
      systemLocale: app.getLocale(),
      log,
      agentSocket: process.env.SSH_AUTH_SOCK,
      chooseFolder: async () => {
        const picked = await dialog.showOpenDialog({ properties: ['openDirectory', 'createDirectory'] });
        return picked.canceled ? null : (picked.filePaths[0] ?? null);
      },
      // Files to upload: the backend reads only what the person picked here, never a path the renderer names.
      chooseFiles: async (folders) => {
        const picked = await dialog.showOpenDialog({ properties: folders ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'] });
        return picked.canceled ? null : picked.filePaths;
      },
      // The contract already admits only http(s) without credentials; checked again at the last
      // door, and the parsed address (what the person was shown) is what opens.
      openExternal: async (url) => {
        const href = openableUrl(url);
        if (!href) fail('InvalidArguments', 'Only http and https addresses are opened.');
        await shell.openExternal(href);
      },
    });
    const server = new ContractServer(backend.handlers, log);
    const win = createMainWindow();
    const ipc = serveOverIpc(server, win, APP_ORIGIN, log);
    // While the window loads the page, the saved hosts are read and checked for its first call.
    backend.warm();
    app.on('second-instance', () => {
      if (win.isMinimized()) win.restore();
      win.focus();
    });
    app.on('window-all-closed', () => {
      ipc.dispose();
      backend.dispose();
      app.quit();
    });
  });
}
