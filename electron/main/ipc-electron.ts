import { ipcMain, type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import type { EventName, Outcome } from '../contract';
import type { Logger } from './base/log';
import type { Disposable } from './base/lifecycle';
import type { ContractServer } from './rpc/contract-server';
import { isOwnSender } from './rpc/sender-check';

export const INVOKE_CHANNEL = 'keyless:invoke';
export const EVENT_CHANNEL = 'keyless:event';
export const NOTIFY_CHANNEL = 'keyless:notify';

/** Size of what arrived over IPC, as it would be on the wire; bounded by the message itself. */
function sizeOf(channel: unknown, args: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify([channel, args]) ?? '');
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'invalid';
  }
}

/**
 * The one place that touches ipcMain: serves the contract to our window's main frame and
 * refuses every other sender with a typed error.
 */
export function serveOverIpc(server: ContractServer, window: BrowserWindow, appOrigin: string, log: Logger): Disposable {
  const peer = server.connect('window', (event: EventName, payload: unknown) => {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event, payload);
  });
  const handler = async (event: IpcMainInvokeEvent, channel: unknown, args: unknown): Promise<Outcome<unknown>> => {
    const ours = isOwnSender(event, { webContents: window.webContents, mainFrame: window.webContents.mainFrame }, appOrigin);
    if (!ours) {
      log.warn('refused call from a foreign sender', { frameOrigin: event.senderFrame ? safeOrigin(event.senderFrame.url) : null });
      return { ok: false, error: { code: 'ForeignSender', message: 'Calls are accepted only from the Keyless window.', retryable: false } };
    }
    return peer.call(channel, args, sizeOf(channel, args));
  };
  // One-way messages (ipcRenderer.send): the same sender check; nothing is sent back, so a refusal is only logged.
  const onNotify = (event: IpcMainEvent, channel: unknown, args: unknown): void => {
    if (!isOwnSender(event, { webContents: window.webContents, mainFrame: window.webContents.mainFrame }, appOrigin)) {
      log.warn('dropped notification from a foreign sender', { frameOrigin: event.senderFrame ? safeOrigin(event.senderFrame.url) : null });
      return;
    }
    peer.notify(channel, args, sizeOf(channel, args));
  };
  ipcMain.handle(INVOKE_CHANNEL, handler);
  ipcMain.on(NOTIFY_CHANNEL, onNotify);
  return {
    dispose() {
      ipcMain.removeHandler(INVOKE_CHANNEL);
      ipcMain.removeListener(NOTIFY_CHANNEL, onNotify);
      peer.dispose();
    },
  };
}
