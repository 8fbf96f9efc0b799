import type { AwsCredentialIdentity } from '@smithy/types';
import { sdk } from '../aws/sdk';

/** What one `openTunnel` WebSocket asks the endpoint for (PROTOCOLS.md §3). */
export interface OpenTunnelRequest {
  /** The endpoint's DnsName (or FipsDnsName): the host that is signed. */
  dnsName: string;
  endpointId: string;
  privateIpAddress: string;
  remotePort: number;
  /** 1–3600 seconds; omitted means the endpoint's default of one hour. */
  maxTunnelDuration?: number;
  region: string;
}

/** The URL is only good for this long; a fresh one is made for every connection. */
export const OPEN_TUNNEL_URL_EXPIRES_S = 60;

/** RFC 3986 escaping as SigV4 canonicalises it (encodeURIComponent leaves !'()* alone). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * The presigned `wss://…/openTunnel` URL, signed exactly as the AWS CLI signs it: GET, SigV4 query
 * auth for `ec2-instance-connect`, `host` the only signed header, the empty-string payload hash,
 * the session token signed when there is one. The query keeps the CLI's order, signature last.
 * The result is a bearer secret for 60 seconds: never log it.
 */
export async function presignOpenTunnelUrl(
  req: OpenTunnelRequest,
  credentials: AwsCredentialIdentity,
  signingDate: Date = new Date(),
): Promise<string> {
  const query: Record<string, string> = {
    instanceConnectEndpointId: req.endpointId,
    remotePort: String(req.remotePort),
    privateIpAddress: req.privateIpAddress,
  };
  if (req.maxTunnelDuration !== undefined) query.maxTunnelDuration = String(req.maxTunnelDuration);
  const { Hash, HttpRequest, SignatureV4 } = await sdk.signing();
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'wss:',
    hostname: req.dnsName,
    path: '/openTunnel',
    query,
    headers: { host: req.dnsName },
  });
  const signer = new SignatureV4({
    credentials,
    region: req.region,
    service: 'ec2-instance-connect',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
  });
  const signed = await signer.presign(request, { signingDate, expiresIn: OPEN_TUNNEL_URL_EXPIRES_S });
  const pairs = Object.entries(signed.query ?? {}).flatMap(([k, v]) => {
    const values = Array.isArray(v) ? v : v == null ? [] : [v];
    return values.map((one) => `${escapeUri(k)}=${escapeUri(one)}`);
  });
  return `wss://${req.dnsName}/openTunnel?${pairs.join('&')}`;
}
