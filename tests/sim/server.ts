import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, toSigned, type Protocol } from './auth';
import { CLOUDTRAIL_TARGET, lookupEvents, recordEvent } from './cloudtrail';
import { handleEc2, type Ec2Hooks } from './ec2';
import { EIC_TARGET, handleInstanceConnect, metadataBlock, type JsonCall } from './instance-connect';
import { OIDC_PATHS, OidcError, PORTAL_PATHS, type SsoService } from './sso';
import { ApiError, instanceArn, requestId, type World } from './state';
import { readClaim } from './sigv4';
import { handleSts, respond as stsRespond, STS_ACTIONS, STS_NAMESPACE, STS_UNSIGNED_ACTIONS } from './sts';
import { assumeRoleWithWebIdentity, type OidcProvider } from './web-identity';
import { escapeXml } from './xml';
import { handleIam, IAM_ACTIONS, IAM_NAMESPACE } from './iam-api';
import { CLOUDWATCH_CBOR_PATH, CLOUDWATCH_TARGET, decodeCbor, encodeCbor, getMetricData } from './cloudwatch';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  // Encoded once: its length and its bytes (a page of instances is megabytes).
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 10 << 20) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** What the fault dice make of an operation, in a protocol-neutral form. */
function faultError(kind: 'throttle' | 'error', protocol: Protocol | 'rest'): ApiError {
  if (kind === 'throttle') {
    if (protocol === 'ec2') return new ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    if (protocol === 'query') return new ApiError('Throttling', 'Rate exceeded', 400);
    if (protocol === 'rest') return new ApiError('TooManyRequestsException', 'Rate exceeded', 429);
    return new ApiError('ThrottlingException', 'Rate exceeded', 429);
  }
  if (protocol === 'ec2') return new ApiError('InternalError', 'An internal error has occurred', 500);
  if (protocol === 'query') return new ApiError('InternalFailure', 'An internal error has occurred', 500);
  if (protocol === 'rest') return new ApiError('InternalServerException', 'An internal error has occurred', 500);
  return new ApiError('ServiceException', 'An internal error has occurred', 500);
}

export interface ServerParts {
  world: World;
  sso: SsoService;
  oidc: OidcProvider;
  ec2Hooks: Ec2Hooks;
  adminToken: string;
  admin: Record<string, unknown>;
  /** GET /__sim/<token>/state: what the demo and benchmarks read. */
  snapshot(): unknown;
}

/** The one loopback endpoint: routes by path, X-Amz-Target, Action and the credential scope. */
export class SimRouter {
  constructor(private p: ServerParts) {}

  /**
   * Latency, then the dice (throttle or 5xx), for a call no SigV4 identity is known for (the SSO
   * portal and OIDC calls carry bearer tokens or nothing).
   */
  async beforeOperation(op: string, protocol: Protocol | 'rest', region?: string): Promise<ApiError | undefined> {
    await this.delay(op, region);
    return this.dice(op, protocol, region);
  }

  /** Latency applies before authentication: it is the network's and the service's, not the caller's. */
  async delay(op: string, region?: string): Promise<void> {
    const ms = this.p.world.faults.latencyFor(op, region);
    if (ms > 0) await sleep(ms);
  }

  /**
   * Throttles and 5xx: after authentication (AWS rates each account per region, so it must know
   * whose call it is) and before authorization, so a caller IAM denies is throttled like any other
   * (tests/sim/README.md, "Faults"). `caller` (the identity's ARN) picks the dice's stream.
   */
  dice(op: string, protocol: Protocol | 'rest', region?: string, caller?: string): ApiError | undefined {
    const roll = this.p.world.faults.roll(op, region, caller);
    return roll ? faultError(roll, protocol) : undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rid = requestId();
    // SDKs correct their clock from the Date header on skew errors: it must be the service's clock.
    res.setHeader('Date', this.p.world.now().toUTCString());
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname;
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return;
    }
    try {
      if (path.startsWith('/__sim/')) return await this.admin(req, res, path, body);
      if (path.startsWith('/__imds/')) return await this.metadata(req, res, path);
      // checkip.amazonaws.com's answer: the address AWS sees this client's connections come from.
      if (path === '/__checkip') return send(res, 200, 'text/plain', `${this.p.world.clientPublicIp}\n`);
      if (req.method === 'POST' && path.startsWith(CLOUDWATCH_CBOR_PATH)) return await this.cloudwatch(req, res, rid, path.slice(CLOUDWATCH_CBOR_PATH.length), body, 'cbor');
      if (req.method === 'POST' && OIDC_PATHS.includes(path)) return await this.rest(res, rid, 'oidc', path, () => this.p.sso.oidc(path, JSON.parse(body.toString() || '{}') as Record<string, unknown>, 'us-east-1'));
      if (PORTAL_PATHS.includes(path)) {
        const bearer = req.headers['x-amz-sso_bearer_token'];
        return await this.rest(res, rid, 'portal', path, () => this.p.sso.portal(req.method ?? 'GET', path, url.searchParams, Array.isArray(bearer) ? bearer[0] : bearer));
      }
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith(`${CLOUDWATCH_TARGET}.`)) return await this.cloudwatch(req, res, rid, target.slice(CLOUDWATCH_TARGET.length + 1), body, 'json');
      if (typeof target === 'string') return await this.json(req, res, rid, target, body);
      const form = req.method === 'POST' ? new URLSearchParams(body.toString()) : url.searchParams;
      const action = form.get('Action');
      if (action) return await this.query(req, res, rid, action, form, body);
      send(res, 404, 'text/plain', 'Not a simulated AWS operation\n');
    } catch (e) {
      if (!res.headersSent) send(res, 500, 'text/plain', String(e instanceof Error ? e.stack : e));
    }
  }

  private async query(req: IncomingMessage, res: ServerResponse, rid: string, action: string, params: URLSearchParams, body: Buffer): Promise<void> {
    const isIam = params.get('Version') === '2010-05-08' || (IAM_ACTIONS.includes(action) && params.get('Version') !== '2016-11-15');
    const isSts = !isIam && (STS_ACTIONS.includes(action) || params.get('Version') === '2011-06-15');
    const protocol: Protocol = isSts || isIam ? 'query' : 'ec2';
    const fail = (err: ApiError) => {
      if (isSts || isIam) {
        const type = err.status >= 500 ? 'Receiver' : 'Sender';
        send(res, err.status, 'text/xml', `<ErrorResponse xmlns="${isIam ? IAM_NAMESPACE : STS_NAMESPACE}"><Error><Type>${type}</Type><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${rid}</RequestId></ErrorResponse>`, { 'x-amzn-RequestId': rid });
      } else {
        send(res, err.status, 'text/xml;charset=UTF-8', `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${rid}</RequestID></Response>`);
      }
    };
    try {
      const claim = readClaim(toSigned(req, body));
      const claimRegion = claim.ok ? claim.claim.scope.region : undefined;
      await this.delay(action, claimRegion);
      if (isSts && STS_UNSIGNED_ACTIONS.includes(action)) {
        // Unsigned as AWS allows (a signature, if any, is not what authorizes it).
        const fault = this.dice(action, protocol, claimRegion);
        if (fault) throw fault;
        return send(res, 200, 'text/xml', stsRespond(action, assumeRoleWithWebIdentity(this.p.world, this.p.oidc, params), rid), { 'x-amzn-RequestId': rid });
      }
      const auth = await authenticate(this.p.world, toSigned(req, body), isIam ? 'iam' : isSts ? 'sts' : 'ec2', protocol, { anyRegion: isSts || isIam });
      const fault = this.dice(action, protocol, auth.region, auth.identity.arn);
      if (fault) throw fault;
      if (isIam) send(res, 200, 'text/xml', handleIam(this.p.world, action, auth.identity, params, rid), { 'x-amzn-RequestId': rid });
      else if (isSts) send(res, 200, 'text/xml', handleSts(this.p.world, action, auth.identity, params, rid), { 'x-amzn-RequestId': rid });
      else send(res, 200, 'text/xml;charset=UTF-8', await handleEc2(this.p.world, this.p.ec2Hooks, action, { identity: auth.identity, region: auth.region, requestId: rid, params }));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      fail(e);
    }
  }

  private async json(req: IncomingMessage, res: ServerResponse, rid: string, target: string, body: Buffer): Promise<void> {
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, dot);
    const op = target.slice(dot + 1);
    const service = prefix === EIC_TARGET ? 'ec2-instance-connect' : prefix === CLOUDTRAIL_TARGET ? 'cloudtrail' : undefined;
    const fail = (err: ApiError) => {
      const payload: Record<string, unknown> = { __type: err.code, message: err.message };
      if (service === 'ec2-instance-connect') payload.Message = err.message;
      send(res, err.status, 'application/x-amz-json-1.1', JSON.stringify(payload), { 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': rid });
    };
    let call: JsonCall | undefined;
    try {
      if (!service) throw new ApiError('UnknownOperationException', `Unknown operation ${target}`, 400);
      const claim = readClaim(toSigned(req, body));
      await this.delay(op, claim.ok ? claim.claim.scope.region : undefined);
      const auth = await authenticate(this.p.world, toSigned(req, body), service, 'json');
      const fault = this.dice(op, 'json', auth.region, auth.identity.arn);
      if (fault) throw fault;
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
      } catch {
        throw new ApiError('SerializationException', 'Start of structure or map found where not expected.', 400);
      }
      call = { identity: auth.identity, region: auth.region, requestId: rid, sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', userAgent: String(req.headers['user-agent'] ?? ''), input };
      let out: Record<string, unknown>;
      if (service === 'cloudtrail') {
        if (op !== 'LookupEvents') throw new ApiError('UnknownOperationException', `Unknown operation ${op}`, 400);
        try {
          this.p.world.authorize(auth.identity, { action: 'cloudtrail:LookupEvents', resource: '*' });
        } catch (e) {
          throw e instanceof ApiError ? new ApiError('AccessDeniedException', e.message, 400) : e;
        }
        out = lookupEvents(this.p.world, auth.region, input);
      } else {
        out = await handleInstanceConnect(this.p.world, op, call);
        this.trail(op, call);
      }
      send(res, 200, 'application/x-amz-json-1.1', JSON.stringify(out), { 'x-amzn-RequestId': rid });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (call && service === 'ec2-instance-connect') this.trail(op, call, e);
      fail(e);
    }
  }

  /** CloudWatch (signing name `monitoring`): AWS JSON 1.0 from the JS SDK, RPC v2 CBOR from botocore. */
  private async cloudwatch(req: IncomingMessage, res: ServerResponse, rid: string, op: string, body: Buffer, wire: 'json' | 'cbor'): Promise<void> {
    const reply = (status: number, value: Record<string, unknown>, extra: Record<string, string> = {}) =>
      wire === 'cbor'
        ? send(res, status, 'application/cbor', encodeCbor(value), { 'smithy-protocol': 'rpc-v2-cbor', 'x-amzn-RequestId': rid, ...extra })
        : send(res, status, 'application/x-amz-json-1.0', JSON.stringify(value), { 'x-amzn-RequestId': rid, ...extra });
    try {
      const claim = readClaim(toSigned(req, body));
      await this.delay(op, claim.ok ? claim.claim.scope.region : undefined);
      const auth = await authenticate(this.p.world, toSigned(req, body), 'monitoring', 'json');
      const fault = this.dice(op, 'json', auth.region, auth.identity.arn);
      if (fault) throw fault;
      if (op !== 'GetMetricData') throw new ApiError('UnknownOperationException', `Unknown operation ${op}`, 400);
      let input: Record<string, unknown>;
      try {
        input = wire === 'cbor' ? decodeCbor(body) : (JSON.parse(body.toString() || '{}') as Record<string, unknown>);
      } catch {
        throw new ApiError('SerializationException', 'The request body could not be read.', 400);
      }
      reply(200, getMetricData(this.p.world, auth.identity, auth.region, input, wire));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const code = e.code === 'AccessDenied' ? 'AccessDenied' : e.code;
      reply(e.status, { __type: `com.amazonaws.cloudwatch#${code}`, message: e.message }, { 'x-amzn-ErrorType': code, 'x-amzn-query-error': `${code};Sender` });
    }
  }

  private trail(op: string, call: JsonCall, err?: ApiError): void {
    const input = call.input;
    const id = typeof input.InstanceId === 'string' ? input.InstanceId : '';
    recordEvent(this.p.world, {
      eventName: op,
      eventSource: 'ec2-instance-connect.amazonaws.com',
      region: call.region,
      identity: call.identity,
      sourceIp: call.sourceIp,
      userAgent: call.userAgent,
      requestParameters: { instanceId: input.InstanceId, ...(op === 'SendSSHPublicKey' ? { instanceOSUser: input.InstanceOSUser } : { serialPort: input.SerialPort ?? 0 }), sSHPublicKey: input.SSHPublicKey },
      responseElements: err ? null : { requestId: call.requestId, success: true },
      resources: id ? [{ ResourceType: 'AWS::EC2::Instance', ResourceName: instanceArn(call.region, id) }] : [],
      errorCode: err?.code,
      errorMessage: err?.message,
      requestId: call.requestId,
    });
  }

  private async rest(res: ServerResponse, rid: string, kind: 'oidc' | 'portal', path: string, run: () => { status: number; body: Record<string, unknown> }): Promise<void> {
    const op =
      kind === 'oidc'
        ? { '/client/register': 'RegisterClient', '/device_authorization': 'StartDeviceAuthorization', '/token': 'CreateToken' }[path]!
        : { '/assignment/accounts': 'ListAccounts', '/assignment/roles': 'ListAccountRoles', '/federation/credentials': 'GetRoleCredentials', '/logout': 'Logout' }[path]!;
    try {
      const fault = await this.beforeOperation(op, 'rest');
      if (fault) throw fault;
      const out = run();
      send(res, out.status, 'application/json', JSON.stringify(out.body), { 'x-amzn-RequestId': rid });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const body = e instanceof OidcError ? { error: e.error, error_description: e.message } : { message: e.message };
      send(res, e.status, 'application/json', JSON.stringify(body), { 'x-amzn-ErrorType': `${e.code}:http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/`, 'x-amzn-RequestId': rid });
    }
  }

  /** IMDSv2 session tokens: token → expiry (epoch ms). */
  private imdsTokens = new Map<string, number>();

  /** The instance metadata an on-instance AuthorizedKeysCommand reads (loopback only, IMDSv2). */
  private async metadata(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const remote = req.socket.remoteAddress ?? '';
    if (!/^(127\.|::1$|::ffff:127\.)/.test(remote)) return send(res, 403, 'text/plain', 'Forbidden\n');
    if (/^\/__imds\/i-[0-9a-f]+\/latest\/api\/token$/.test(path)) {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT' || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(res, 400, 'text/plain', 'Bad Request\n');
      const token = randomBytes(32).toString('base64');
      const now = Date.now();
      for (const [t, exp] of this.imdsTokens) if (exp < now) this.imdsTokens.delete(t);
      this.imdsTokens.set(token, now + ttl * 1000);
      return send(res, 200, 'text/plain', token, { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || (this.imdsTokens.get(token) ?? 0) < Date.now()) return send(res, 401, 'text/plain', 'Unauthorized\n');
    const m = /^\/__imds\/(i-[0-9a-f]+)\/latest\/meta-data\/managed-ssh-keys\/active-keys\/([^/]+)\/?$/.exec(path);
    if (!m) return send(res, 404, 'text/plain', 'Not Found\n');
    const keys = this.p.world.activeKeys(m[1]!, decodeURIComponent(m[2]!));
    if (!keys.length) return send(res, 404, 'text/plain', 'Not Found\n');
    const blocks = await Promise.all(keys.map(metadataBlock));
    send(res, 200, 'text/plain', blocks.join('\n'));
  }

  /** `/__sim/<token>/<method>`: POST a JSON array of arguments to call an admin method. */
  private async admin(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
    const [, , token, method] = path.split('/');
    if (token !== this.p.adminToken) return send(res, 403, 'application/json', JSON.stringify({ error: 'bad admin token' }));
    if (req.method === 'GET' && (method === 'state' || !method)) return send(res, 200, 'application/json', JSON.stringify(this.p.snapshot()));
    const fn = method ? this.p.admin[method] : undefined;
    if (req.method !== 'POST' || typeof fn !== 'function') return send(res, 404, 'application/json', JSON.stringify({ error: `no admin method ${method ?? ''}` }));
    try {
      const args = body.length ? (JSON.parse(body.toString()) as unknown) : [];
      const out = await (fn as (...a: unknown[]) => unknown).apply(this.p.admin, Array.isArray(args) ? args : [args]);
      send(res, 200, 'application/json', JSON.stringify({ ok: true, result: out ?? null }));
    } catch (e) {
      send(res, 400, 'application/json', JSON.stringify({ ok: false, error: String(e instanceof Error ? e.message : e) }));
    }
  }
}
