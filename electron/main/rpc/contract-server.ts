import {
  MAX_MESSAGE_BYTES,
  isNotifyChannel,
  isRequestChannel,
  notifications,
  requests,
  type EventName,
  type EventPayload,
  type KeylessError,
  type NotifyChannel,
  type Outcome,
  type ParsedNotifyArgs,
  type ParsedArgs,
  type RequestChannel,
  type RequestResult,
} from '../../contract';
import { DisposableStore, toDisposable, type Disposable } from '../base/lifecycle';
import { toKeylessError } from '../base/errors';
import type { Logger } from '../base/log';

/** One connected renderer (an Electron window, or a browser tab of the harness). */
export interface PeerContext {
  readonly peerId: string;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  /** Everything this peer owns (sessions, prompts); disposed when it disconnects. */
  readonly owned: DisposableStore;
}

export interface CallContext {
  readonly peer: PeerContext;
  /** Aborted by `op.cancel` with the call's requestId, or when the peer goes away. */
  readonly signal: AbortSignal;
}

export type Handler<C extends RequestChannel> = (
  args: ParsedArgs<C>,
  ctx: CallContext,
) => Promise<RequestResult<C>> | RequestResult<C>;
/** Runs for a valid notification; what it throws is logged, never sent back (nothing is). */
export type NotifyHandler<N extends NotifyChannel> = (args: ParsedNotifyArgs<N>, ctx: { readonly peer: PeerContext }) => void;
export type Handlers = { [C in Exclude<RequestChannel, 'op.cancel'>]: Handler<C> } & { [N in NotifyChannel]: NotifyHandler<N> };

export interface Peer extends Disposable {
  readonly context: PeerContext;
  /** `byteLength` is the size of the message as it arrived, checked before anything is parsed. */
  call(channel: unknown, args: unknown, byteLength: number): Promise<Outcome<unknown>>;
  /** A one-way message: checked like a call; an invalid one is dropped with a logged reason. */
  notify(channel: unknown, args: unknown, byteLength: number): void;
}

function refusal(code: KeylessError['code'], message: string, detail?: KeylessError['detail']): Outcome<never> {
  return { ok: false, error: detail ? { code, message, retryable: false, detail } : { code, message, retryable: false } };
}

/**
 * Serves the handlers to any transport. The renderer is untrusted: every call is size-checked,
 * its channel looked up in the contract and its arguments parsed with the channel's schema before
 * a handler runs. Refusals are typed errors, logged by channel and reason, never with the payload.
 */
export class ContractServer {
  constructor(
    private readonly handlers: Handlers,
    private readonly log: Logger,
  ) {}

  connect(peerId: string, sendEvent: (event: EventName, payload: unknown) => void): Peer {
    const owned = new DisposableStore();
    const pending = new Map<string, AbortController>();
    const peerAbort = new AbortController();
    owned.add(toDisposable(() => peerAbort.abort()));
    const context: PeerContext = {
      peerId,
      owned,
      emit: (event, payload) => {
        if (!owned.isDisposed) sendEvent(event, payload);
      },
    };

    const call = async (channel: unknown, rawArgs: unknown, byteLength: number): Promise<Outcome<unknown>> => {
      if (byteLength > MAX_MESSAGE_BYTES) {
        this.log.warn('refused oversized message', { peer: peerId, bytes: byteLength });
        return refusal('PayloadTooLarge', `Messages are limited to ${MAX_MESSAGE_BYTES} bytes.`, {
          limit: MAX_MESSAGE_BYTES,
          bytes: byteLength,
        });
      }
      if (!isRequestChannel(channel)) {
        // The name is the caller's text: log only its kind and length.
        this.log.warn('refused unknown channel', { peer: peerId, kind: typeof channel, length: typeof channel === 'string' ? channel.length : null });
        return refusal('UnknownChannel', 'No such channel.');
      }
      const parsed = requests[channel].args.safeParse(rawArgs);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.map(String).join('.') || '(arguments)';
        this.log.warn('refused malformed arguments', { peer: peerId, channel, field: where });
        return refusal('InvalidArguments', `Invalid ${where}: ${issue?.message ?? 'malformed'}`, { field: where });
      }
      const args = parsed.data as Record<string, unknown>;
      if (channel === 'op.cancel') {
        pending.get(args.requestId as string)?.abort();
        return { ok: true, value: { ok: true } };
      }
      const requestId = typeof args.requestId === 'string' ? args.requestId : undefined;
      const controller = new AbortController();
      const onPeerGone = () => controller.abort();
      peerAbort.signal.addEventListener('abort', onPeerGone, { once: true });
      if (requestId) pending.set(requestId, controller);
      try {
        const handler = this.handlers[channel] as Handler<typeof channel>;
        const value = await handler(args as never, { peer: context, signal: controller.signal });
        return { ok: true, value };
      } catch (err) {
        let error = toKeylessError(err);
        if (controller.signal.aborted && error.code === 'Internal') {
          error = { code: 'Cancelled', message: 'The operation was cancelled.', retryable: true };
        }
        if (error.code === 'Internal') {
          this.log.error('handler failed', { peer: peerId, channel, error: err instanceof Error ? err.message : String(err) });
        } else {
          this.log.info('call failed', { peer: peerId, channel, code: error.code });
        }
        return { ok: false, error };
      } finally {
        peerAbort.signal.removeEventListener('abort', onPeerGone);
        if (requestId && pending.get(requestId) === controller) pending.delete(requestId);
      }
    };

    const notify = (channel: unknown, rawArgs: unknown, byteLength: number): void => {
      if (owned.isDisposed) return;
      if (byteLength > MAX_MESSAGE_BYTES) {
        this.log.warn('dropped oversized notification', { peer: peerId, bytes: byteLength });
        return;
      }
      if (!isNotifyChannel(channel)) {
        this.log.warn('dropped notification on an unknown channel', { peer: peerId, kind: typeof channel, length: typeof channel === 'string' ? channel.length : null });
        return;
      }
      const parsed = notifications[channel].safeParse(rawArgs);
      if (!parsed.success) {
        const where = parsed.error.issues[0]?.path.map(String).join('.') || '(arguments)';
        this.log.warn('dropped malformed notification', { peer: peerId, channel, field: where });
        return;
      }
      try {
        (this.handlers[channel] as NotifyHandler<typeof channel>)(parsed.data, { peer: context });
      } catch (err) {
        const error = toKeylessError(err);
        if (error.code === 'Internal') {
          this.log.error('notification handler failed', { peer: peerId, channel, error: err instanceof Error ? err.message : String(err) });
        } else {
          // Usually an acknowledgement that crossed its session's close.
          this.log.debug('notification not applied', { peer: peerId, channel, code: error.code });
        }
      }
    };

    return {
      context,
      call,
      notify,
      dispose: () => {
        for (const c of pending.values()) c.abort();
        pending.clear();
        owned.dispose();
      },
    };
  }
}
