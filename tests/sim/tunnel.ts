import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { authenticate, toSigned } from './auth';
import { recordEvent } from './cloudtrail';
import { parseQuery } from './sigv4';
import { ApiError, endpointArn, inCidr, requestId, type Endpoint, type Identity, type World } from './state';

/** Per endpoint, as the EICE user guide states. */
export const MAX_TUNNELS_PER_ENDPOINT = 20;
const USABLE_STATES = new Set(['create-complete', 'update-in-progress', 'update-complete', 'update-failed']);
/** The close reason AWS sends when the target does not answer. */
export const UNABLE_TO_CONNECT = 'Unable to connect to target';
const MAX_FRAME = 65_000;

function refuse(socket: Duplex, err: ApiError, rid: string, now: Date): void {
  const body = JSON.stringify({ __type: err.code, message: err.message });
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }[err.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nx-amzn-ErrorType: ${err.code}\r\nx-amzn-RequestId: ${rid}\r\nDate: ${now.toUTCString()}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The EICE data plane: `GET /openTunnel` (presigned) upgraded to a WebSocket of raw TCP bytes. */
export class TunnelService {
  private wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private open = new Set<{ ws: WebSocket; tcp?: Socket }>();

  constructor(
    private w: World,
    private sshPortOf: (instanceId: string) => number | undefined,
    private faults: { delay(op: string): Promise<void>; dice(op: string, region: string, caller: string): ApiError | undefined },
    /** Whether the VPC's network lets the endpoint reach the instance (network.ts reachViaEndpoint). */
    private reach?: (endpoint: Endpoint, instanceId: string, clientPort: number) => { ok: true } | { ok: false; hang: boolean },
  ) {
    // The upgrade is an answer like any other: dated by the service's clock.
    this.wss.on('headers', (headers) => headers.push(`Date: ${this.w.now().toUTCString()}`));
  }

  get openCount(): number {
    return this.open.size;
  }

  /** The most tunnels each endpoint has carried at once since the last reset (the limit is never passed: the 21st is refused). */
  readonly peaks = new Map<string, number>();

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const rid = requestId();
    socket.on('error', () => {});
    const signed = toSigned(req, new Uint8Array());
    if (signed.path !== '/openTunnel') return refuse(socket, new ApiError('UnknownOperationException', 'Not found', 404), rid, this.w.now());
    let identity: Identity | undefined;
    let endpoint: Endpoint | undefined;
    let region = '';
    const q = parseQuery(signed.rawQuery);
    const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
    const params = { instanceConnectEndpointId: one('instanceConnectEndpointId'), remotePort: one('remotePort'), privateIpAddress: one('privateIpAddress'), maxTunnelDuration: one('maxTunnelDuration') };
    const trail = (errorCode?: string, errorMessage?: string) => {
      if (!identity) return;
      recordEvent(this.w, {
        eventName: 'OpenTunnel',
        eventSource: 'ec2-instance-connect.amazonaws.com',
        region,
        identity,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: String(req.headers['user-agent'] ?? ''),
        requestParameters: params,
        responseElements: null,
        resources: endpoint ? [{ ResourceType: 'AWS::EC2::InstanceConnectEndpoint', ResourceName: endpointArn(region, endpoint.id) }] : [],
        errorCode,
        errorMessage,
        requestId: rid,
      });
    };
    try {
      await this.faults.delay('OpenTunnel');
      const auth = await authenticate(this.w, signed, 'ec2-instance-connect', 'tunnel', { requireQuery: true });
      // A throttled call leaves no trail event, as for the Instance Connect API (the JSON path).
      const fault = this.faults.dice('OpenTunnel', auth.region, auth.identity.arn);
      if (fault) throw fault;
      identity = auth.identity;
      region = auth.region;
      if ((auth.claim.expiresIn ?? 0) > 60) throw new ApiError('InvalidSignatureException', 'X-Amz-Expires must be 60 seconds or less', 403);
      endpoint = this.w.endpoints.get(params.instanceConnectEndpointId ?? '');
      if (!endpoint || endpoint.region !== region || endpoint.state === 'delete-complete') {
        throw new ApiError('ResourceNotFoundException', `The instance connect endpoint '${params.instanceConnectEndpointId ?? ''}' does not exist`, 404);
      }
      if (!USABLE_STATES.has(endpoint.state)) throw new ApiError('InvalidStateException', `The instance connect endpoint '${endpoint.id}' is in state ${endpoint.state}`, 400);
      const port = Number(params.remotePort);
      if (port !== 22 && port !== 3389) throw new ApiError('ValidationException', `Invalid remotePort ${params.remotePort ?? 'null'}: only ports 22 and 3389 are supported`, 400);
      const ip = params.privateIpAddress ?? '';
      const vpc = this.w.vpcs.get(endpoint.vpcId)!;
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !inCidr(ip, vpc.cidr)) throw new ApiError('ValidationException', `The private IP address ${ip} is not in the VPC of instance connect endpoint ${endpoint.id}`, 400);
      const duration = params.maxTunnelDuration === undefined ? 3600 : Number(params.maxTunnelDuration);
      if (!Number.isInteger(duration) || duration < 1 || duration > 3600) throw new ApiError('ValidationException', 'maxTunnelDuration must be between 1 and 3600 seconds', 400);
      try {
        this.w.authorize(identity, {
          action: 'ec2-instance-connect:OpenTunnel',
          resource: endpointArn(region, endpoint.id),
          context: { 'ec2-instance-connect:remotePort': port, 'ec2-instance-connect:privateIpAddress': ip, 'ec2-instance-connect:maxTunnelDuration': duration, 'aws:RequestedRegion': region, ...Object.fromEntries(Object.entries(endpoint.tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) },
        });
      } catch (e) {
        throw e instanceof ApiError ? new ApiError('AccessDeniedException', e.message, 403) : e;
      }
      if (endpoint.tunnels.size >= MAX_TUNNELS_PER_ENDPOINT) throw new ApiError('ThrottlingException', `The instance connect endpoint '${endpoint.id}' has reached its limit of ${MAX_TUNNELS_PER_ENDPOINT} concurrent connections`, 429);
      trail();
      const ep = endpoint;
      const target = this.w.instanceByPrivateIp(region, ep.vpcId, ip);
      const reach: { ok: true } | { ok: false; hang: boolean } = (port === 22 && target && this.reach?.(ep, target.id, req.socket.remotePort ?? 0)) || { ok: true };
      const tcpPort = port === 22 && target && reach.ok ? this.sshPortOf(target.id) : undefined;
      // An instance that never answers: the endpoint gives up as it does on a dropped SYN.
      const hangMs = !reach.ok && reach.hang ? this.unansweredMs : 0;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.bridge(ws, ep, tcpPort, duration, hangMs));
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('InternalServerException', String(e), 500);
      trail(err.code, err.message);
      refuse(socket, err, rid, this.w.now());
    }
  }

  /** How long the endpoint waits for an instance that never answers before "Unable to connect to target". */
  unansweredMs = 3000;

  private bridge(ws: WebSocket, endpoint: Endpoint, tcpPort: number | undefined, durationS: number, hangMs = 0): void {
    const entry: { ws: WebSocket; tcp?: Socket } = { ws };
    const handle = { close: (code: number, reason: string) => ws.close(code, reason) };
    this.open.add(entry);
    endpoint.tunnels.add(handle);
    this.peaks.set(endpoint.id, Math.max(this.peaks.get(endpoint.id) ?? 0, endpoint.tunnels.size));
    const timers: NodeJS.Timeout[] = [];
    const drop = this.w.faults.tunnelDrop;
    let bytes = 0;
    const count = (n: number) => {
      bytes += n;
      if (drop.bytes !== undefined && bytes >= drop.bytes) kill();
    };
    const kill = () => {
      ws.terminate();
      entry.tcp?.destroy();
    };
    ws.on('close', () => {
      timers.forEach(clearTimeout);
      this.open.delete(entry);
      endpoint.tunnels.delete(handle);
      entry.tcp?.end();
    });
    ws.on('error', () => entry.tcp?.destroy());
    timers.push(setTimeout(() => ws.close(1000, 'Tunnel max duration reached'), durationS * 1000));
    if (drop.seconds !== undefined) timers.push(setTimeout(kill, drop.seconds * 1000));
    if (tcpPort === undefined) {
      if (hangMs > 0) timers.push(setTimeout(() => ws.close(1011, UNABLE_TO_CONNECT), hangMs));
      else ws.close(1011, UNABLE_TO_CONNECT);
      return;
    }
    const tcp = connect({ host: '127.0.0.1', port: tcpPort });
    entry.tcp = tcp;
    let connected = false;
    const pending: Buffer[] = [];
    tcp.on('connect', () => {
      connected = true;
      for (const b of pending.splice(0)) tcp.write(b);
    });
    tcp.on('error', () => {
      if (!connected && ws.readyState === ws.OPEN) ws.close(1011, UNABLE_TO_CONNECT);
    });
    tcp.on('close', () => {
      if (connected && ws.readyState === ws.OPEN) ws.close(1000);
    });
    tcp.on('data', (d: Buffer) => {
      count(d.length);
      for (let off = 0; off < d.length; off += MAX_FRAME) ws.send(d.subarray(off, off + MAX_FRAME), { binary: true });
      if (ws.bufferedAmount > 1 << 20) {
        tcp.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount < 1 << 18 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            tcp.resume();
          }
        }, 5);
      }
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(1003, 'Text frames are not supported');
        tcp.destroy();
        return;
      }
      count(data.length);
      if (connected) tcp.write(data);
      else pending.push(data);
    });
  }

  closeAll(): void {
    for (const { ws, tcp } of this.open) {
      ws.terminate();
      tcp?.destroy();
    }
    this.open.clear();
    this.wss.close();
  }
}
