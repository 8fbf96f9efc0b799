import { createHash, randomBytes } from 'node:crypto';
import { mintTemporary, uniqueId } from './credentials';
import type { FleetSpec, SsoAssignmentSpec } from './fleet';
import { ApiError, type World } from './state';

interface Client {
  secret: string;
  name: string;
  expiresAt: number;
}
interface DeviceAuthorization {
  userCode: string;
  clientId: string;
  approved: boolean;
  used: boolean;
  expiresAt: number;
}

const b64 = (n: number) => randomBytes(n).toString('base64url');

/** A restJson answer: status, body. Errors are thrown as ApiError (OIDC ones carry `error`). */
export interface RestAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** OIDC errors have `error`/`error_description` members rather than `message`. */
export class OidcError extends ApiError {
  constructor(code: string, readonly error: string, description: string, status = 400) {
    super(code, description, status);
  }
}

/**
 * IAM Identity Center as the CLI and SDKs meet it: SSO-OIDC device authorization (approved by
 * a test or the demo through the admin API) and the portal's role credentials. Bearer tokens,
 * not SigV4.
 */
export class SsoService {
  readonly startUrl: string;
  readonly userName: string;
  private clients = new Map<string, Client>();
  private devices = new Map<string, DeviceAuthorization>();
  private tokens = new Map<string, number>();
  private refresh = new Map<string, string>();
  assignments: SsoAssignmentSpec[];

  constructor(
    private w: World,
    spec: FleetSpec['sso'],
  ) {
    this.startUrl = spec?.startUrl ?? 'https://d-90670ab1c2.awsapps.com/start';
    this.userName = spec?.userName ?? 'sim.user';
    this.assignments = spec?.assignments ?? [];
  }

  private nowS() {
    return Math.floor(this.w.now().getTime() / 1000);
  }

  /** Grants the device authorization whose user code the person would type into the browser. */
  approve(userCode: string): boolean {
    for (const d of this.devices.values()) if (d.userCode === userCode.toUpperCase() && !d.used) return (d.approved = true);
    return false;
  }

  /** The newest pending user code (for the demo to print and tests to approve). */
  pendingUserCodes(): string[] {
    return [...this.devices.values()].filter((d) => !d.approved && d.expiresAt > this.nowS()).map((d) => d.userCode);
  }

  oidc(path: string, input: Record<string, unknown>, region: string): RestAnswer {
    const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
    if (path === '/client/register') {
      const name = str('clientName');
      if (!name || str('clientType') !== 'public') throw new OidcError('InvalidRequestException', 'invalid_request', 'clientName and clientType=public are required');
      const clientId = b64(16);
      const c: Client = { secret: b64(64), name, expiresAt: this.nowS() + 90 * 86400 };
      this.clients.set(clientId, c);
      return { status: 200, body: { clientId, clientSecret: c.secret, clientIdIssuedAt: this.nowS(), clientSecretExpiresAt: c.expiresAt } };
    }
    const client = this.clients.get(str('clientId') ?? '');
    if (!client || client.secret !== str('clientSecret')) throw new OidcError('InvalidClientException', 'invalid_client', 'Invalid client provided', 401);
    if (path === '/device_authorization') {
      if (!str('startUrl')) throw new OidcError('InvalidRequestException', 'invalid_request', 'startUrl is required');
      const deviceCode = b64(48);
      const letters = 'BCDFGHJKLMNPQRSTVWXZ';
      const userCode = [...randomBytes(8)].map((b, i) => (i === 4 ? '-' : '') + letters[b % letters.length]).join('');
      this.devices.set(deviceCode, { userCode, clientId: str('clientId')!, approved: false, used: false, expiresAt: this.nowS() + 600 });
      const uri = `https://device.sso.${region}.amazonaws.com/`;
      return { status: 200, body: { deviceCode, userCode, verificationUri: uri, verificationUriComplete: `${uri}?user_code=${userCode}`, expiresIn: 600, interval: 1 } };
    }
    if (path === '/token') {
      const grant = str('grantType');
      if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
        const d = this.devices.get(str('deviceCode') ?? '');
        if (!d || d.clientId !== str('clientId') || d.used) throw new OidcError('InvalidGrantException', 'invalid_grant', 'Invalid grant provided');
        if (d.expiresAt <= this.nowS()) throw new OidcError('ExpiredTokenException', 'expired_token', 'Device code has expired');
        if (!d.approved) throw new OidcError('AuthorizationPendingException', 'authorization_pending', 'Authorization is still pending');
        d.used = true;
        return { status: 200, body: this.issue() };
      }
      if (grant === 'refresh_token') {
        const old = str('refreshToken') ?? '';
        if (!this.refresh.has(old)) throw new OidcError('InvalidGrantException', 'invalid_grant', 'Invalid refresh token provided');
        this.refresh.delete(old);
        return { status: 200, body: this.issue() };
      }
      throw new OidcError('UnsupportedGrantTypeException', 'unsupported_grant_type', `Unsupported grant type: ${grant ?? 'null'}`);
    }
    throw new ApiError('UnknownOperationException', `No operation at ${path}`, 404);
  }

  private issue(): Record<string, unknown> {
    const accessToken = `aoa${b64(96)}`;
    const refreshToken = `aor${b64(96)}`;
    this.tokens.set(accessToken, this.nowS() + 8 * 3600);
    this.refresh.set(refreshToken, accessToken);
    return { accessToken, tokenType: 'Bearer', expiresIn: 8 * 3600, refreshToken };
  }

  portal(method: string, path: string, query: URLSearchParams, bearer: string | undefined): RestAnswer {
    const exp = this.tokens.get(bearer ?? '');
    if (!bearer || !exp || exp <= this.nowS()) throw new ApiError('UnauthorizedException', 'Session token not found or invalid', 401);
    if (method === 'POST' && path === '/logout') {
      this.tokens.delete(bearer);
      return { status: 200, body: {} };
    }
    const pageOf = <T>(items: T[]) => {
      const max = Number(query.get('max_result') ?? 100);
      const start = Number(Buffer.from(query.get('next_token') ?? '', 'base64url').toString() || 0);
      const slice = items.slice(start, start + max);
      return { slice, nextToken: start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : undefined };
    };
    if (path === '/assignment/accounts') {
      const accounts = [...new Map(this.assignments.map((a) => [a.accountId, { accountId: a.accountId, accountName: a.accountName, emailAddress: `aws+${a.accountName}@example.com` }])).values()];
      const { slice, nextToken } = pageOf(accounts);
      return { status: 200, body: { accountList: slice, nextToken } };
    }
    if (path === '/assignment/roles') {
      const account = query.get('account_id') ?? '';
      const { slice, nextToken } = pageOf(this.assignments.filter((a) => a.accountId === account).map((a) => ({ roleName: a.roleName, accountId: a.accountId })));
      return { status: 200, body: { roleList: slice, nextToken } };
    }
    if (path === '/federation/credentials') {
      const a = this.assignments.find((x) => x.accountId === query.get('account_id') && x.roleName === query.get('role_name'));
      if (!a) throw new ApiError('ForbiddenException', 'No access', 403);
      // AWS names a permission set's role once per account, with a fixed suffix, under the aws-reserved path.
      const roleArn = `arn:aws:iam::${a.accountId}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_${a.roleName}_${createHash('sha256').update(`${a.accountId}/${a.roleName}`).digest('hex').slice(0, 16)}`;
      if (!this.w.roles.has(roleArn)) this.w.roles.set(roleArn, { arn: roleArn, policies: a.policies, trusted: [] });
      const creds = mintTemporary(this.w, `arn:aws:sts::${a.accountId}:assumed-role/${roleArn.split('/').pop()}/${this.userName}`, a.policies, 3600, uniqueId('AROA', roleArn));
      return { status: 200, body: { roleCredentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken, expiration: creds.expiration!.getTime() } } };
    }
    throw new ApiError('UnknownOperationException', `No operation at ${method} ${path}`, 404);
  }
}


export const OIDC_PATHS = ['/client/register', '/device_authorization', '/token'];
export const PORTAL_PATHS = ['/assignment/accounts', '/assignment/roles', '/federation/credentials', '/logout'];
