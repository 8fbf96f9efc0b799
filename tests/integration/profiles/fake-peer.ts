import type { EventName, EventPayload } from '../../../electron/contract';
import { DisposableStore } from '../../../electron/main/base/lifecycle';
import type { CallContext, PeerContext } from '../../../electron/main/rpc/contract-server';

export interface RecordedEvent {
  event: EventName;
  payload: unknown;
}

/** A renderer stand-in: records the events main sends it, and reacts to them with `on`. */
export function fakePeer(id = 'peer-1') {
  const events: RecordedEvent[] = [];
  const reactions: Array<(e: RecordedEvent) => void> = [];
  const peer: PeerContext = {
    peerId: id,
    owned: new DisposableStore(),
    emit(event, payload) {
      const e = { event, payload };
      events.push(e);
      for (const r of reactions) queueMicrotask(() => r(e));
    },
  };
  return {
    peer,
    events,
    on<E extends EventName>(event: E, fn: (p: EventPayload<E>) => void) {
      reactions.push((e) => e.event === event && fn(e.payload as EventPayload<E>));
    },
    call(signal: AbortSignal = new AbortController().signal): CallContext {
      return { peer, signal };
    },
  };
}
