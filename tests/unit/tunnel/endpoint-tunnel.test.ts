import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { EndpointTunnel, framesOf, MAX_FRAME_BYTES, proxyAgentFor } from '../../../electron/main/tunnel/endpoint-tunnel';

let server: Server | undefined;
let wss: WebSocketServer | undefined;

afterEach(async () => {
  wss?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  wss = undefined;
});

/** A stand-in endpoint: `onConnection` decides what it does; `refuse` answers the upgrade with an HTTP error. */
async function endpoint(onConnection: (ws: WebSocket, host: string | undefined) => void, refuse?: { status: number; body: string }): Promise<URL> {
  server = createServer();
  wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (refuse) {
      socket.end(`HTTP/1.1 ${refuse.status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(refuse.body)}\r\n\r\n${refuse.body}`);
      return;
    }
    wss!.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req.headers.host));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

const SIGNED = 'wss://eice-1.ec2-instance-connect-endpoint.us-west-2.amazonaws.com/openTunnel?instanceConnectEndpointId=eice-1&remotePort=22&privateIpAddress=10.0.0.5&X-Amz-Signature=abc';

async function failureOf(p: Promise<unknown>): Promise<KeylessFailure> {
  try {
    await p;
  } catch (err) {
    return err as KeylessFailure;
  }
  throw new Error('expected a failure');
}

describe('EndpointTunnel', () => {
  it('carries bytes both ways intact in binary frames of at most 65,000 bytes, dialling the override with the signed Host', async () => {
    const frames: number[] = [];
    let seenHost: string | undefined;
    const via = await endpoint((ws, host) => {
      seenHost = host;
      ws.on('message', (data: Buffer, isBinary) => {
        expect(isBinary).toBe(true);
        frames.push(data.length);
        ws.send(data, { binary: true });
      });
    });
    const tunnel = await EndpointTunnel.open({ url: SIGNED, dialVia: via });
    expect(seenHost).toBe('eice-1.ec2-instance-connect-endpoint.us-west-2.amazonaws.com');
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const received: Buffer[] = [];
    let total = 0;
    const done = new Promise<void>((r) =>
      tunnel.on('data', (d: Buffer) => {
        received.push(d);
        total += d.length;
        if (total >= payload.length) r();
      }),
    );
    tunnel.write(payload);
    await done;
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(Math.max(...frames)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(frames.length).toBeGreaterThanOrEqual(5);
    tunnel.destroy();
  });

  it('sends the writes of one event-loop turn as one frame, in order, and flushes what is pending on end', async () => {
    const frames: string[] = [];
    let closed!: () => void;
    const gotClose = new Promise<void>((r) => (closed = r));
    const via = await endpoint((ws) => {
      ws.on('message', (data: Buffer) => frames.push(data.toString()));
      ws.on('close', () => closed());
    });
    const tunnel = await EndpointTunnel.open({ url: SIGNED, dialVia: via });
    tunnel.resume(); // a reader, as ssh2 is: the endpoint's close frame must be read for the close to finish
    // What ssh2 does after the key exchange: NEWKEYS, then SERVICE_REQUEST, in the same turn.
    tunnel.write(Buffer.from('newkeys|'));
    tunnel.write(Buffer.from('service-request'));
    await new Promise((r) => setTimeout(r, 50));
    tunnel.write(Buffer.from('next turn|'));
    tunnel.end(Buffer.from('last'));
    await gotClose;
    expect(frames).toEqual(['newkeys|service-request', 'next turn|last']);
  });

  it('frames for one turn: the bytes of all its writes in order, cut into frames of 65,000 bytes whatever the writes', () => {
    const small = [Buffer.from('a'), Buffer.from('bc')];
    const packet = (i: number) => Buffer.alloc(32 * 1024 + 52, i);
    const bulk = [packet(1), packet(2), packet(3)];
    const huge = Buffer.alloc(150_000, 9);
    const writes = [...small, ...bulk, Buffer.from('d'), huge, Buffer.from('e')];
    const frames = framesOf(writes).map((pieces) => Buffer.concat(pieces));
    expect(Buffer.concat(frames).equals(Buffer.concat(writes))).toBe(true);
    const total = writes.reduce((n, w) => n + w.length, 0);
    expect(frames.map((f) => f.length)).toEqual([...Array<number>(Math.floor(total / MAX_FRAME_BYTES)).fill(MAX_FRAME_BYTES), total % MAX_FRAME_BYTES]);
    // A write that is a frame by itself is that frame's one piece, not a copy.
    expect(framesOf([huge.subarray(0, MAX_FRAME_BYTES)])[0]![0]!.buffer).toBe(huge.buffer);
  });

  it('a bulk transfer of SSH-packet-sized writes over many turns arrives intact, two packets to a frame', async () => {
    const frames: number[] = [];
    const received: Buffer[] = [];
    let got = 0;
    let want = Infinity;
    let arrived!: () => void;
    const allArrived = new Promise<void>((r) => (arrived = r));
    const via = await endpoint((ws) =>
      ws.on('message', (data: Buffer) => {
        frames.push(data.length);
        received.push(data);
        got += data.length;
        if (got >= want) arrived();
      }),
    );
    const tunnel = await EndpointTunnel.open({ url: SIGNED, dialVia: via });
    tunnel.resume();
    const sent: Buffer[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 6; i++) {
        const p = Buffer.alloc(32 * 1024 + 52);
        for (let j = 0; j < p.length; j += 97) p[j] = (turn * 31 + i * 7 + j) & 0xff;
        sent.push(p);
        tunnel.write(p);
      }
      await new Promise((r) => setImmediate(r));
    }
    want = sent.reduce((n, p) => n + p.length, 0);
    if (got >= want) arrived();
    await allArrived;
    expect(Buffer.concat(received).equals(Buffer.concat(sent))).toBe(true);
    expect(Math.max(...frames)).toBe(MAX_FRAME_BYTES);
    // Each turn's six packets (196,920 bytes) go in four frames, not six.
    expect(frames.length).toBe(20 * Math.ceil((6 * (32 * 1024 + 52)) / MAX_FRAME_BYTES));
    tunnel.destroy();
  });

  it('a text frame from the endpoint is an error with its words', async () => {
    const via = await endpoint((ws) => ws.send('Something broke'));
    const tunnel = await EndpointTunnel.open({ url: SIGNED, dialVia: via });
    const err = await new Promise<KeylessFailure>((r) => tunnel.on('error', (e) => r(e as KeylessFailure)).resume());
    expect(err.code).toBe('TunnelClosed');
    expect(err.message).toContain('Something broke');
  });

  it('a close code other than 1000 is an error carrying the reason; 1000 is a clean end', async () => {
    const via = await endpoint((ws) => ws.close(1011, 'Unable to connect to target'));
    const tunnel = await EndpointTunnel.open({ url: SIGNED, dialVia: via }).catch((e: unknown) => e as KeylessFailure);
    const err =
      tunnel instanceof EndpointTunnel ? await new Promise<KeylessFailure>((r) => tunnel.on('error', (e) => r(e as KeylessFailure)).resume()) : tunnel;
    expect(err.code).toBe('TunnelClosed');
    expect(err.detail?.reason).toBe('Unable to connect to target');

    const via2 = await endpoint((ws) => setTimeout(() => ws.close(1000), 20));
    const clean = await EndpointTunnel.open({ url: SIGNED, dialVia: via2 });
    await new Promise<void>((resolve, reject) => {
      clean.on('error', reject);
      clean.on('end', resolve);
      clean.resume();
    });
  });

  it('a refused upgrade says why: IAM denial names OpenTunnel, other refusals keep the status', async () => {
    const denial = 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ec2-instance-connect:OpenTunnel on resource: arn:aws:ec2:us-west-2:123456789012:instance-connect-endpoint/eice-1';
    let via = await endpoint(() => {}, { status: 403, body: JSON.stringify({ message: denial }) });
    let err = await failureOf(EndpointTunnel.open({ url: SIGNED, dialVia: via }));
    expect(err.code).toBe('AwsAccessDenied');
    expect(err.message).toContain('ec2-instance-connect:OpenTunnel');
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;

    via = await endpoint(() => {}, { status: 429, body: JSON.stringify({ message: 'Maximum number of concurrent connections reached' }) });
    err = await failureOf(EndpointTunnel.open({ url: SIGNED, dialVia: via }));
    expect(err.code).toBe('TunnelRefused');
    expect(err.message).toContain('Maximum number of concurrent connections');
  });

  it('a URL refused for its date is told apart from an expired session token (only the first is worth signing again)', async () => {
    const refusedWith = async (message: string) => {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      server = undefined;
      const via = await endpoint(() => {}, { status: 403, body: JSON.stringify({ __type: 'InvalidSignatureException', message }) });
      return failureOf(EndpointTunnel.open({ url: SIGNED, dialVia: via }));
    };
    for (const dated of ['Request has expired', 'Signature not yet current: 20260101T120200Z is still later than 20260101T120001Z (20260101T120000Z + 1 sec.)']) {
      expect((await refusedWith(dated)).detail, dated).toMatchObject({ status: 403, signedTime: true });
    }
    const token = await refusedWith('The security token included in the request is expired');
    expect(token.code).toBe('TunnelRefused');
    expect(token.detail?.signedTime).toBeUndefined();
  });

  it('nothing listening is a network error naming the tunnel step', async () => {
    const err = await failureOf(EndpointTunnel.open({ url: SIGNED, dialVia: new URL('http://127.0.0.1:1') }));
    expect(err.code).toBe('NetworkError');
    expect(err.detail?.step).toBe('tunnel');
  });

  it('can be cancelled while opening', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await failureOf(EndpointTunnel.open({ url: SIGNED, dialVia: new URL('http://127.0.0.1:1'), signal: ac.signal }));
    expect(err.code).toBe('Cancelled');
  });
});

describe('proxyAgentFor', () => {
  const target = new URL('wss://eice-1.ec2-instance-connect-endpoint.us-west-2.amazonaws.com/openTunnel');
  it('uses HTTPS_PROXY for wss and honours NO_PROXY', async () => {
    expect(await proxyAgentFor(target, {})).toBeUndefined();
    expect(await proxyAgentFor(target, { HTTPS_PROXY: 'http://proxy.corp:3128' })).toBeDefined();
    expect(await proxyAgentFor(target, { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: '.amazonaws.com' })).toBeUndefined();
    expect(await proxyAgentFor(new URL('ws://127.0.0.1:9/openTunnel'), { HTTPS_PROXY: 'http://proxy.corp:3128' })).toBeUndefined();
  });
});
