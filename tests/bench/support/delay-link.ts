import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

/** A loopback TCP link holding each chunk `ms` in each direction (the network to the endpoint). */
export async function delayLink(targetPort: number): Promise<{ port: number; ms: number; close(): void }> {
  const sockets = new Set<Socket>();
  const link = {
    port: 0,
    ms: 0,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server: Server = createServer({ noDelay: true }, (client) => {
    const upstream = tcpConnect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (d) => {
        const ms = link.ms;
        if (ms > 0) return void setTimeout(() => to.write(d), ms);
        if (!to.write(d)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => setTimeout(() => to.end(), link.ms));
      from.on('error', () => to.destroy());
      from.on('close', () => setTimeout(() => to.destroy(), link.ms + 5));
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  link.port = (server.address() as { port: number }).port;
  return link;
}
