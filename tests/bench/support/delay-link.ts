import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

export interface DelayLink {
  port: number;
  /** Held in each direction; may be changed between runs (0: a plain relay with back-pressure). */
  ms: number;
  /** Client bursts that follow a server burst, over every connection: the round trips made. */
  turns: number;
  close(): void;
}

/**
 * A loopback TCP link holding each chunk `ms` in each direction (the network to the endpoint). No
 * Nagle on either side, so the link adds exactly its delay.
 */
export async function delayLink(targetPort: number, ms = 0): Promise<DelayLink> {
  const sockets = new Set<Socket>();
  const link: DelayLink = {
    port: 0,
    ms,
    turns: 0,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server: Server = createServer({ noDelay: true }, (client) => {
    const upstream = tcpConnect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    sockets.add(client).add(upstream);
    let last: 'client' | 'server' | undefined;
    const pipe = (from: Socket, to: Socket, side: 'client' | 'server') => {
      from.on('data', (d) => {
        if (side === 'client' && last !== 'client') link.turns++;
        last = side;
        const held = link.ms;
        if (held > 0) return void setTimeout(() => to.write(d), held);
        if (!to.write(d)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => setTimeout(() => to.end(), link.ms));
      from.on('error', () => to.destroy());
      from.on('close', () => setTimeout(() => to.destroy(), link.ms + 5));
    };
    pipe(client, upstream, 'client');
    pipe(upstream, client, 'server');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  link.port = (server.address() as { port: number }).port;
  return link;
}
