import { bytesPayload, decodeBinaryEvent, encodeBinaryEvent, type ClientFrame, type EventName, type KeylessBridge, type Outcome } from '../../electron/contract';
import type { ContractServer, Peer } from '../../electron/main/rpc/contract-server';

/**
 * A client bridge wired straight to a server peer, with every message passed through JSON as it
 * would be on a wire (events carrying bytes through the harness's binary frame). Tests only: the app
 * talks over Electron IPC or the harness's WebSocket.
 */
export function connectInMemory(server: ContractServer, peerId = 'memory'): { bridge: KeylessBridge; peer: Peer } {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const peer = server.connect(peerId, (event: EventName, payload: unknown) => {
    const withBytes = bytesPayload(payload);
    // encodeBinaryEvent makes an array of its own, so its buffer is exactly the message.
    const copy: unknown = withBytes ? decodeBinaryEvent(encodeBinaryEvent(event, withBytes).buffer)?.payload : JSON.parse(JSON.stringify(payload));
    queueMicrotask(() => listeners.get(event)?.forEach((l) => l(copy)));
  });
  let nextId = 1;
  const bridge: KeylessBridge = {
    async invoke(channel, args) {
      const frame: ClientFrame = { t: 'call', id: nextId++, ch: channel, args };
      const text = JSON.stringify(frame);
      const wire = JSON.parse(text) as ClientFrame;
      const outcome = await peer.call(wire.ch, wire.args, Buffer.byteLength(text));
      return JSON.parse(JSON.stringify(outcome)) as Outcome<unknown>;
    },
    notify(channel, args) {
      const frame: ClientFrame = { t: 'notify', ch: channel, args };
      const text = JSON.stringify(frame);
      const wire = JSON.parse(text) as ClientFrame;
      peer.notify(wire.ch, wire.args, Buffer.byteLength(text));
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  return { bridge, peer };
}
