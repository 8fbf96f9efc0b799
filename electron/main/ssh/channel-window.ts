import type { Channel } from 'ssh2';

/** The fields of ssh2's channel (1.x, lib/Channel.js and lib/client.js) that granting its window takes; not in its types. */
interface Ssh2ChannelFields {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client: { _protocol: { channelWindowAdjust(id: number, amount: number): void } };
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
    if (typeof ch.incoming?.window !== 'number' || typeof ch.outgoing?.id !== 'number' || typeof ch._client?._protocol?.channelWindowAdjust !== 'function') return undefined;
    return new ChannelWindow(ch as Ssh2ChannelFields);
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
