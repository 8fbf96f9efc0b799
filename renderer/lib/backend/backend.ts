import type {
  EventName,
  EventPayload,
  KeylessBridge,
  KeylessError,
  NotifyArgs,
  NotifyChannel,
  RequestArgs,
  RequestChannel,
  RequestResult,
} from '../../../electron/contract';
import { createWebBridge } from './web-bridge';

/** A failed call, as the renderer sees it: the typed error data from main, nothing else. */
export class BackendError extends Error {
  constructor(readonly error: KeylessError) {
    super(error.message);
  }
}

/** The renderer's only door to the platform: typed calls and events over whichever transport. */
export class Backend {
  constructor(private readonly bridge: KeylessBridge) {}

  async invoke<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
    const outcome = await this.bridge.invoke(channel, args);
    if (!outcome.ok) throw new BackendError(outcome.error);
    return outcome.value as RequestResult<C>;
  }

  /** A one-way message (acknowledgements): leaves now, nothing comes back, invalid ones are dropped by main. */
  notify<N extends NotifyChannel>(channel: N, args: NotifyArgs<N>): void {
    this.bridge.notify(channel, args);
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.bridge.on(event, listener as (p: unknown) => void);
  }
}

declare global {
  interface Window {
    keyless?: KeylessBridge;
  }
}

const TOKEN_KEY = 'keyless.harnessToken';

/**
 * The harness token: from the page address when the printed URL was opened, else the one this
 * browser tab kept (sessionStorage: this tab only, gone when it closes; the token is new every run
 * of the harness, so an old one opens nothing) — a reload (F5) reconnects.
 */
function harnessToken(): string {
  const given = new URLSearchParams(location.search).get('token');
  try {
    if (given) sessionStorage.setItem(TOKEN_KEY, given);
    return given ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return given ?? '';
  }
}

/** Electron's preload bridge when present; otherwise the harness WebSocket with the page's token. */
export function connectBackend(): Backend {
  if (window.keyless) return new Backend(window.keyless);
  const token = harnessToken();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/rpc?token=${encodeURIComponent(token)}`;
  return new Backend(createWebBridge(url));
}
