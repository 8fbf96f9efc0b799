import { decodeBinaryEvent, type ClientFrame, type KeylessBridge, type Outcome, type ServerFrame } from '../../../electron/contract';

/**
 * The browser harness's transport: the contract over a WebSocket to 127.0.0.1, authorised by the
 * per-run token from the page address. Calls made while (re)connecting wait for the socket.
 */
export function createWebBridge(url: string): KeylessBridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const waiting = new Map<number, (o: Outcome<unknown>) => void>();
  let nextId = 1;
  const socket = new WebSocket(url);
  // Terminal output comes as binary messages (see encodeBinaryEvent): bytes straight to xterm.js.
  socket.binaryType = 'arraybuffer';
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('connection refused')), { once: true });
  });
  socket.addEventListener('message', (msg: MessageEvent<string | ArrayBuffer>) => {
    if (typeof msg.data !== 'string') {
      const event = decodeBinaryEvent(msg.data);
      if (event) listeners.get(event.ev)?.forEach((l) => l(event.payload));
      return;
    }
    const frame = JSON.parse(msg.data) as ServerFrame;
    if (frame.t === 'result') {
      waiting.get(frame.id)?.(frame.outcome);
      waiting.delete(frame.id);
    } else {
      listeners.get(frame.ev)?.forEach((l) => l(frame.payload));
    }
  });
  socket.addEventListener('close', () => {
    for (const resolve of waiting.values()) {
      resolve({ ok: false, error: { code: 'SessionClosed', message: 'The connection to the Keyless backend closed.', retryable: true, detail: { cause: 'harness' } } });
    }
    waiting.clear();
  });
  return {
    async invoke(channel, args) {
      // Once open, the frame leaves now, not after the caller's task ends: a terminal's
      // acknowledgements must not wait for xterm.js to finish its whole time slice.
      if (socket.readyState !== WebSocket.OPEN) {
        try {
          await opened;
        } catch {
          return { ok: false, error: { code: 'NetworkError', message: 'The Keyless backend cannot be reached.', retryable: true, detail: { cause: 'harness' } } };
        }
      }
      const frame: ClientFrame = { t: 'call', id: nextId++, ch: channel, args };
      return new Promise((resolve) => {
        waiting.set(frame.id, resolve);
        socket.send(JSON.stringify(frame));
      });
    },
    notify(channel, args) {
      const frame: ClientFrame = { t: 'notify', ch: channel, args };
      const text = JSON.stringify(frame);
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
      else if (socket.readyState === WebSocket.CONNECTING) opened.then(() => socket.send(text), () => {});
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
}
