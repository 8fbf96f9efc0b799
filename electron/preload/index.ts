import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

// Kept in step with electron/main/ipc-electron.ts; a sandboxed preload cannot import it.
const INVOKE_CHANNEL = 'keyless:invoke';
const EVENT_CHANNEL = 'keyless:event';
const NOTIFY_CHANNEL = 'keyless:notify';

/**
 * The whole surface the renderer gets: `invoke(channel, args)`, `notify(channel, args)` (one-way,
 * nothing comes back) and `on(event, cb) → unsubscribe`.
 * No ipcRenderer, no Node; main validates everything that comes through here.
 */
contextBridge.exposeInMainWorld('keyless', {
  invoke(channel: string, args: unknown): Promise<unknown> {
    return ipcRenderer.invoke(INVOKE_CHANNEL, String(channel), args);
  },
  notify(channel: string, args: unknown): void {
    ipcRenderer.send(NOTIFY_CHANNEL, String(channel), args);
  },
  on(event: string, listener: (payload: unknown) => void): () => void {
    const name = String(event);
    const wrapped = (_e: IpcRendererEvent, ev: unknown, payload: unknown) => {
      if (ev === name) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
    };
  },
});
