import type { Channel, Client } from 'ssh2';

/** The fields of ssh2's channel (1.x, lib/Channel.js and lib/client.js) that granting its window takes; not in its types. */
interface Ssh2ChannelFields {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client: { _protocol: { channelWindowAdjust(id: number, amount: number): void } };
}

/** ssh2 opens every channel offering this window (lib/Channel.js MAX_WINDOW) and counts from it. */
export const SSH2_OPEN_WINDOW = 2 * 1024 * 1024;

/** Channels opened offering less than ssh2's 2 MiB (openWithWindow): what they offered. */
const openedWith = new WeakMap<object, number>();

interface Ssh2ClientFields {
  _protocol: { session(localChan: number, initWindow: number, maxPacket: number): void; channelWindowAdjust(id: number, amount: number): void };
}

/**
 * Opens one session channel offering the server `window` bytes instead of ssh2's 2 MiB: `open`
 * must ask ssh2's client for exactly one session channel (shell, exec), which ssh2 sends
 * synchronously. The server may then send only `window` bytes before Keyless grants more, where
 * ssh2's 2 MiB would let a flood run that far ahead of a slow page from the first second. ssh2
 * still counts 2 MiB; `ChannelWindow.of` corrects its count (see `opened`). With an ssh2 that does
 * not look like this one, `open` runs as it is.
 */
export function openWithWindow<T extends Channel>(client: Client, window: number, open: (done: (channel: T) => void) => void): void {
  const proto = (client as unknown as Partial<Ssh2ClientFields>)._protocol;
  if (typeof proto?.session !== 'function' || typeof proto.channelWindowAdjust !== 'function' || window >= SSH2_OPEN_WINDOW) {
    open(() => undefined);
    return;
  }
  const session = proto.session;
  proto.session = function (this: unknown, localChan: number, _initWindow: number, maxPacket: number) {
    return session.call(this, localChan, window, maxPacket);
  };
  try {
    open((channel) => openedWith.set(channel, window));
  } finally {
    proto.session = session;
  }
}

/**
 * The receive window of one ssh2 channel, granted by Keyless instead of ssh2. ssh2 has no option
 * for it: it opens every channel with 2 MiB and tops the window back up to 2 MiB once half is
 * used. Grants here go through ssh2's own packet writer and keep its count right, so its top-up
 * only fires when the count falls under 1 MiB (never, once lifted). The terminal bounds what is in
 * flight after a Ctrl-C with it; SFTP keeps a larger window open for a far host.
 */
export class ChannelWindow {
  private constructor(private readonly ch: Ssh2ChannelFields) {}

  /** Undefined when this ssh2 does not look like the one this was written for: its own window handling then stays. */
  static of(channel: Channel): ChannelWindow | undefined {
    const ch = channel as unknown as Partial<Ssh2ChannelFields>;
    if (typeof ch.incoming?.window !== 'number' || typeof ch.outgoing?.id !== 'number' || typeof ch._client?._protocol?.channelWindowAdjust !== 'function') {
      // Opened offering less than ssh2 counts, and its count cannot be set right: grant the
      // difference, or ssh2's own top-up (at 1 MiB counted) would wait for bytes never sent.
      const offered = openedWith.get(channel);
      openedWith.delete(channel);
      const id = ch.outgoing?.id;
      // Only for a channel whose id is known: a packet for another channel would end the connection.
      if (offered !== undefined && typeof id === 'number') (channel as unknown as Partial<Ssh2ChannelFields>)._client?._protocol?.channelWindowAdjust?.(id, SSH2_OPEN_WINDOW - offered);
      return undefined;
    }
    return new ChannelWindow(ch as Ssh2ChannelFields);
  }

  /**
   * What ssh2 counts beyond what the server may really send: a channel opened offering less
   * (openWithWindow) is counted from 2 MiB. Lift by `bytes - overcount()` to make the count right
   * and keep ssh2's top-up off in one step (lowering the count alone would set it off).
   */
  get overcount(): number {
    const offered = openedWith.get(this.ch);
    return offered === undefined ? 0 : SSH2_OPEN_WINDOW - offered;
  }

  /** ssh2's count of the window: what the server may still send, plus anything lifted. */
  get count(): number {
    return this.ch.incoming.window;
  }

  /** Raises ssh2's count without telling the server, so ssh2's own top-up never fires. */
  lift(bytes: number): void {
    this.ch.incoming.window += bytes;
  }

  /** Lets the server send `bytes` more (nothing once the channel is closing). */
  grant(bytes: number): void {
    if (this.ch.outgoing.state !== 'open') return;
    this.ch.incoming.window += bytes;
    this.ch._client._protocol.channelWindowAdjust(this.ch.outgoing.id, bytes);
  }
}
