import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { silentLogger } from '../../../electron/main/base/log';
import { sleep } from '../../../electron/main/base/sleep';
import type { Connection, ConnectHooks, Connector, Dialer } from '../../../electron/main/connect/connector';
import { EndpointBudget } from '../../../electron/main/connect/endpoint-budget';
import { ConnectionPool } from '../../../electron/main/connect/pool';
import type { Hop, Route } from '../../../electron/main/connect/route';
import type { SshConnection } from '../../../electron/main/ssh/connection';

/** Stands in for an ssh2 connection: closes when told, or drops with a reason. */
class FakeSsh {
  isClosed = false;
  private listeners = new Set<(r?: KeylessFailure) => void>();
  forwarded: string[] = [];
  onClose(l: (r?: KeylessFailure) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  end() {
    this.drop();
  }
  drop(reason?: KeylessFailure) {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const l of [...this.listeners]) l(reason);
  }
  async forwardOut(_src: number, host: string, port: number) {
    this.forwarded.push(`${host}:${port}`);
    return {} as never;
  }
}

/** A connector that counts what it was asked to make, as the simulator counts key pushes. */
class CountingConnector implements Connector<Hop> {
  made: Array<{ hop: string; via: boolean; ssh: FakeSsh }> = [];
  failNext: KeylessFailure[] = [];
  deadlineMs: number | undefined;
  endpointId: string | undefined;
  async connect(hop: Hop, dial: Dialer | undefined, hooks: ConnectHooks): Promise<Connection> {
    await sleep(5, hooks.signal, 'The connection was cancelled.');
    const fail = this.failNext.shift();
    if (fail) throw fail;
    if (dial) await dial(hop.kind === 'ssh' ? hop.host : '10.0.0.9', 22, new AbortController().signal);
    const ssh = new FakeSsh();
    this.made.push({ hop: hop.label, via: dial !== undefined, ssh });
    return {
      ssh: ssh as unknown as SshConnection,
      route: { kind: this.endpointId ? 'eice' : 'ssh', address: hop.label, port: 22, ...(this.endpointId ? { endpointId: this.endpointId } : {}) },
      osUser: 'admin',
      ...(this.deadlineMs !== undefined ? { tunnelDeadline: Date.now() + this.deadlineMs } : {}),
    };
  }
}

const hop = (label: string): Hop => ({ kind: 'ssh', label, host: `${label}.example.com`, port: 22, user: 'admin', auth: { type: 'agent' } });
const route = (...labels: string[]): Route => ({ hops: labels.map(hop) });
const hooks = (): ConnectHooks & { steps: string[] } => {
  const steps: string[] = [];
  return { steps, report: (s, st) => steps.push(`${s}:${st}`), signal: new AbortController().signal, askHostKey: async () => true, askPassphrase: async () => null };
};

let pool: ConnectionPool;
function makePool(connector: CountingConnector, lingerMs = 10_000) {
  pool = new ConnectionPool({ connectors: { ssh: connector, ec2: connector }, log: silentLogger, lingerMs });
  return pool;
}
afterEach(() => {
  pool?.dispose();
  vi.useRealTimers();
});

describe('ConnectionPool', () => {
  it('lends one connection to every consumer of a route, asked at once or later', async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const [a, b] = await Promise.all([p.borrow(route('web'), hooks()), p.borrow(route('web'), hooks())]);
    const d = await p.borrow(route('web'), hooks());
    expect(c.made).toHaveLength(1);
    expect(a.connection).toBe(b.connection);
    expect(d.connection).toBe(a.connection);
    expect(p.connections()).toEqual([expect.objectContaining({ refs: 3 })]);
  });

  it("one consumer's cancel does not fail another waiting for the same connection", async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const first = new AbortController();
    const a = p.borrow(route('web'), { ...hooks(), signal: first.signal });
    const b = p.borrow(route('web'), hooks());
    first.abort();
    await expect(a).rejects.toMatchObject({ code: 'Cancelled' });
    const lease = await b;
    expect(lease.connection.ssh.isClosed).toBe(false);
    expect(c.made).toHaveLength(1);
    expect(p.connections().map((e) => e.refs)).toEqual([1]);
  });

  it('a consumer waiting for a connection another is opening can cancel its own wait; the opening goes on', async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const mine = new AbortController();
    const a = p.borrow(route('web'), hooks());
    const b = p.borrow(route('web'), { ...hooks(), signal: mine.signal });
    mine.abort();
    await expect(b).rejects.toMatchObject({ code: 'Cancelled' });
    const lease = await a;
    expect(lease.connection.ssh.isClosed).toBe(false);
    expect(p.connections().map((e) => e.refs)).toEqual([1]);
  });

  it('closes a connection a linger after its last consumer lets go; a consumer back within the linger reuses it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = new CountingConnector();
    const p = makePool(c, 10_000);
    const first = p.borrow(route('web'), hooks());
    await vi.advanceTimersByTimeAsync(10);
    const a = await first;
    a.dispose();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(c.made[0]!.ssh.isClosed).toBe(false);
    const b = await p.borrow(route('web'), hooks());
    expect(c.made).toHaveLength(1);
    b.dispose();
    await vi.advanceTimersByTimeAsync(10_001);
    expect(c.made[0]!.ssh.isClosed).toBe(true);
    expect(p.connections()).toEqual([]);
  });

  it('a route through jump hosts borrows the jump hosts as a connection of their own and dials the next hop through it', async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const h = hooks();
    const web = await p.borrow(route('bastion', 'web'), h);
    expect(c.made.map((m) => [m.hop, m.via])).toEqual([
      ['bastion', false],
      ['web', true],
    ]);
    expect(c.made[0]!.ssh.forwarded).toEqual(['web.example.com:22']);
    expect(web.route.jumps).toEqual(['bastion']);
    expect(h.steps).toEqual(['jump:start', 'jump:done']);
    // A second host behind the same bastion shares the bastion's connection.
    await p.borrow(route('bastion', 'db'), hooks());
    expect(c.made.filter((m) => m.hop === 'bastion')).toHaveLength(1);
    expect(c.made[0]!.ssh.forwarded).toEqual(['web.example.com:22', 'db.example.com:22']);
  });

  it("the jump hosts' connection lives while a host behind them does, and goes with it", async () => {
    const c = new CountingConnector();
    const p = makePool(c, 0);
    const web = await p.borrow(route('bastion', 'web'), hooks());
    expect(p.connections().map((x) => x.refs)).toEqual([1, 1]);
    web.dispose();
    expect(c.made.map((m) => m.ssh.isClosed)).toEqual([true, true]);
  });

  it('a dropped connection tells each consumer once; the next borrow makes a new one', async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const a = await p.borrow(route('web'), hooks());
    const b = await p.borrow(route('web'), hooks());
    const told: string[] = [];
    a.onDrop((r) => told.push(`a:${r?.code}`));
    b.onDrop((r) => told.push(`b:${r?.code}`));
    c.made[0]!.ssh.drop(new KeylessFailure('TunnelClosed', 'cut', true));
    expect(told).toEqual(['a:TunnelClosed', 'b:TunnelClosed']);
    await p.borrow(route('web'), hooks());
    expect(c.made).toHaveLength(2);
  });

  it('a listener added after the drop is told at once, with the reason; a disposed lease tells none', async () => {
    const c = new CountingConnector();
    const p = makePool(c);
    const a = await p.borrow(route('web'), hooks());
    const b = await p.borrow(route('web'), hooks());
    b.dispose();
    c.made[0]!.ssh.drop(new KeylessFailure('TunnelClosed', 'cut', true));
    const told: string[] = [];
    a.onDrop((r) => told.push(`a:${r?.code}`));
    b.onDrop((r) => told.push(`b:${r?.code}`));
    expect(told).toEqual(['a:TunnelClosed']);
  });

  it('reconnecting retries what a retry can fix, with backoff, and gives up at once on what it cannot', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = new CountingConnector();
    const p = makePool(c);
    c.failNext.push(new KeylessFailure('NetworkError', 'down', true), new KeylessFailure('Timeout', 'slow', true));
    const retries: number[] = [];
    const lease = p.borrowWithRetry(route('web'), hooks(), (attempt, _e, waitS) => retries.push(waitS));
    await vi.advanceTimersByTimeAsync(10_000);
    await lease;
    expect(retries).toEqual([1, 2]);
    c.failNext.push(new KeylessFailure('HostKeyMismatch', 'changed', false));
    const other = p.borrowWithRetry(route('other'), hooks());
    const settled = other.catch((e: KeylessFailure) => e.code);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled).toBe('HostKeyMismatch');
  });

  it('does not lend a connection whose endpoint tunnel is near its cut: new work gets a new connection', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const c = new CountingConnector();
    const p = makePool(c);
    c.deadlineMs = 60_000; // a one-minute tunnel: lent while more than a quarter of it is left
    const opening = p.borrow(route('web'), hooks());
    await vi.advanceTimersByTimeAsync(10);
    const a = await opening;
    await vi.advanceTimersByTimeAsync(40_000);
    expect((await p.borrow(route('web'), hooks())).connection).toBe(a.connection);
    await vi.advanceTimersByTimeAsync(10_000);
    const next = p.borrow(route('web'), hooks());
    await vi.advanceTimersByTimeAsync(10);
    const b = await next;
    expect(b.connection).not.toBe(a.connection);
    expect(c.made).toHaveLength(2);
    // The old one still serves the consumers that hold it.
    expect(c.made[0]!.ssh.isClosed).toBe(false);
  });

  it('an idle connection through a full endpoint gives its slot back to work waiting for one', async () => {
    const c = new CountingConnector();
    c.endpointId = 'eice-1';
    const budget = new EndpointBudget(1, (id) => p.releaseIdle(id));
    const p = makePool(c);
    // The idle connection's tunnel holds the endpoint's only slot until the connection closes.
    const slot = await budget.acquire('eice-1');
    const lease = await p.borrow(route('web'), hooks());
    c.made[0]!.ssh.onClose(() => slot.dispose());
    lease.dispose();
    const waiting = budget.acquire('eice-1');
    await expect(waiting).resolves.toBeDefined();
    expect(c.made[0]!.ssh.isClosed).toBe(true);
  });
});

describe('EndpointBudget', () => {
  it('gives at most `limit` slots per endpoint, in order, and a cancelled wait leaves the queue', async () => {
    const b = new EndpointBudget(2);
    const s1 = await b.acquire('e');
    await b.acquire('e');
    const order: string[] = [];
    const ctl = new AbortController();
    const third = b.acquire('e').then(() => order.push('third'));
    const cancelled = b.acquire('e', ctl.signal).catch((e: KeylessFailure) => order.push(e.code));
    const fourth = b.acquire('e').then(() => order.push('fourth'));
    expect(b.waiting('e')).toBe(3);
    ctl.abort();
    await cancelled;
    s1.dispose();
    await third;
    expect(b.inUse('e')).toBe(2);
    expect(order).toEqual(['Cancelled', 'third']);
    // Another endpoint is not held up by this one.
    await b.acquire('other');
    expect(b.inUse('other')).toBe(1);
    void fourth;
  });
});
