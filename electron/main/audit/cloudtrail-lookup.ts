import type { IncomingMessage } from 'node:http';
import { http } from '../base/node-http';
import { request as httpsRequest } from 'node:https';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { TrailEventRecord } from '../../contract';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';
import { describeAwsError } from '../aws/errors';
import { KeylessFailure } from '../base/errors';
import { proxyAgentFor } from '../tunnel/endpoint-tunnel';
import { alarmsFor } from './alarms';

/**
 * CloudTrail LookupEvents over a hand-signed awsJson 1.1 request: `@aws-sdk/client-cloudtrail` is
 * not among our dependencies, and one read-only operation does not justify adding it. Endpoint
 * overrides are the same as the SDK clients' (AWS_ENDPOINT_URL_CLOUDTRAIL, AWS_ENDPOINT_URL, the
 * profile's services section or endpoint_url), so a VPC endpoint or the test simulator just works.
 */

export const INSTANCE_CONNECT_SOURCE = 'ec2-instance-connect.amazonaws.com';
const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';
const MAX_BODY = 8 * 1024 * 1024;

export interface TrailLookup {
  profile: string;
  region: string;
  startTime: Date;
  endTime: Date;
  nextToken?: string | undefined;
  /** 1–50 (CloudTrail's page limit). */
  maxResults?: number;
}

export interface TrailPage {
  events: TrailEventRecord[];
  nextToken: string | null;
}

export interface TrailDeps {
  credentials: (profile: string) => Promise<AwsCredentialIdentity>;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

function defaultEndpoint(region: string): URL {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://cloudtrail.${region}.${suffix}`);
}

interface RawEvent {
  EventId?: string;
  EventName?: string;
  EventTime?: number;
  Username?: string;
  Resources?: { ResourceType?: string; ResourceName?: string }[];
  CloudTrailEvent?: string;
}
interface CloudTrailDocument {
  userIdentity?: { arn?: string };
  sourceIPAddress?: string;
  awsRegion?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters?: Record<string, unknown> | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** One LookupEvents record as the audit view shows it. */
export function toTrailRecord(e: RawEvent, region: string): TrailEventRecord {
  let doc: CloudTrailDocument = {};
  try {
    doc = e.CloudTrailEvent ? (JSON.parse(e.CloudTrailEvent) as CloudTrailDocument) : {};
  } catch {
    /* a record without a readable document still has its summary fields */
  }
  const params = doc.requestParameters ?? {};
  const named = (type: string) => e.Resources?.find((r) => r.ResourceType === type)?.ResourceName?.split('/').pop() ?? null;
  return {
    eventId: e.EventId ?? '',
    time: typeof e.EventTime === 'number' ? Math.round(e.EventTime * 1000) : 0,
    eventName: e.EventName ?? '',
    region: doc.awsRegion ?? region,
    user: doc.userIdentity?.arn ?? e.Username ?? '',
    sourceIp: str(doc.sourceIPAddress),
    instanceId: str(params.instanceId) ?? named('AWS::EC2::Instance'),
    endpointId: str(params.instanceConnectEndpointId) ?? named('AWS::EC2::InstanceConnectEndpoint'),
    targetIp: str(params.privateIpAddress),
    osUser: str(params.instanceOSUser),
    errorCode: str(doc.errorCode),
    errorMessage: str(doc.errorMessage),
    alarms: alarmsFor(doc),
  };
}

async function send(url: URL, headers: Record<string, string>, body: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const agent = url.protocol === 'https:' ? await proxyAgentFor(url, env) : undefined;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : http.request)(
      url,
      { method: 'POST', headers, ...(agent ? { agent } : {}), timeout: 30_000, ...(signal ? { signal } : {}) },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (text.length > MAX_BODY) req.destroy(new Error('CloudTrail answered with more than 8 MB'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('CloudTrail did not answer in 30 s'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** One page of Instance Connect events, newest first. */
export async function lookupInstanceConnectEvents(q: TrailLookup, deps: TrailDeps): Promise<TrailPage> {
  const env = deps.env ?? process.env;
  const ctx = { action: 'cloudtrail:LookupEvents', region: q.region, profile: q.profile };
  try {
    const base = (await endpointOverride('CloudTrail', q.profile, env)) ?? defaultEndpoint(q.region);
    const body = JSON.stringify({
      LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: INSTANCE_CONNECT_SOURCE }],
      StartTime: q.startTime.getTime() / 1000,
      EndTime: q.endTime.getTime() / 1000,
      MaxResults: q.maxResults ?? 50,
      ...(q.nextToken ? { NextToken: q.nextToken } : {}),
    });
    const path = base.pathname.replace(/\/?$/, '/');
    const { Hash, HttpRequest, SignatureV4 } = await sdk.signing();
    const request = new HttpRequest({
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path,
      headers: {
        host: base.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': TARGET,
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    const signer = new SignatureV4({ credentials: () => deps.credentials(q.profile), region: q.region, service: 'cloudtrail', sha256: Hash.bind(null, 'sha256'), uriEscapePath: true });
    const signed = await signer.sign(request);
    const url = new URL(path, base);
    const res = await send(url, signed.headers, body, env, deps.signal);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = res.text ? (JSON.parse(res.text) as Record<string, unknown>) : {};
    } catch {
      parsed = { message: res.text.slice(0, 300) };
    }
    if (res.status < 200 || res.status >= 300) {
      const type = String(parsed.__type ?? parsed.code ?? 'ServiceError').split('#').pop()!;
      const message = String(parsed.message ?? parsed.Message ?? `HTTP ${res.status}`);
      throw Object.assign(new Error(message), { name: type, $metadata: { httpStatusCode: res.status }, $fault: res.status >= 500 ? 'server' : 'client' });
    }
    const events = Array.isArray(parsed.Events) ? (parsed.Events as RawEvent[]) : [];
    return { events: events.map((e) => toTrailRecord(e, q.region)), nextToken: typeof parsed.NextToken === 'string' ? parsed.NextToken : null };
  } catch (err) {
    if (err instanceof KeylessFailure) throw err;
    const e = err as { name?: string };
    if (e.name === 'AbortError' || deps.signal?.aborted) throw new KeylessFailure('Cancelled', 'The CloudTrail look-up was cancelled.', true);
    throw describeAwsError(err, ctx);
  }
}
