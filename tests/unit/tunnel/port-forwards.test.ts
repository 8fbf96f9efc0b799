import { createConnection, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EventName, EventPayload } from '../../../electron/contract';
import { DisposableStore } from '../../../electron/main/base/lifecycle';
import { silentLogger } from '../../../electron/main/base/log';
import type { PeerContext } from '../../../electron/main/rpc/contract-server';
import { EICE_FORWARD_TUNNELS, PortForwards, type ForwardConnection, type ForwardRoutes } from '../../../electron/main/tunnel/port-forwards';

function peer(): PeerContext & { events: { event: string; payload: unknown }[] } {
  const events: { event: string; payload: unknown }[] = [];
  return {
    peerId: 'p1',
    owned: new DisposableStore(),
    events,
    emit<E extends EventName>(event: E, payload: EventPayload<E>) {
      events.push({ event, payload });
    },
  };
}

/** A lease whose connection can drop at a chosen moment, as the pool's does. */
function lease() {
  const listeners = new Set<(reason?: never) => void>();
  const state = { closed: false, disposed: 0 };
  const conn: ForwardConnection = {
    forwardOut: async () => new PassThrough(),
    onDrop: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    get isClosed() {
      return state.closed;
    },
    dispose: () => void state.disposed++,
  };
  const drop = () => {
    state.closed = true;
    for (const l of listeners) l();
  };
  return { conn, state, drop };
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe('port forwards over a pooled connection', () => {
  it('a connection that drops once the forward is open closes the forward and tells the window', async () => {
    const forwards = new PortForwards(silentLogger);
    const p = peer();
    const l = lease();
    const routes: ForwardRoutes = { borrow: async () => l.conn, endpointTunnel: async () => ({ address: '', open: async () => new PassThrough() }) };
    const info = await forwards.open({ kind: 'ssh', localPort: 0, remotePort: 5432, label: 'db' }, routes, p, new AbortController().signal);
    expect(forwards.list(p).map((f) => f.forwardId)).toEqual([info.forwardId]);
    l.drop();
    expect(forwards.list(p)).toEqual([]);
    expect(p.events).toEqual([{ event: 'forward.closed', payload: { forwardId: info.forwardId } }]);
    expect(l.state.disposed).toBe(1);
    expect(await refused(info.localPort)).toBe(true);
    forwards.dispose();
  });

  it('a connection that drops before the forward watches it refuses the forward instead of listing a dead one', async () => {
    const forwards = new PortForwards(silentLogger);
    const p = peer();
    const l = lease();
    // The drop lands after the lease is lent and before the forward watches for drops.
    const routes: ForwardRoutes = {
      borrow: async () => {
        queueMicrotask(l.drop);
        return l.conn;
      },
      endpointTunnel: async () => ({ address: '', open: async () => new PassThrough() }),
    };
    await expect(forwards.open({ kind: 'ssh', localPort: 0, remotePort: 5432, label: 'db' }, routes, p, new AbortController().signal)).rejects.toMatchObject({ code: 'SessionClosed' });
    expect(forwards.list(p)).toEqual([]);
    expect(l.state.disposed).toBe(1);
    forwards.dispose();
  });
});

describe('port forwards through an endpoint', () => {
  it('hold at most half the endpoint\'s tunnels; the next connection waits for one to end, and what it sent first arrives', async () => {
    const forwards = new PortForwards(silentLogger);
    const p = peer();
    // Each tunnel keeps what it is sent; pushing null is its server closing.
    const tunnels: Array<{ stream: Duplex; sent: Buffer[] }> = [];
    const routes: ForwardRoutes = {
      borrow: async () => lease().conn,
      endpointTunnel: async () => ({
        address: '10.0.0.5',
        open: async () => {
          const sent: Buffer[] = [];
          const stream = new Duplex({
            read() {},
            write(chunk: Buffer, _enc, cb) {
              sent.push(chunk);
              cb();
            },
          });
          tunnels.push({ stream, sent });
          return stream;
        },
      }),
    };
    const info = await forwards.open({ kind: 'eice', localPort: 0, remotePort: 22, label: 'web' }, routes, p, new AbortController().signal);
    const connect = () =>
      new Promise<Socket>((resolve) => {
        const s = createConnection({ port: info.localPort, host: '127.0.0.1' }, () => resolve(s));
      });
    const clients: Socket[] = [];
    for (let i = 0; i < EICE_FORWARD_TUNNELS; i++) clients.push(await connect());
    await until(() => tunnels.length === EICE_FORWARD_TUNNELS);
    const late = await connect();
    late.write('SSH-2.0-late\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(EICE_FORWARD_TUNNELS).toBe(10);
    expect(tunnels).toHaveLength(EICE_FORWARD_TUNNELS);
    // One ends (its server closes, as sshd does after its client's disconnect): the waiting one
    // gets its tunnel, with the bytes it sent while it waited.
    tunnels[0]!.stream.push(null);
    await until(() => tunnels.length === EICE_FORWARD_TUNNELS + 1);
    await until(() => tunnels.at(-1)!.sent.length > 0);
    expect(Buffer.concat(tunnels.at(-1)!.sent).toString()).toBe('SSH-2.0-late\r\n');
    for (const c of [...clients, late]) c.destroy();
    forwards.dispose();
  });
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

