// CloudWatch GetMetricData for the instances' CPUUtilization and CPUCreditBalance, over the two
// protocols its clients speak: AWS JSON 1.0 (the JS SDK) and Smithy RPC v2 CBOR (botocore).
import { cbor, dateToTag } from '@smithy/core/cbor';
import { ApiError, type Identity, type World } from './state';

export const CLOUDWATCH_TARGET = 'GraniteServiceVersion20100801';
export const CLOUDWATCH_CBOR_PATH = `/service/${CLOUDWATCH_TARGET}/operation/`;

interface Query {
  Id?: string;
  MetricStat?: { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] }; Period?: number; Stat?: string };
}

const seconds = (v: unknown): number =>
  v instanceof Date ? v.getTime() / 1000 : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) / 1000 : v && typeof v === 'object' && 'value' in v ? seconds((v as { value: unknown }).value) : NaN;

/**
 * GetMetricData: one result per query, one point per period from StartTime to EndTime (newest
 * first, as CloudWatch orders them by default). An instance's figures are what its spec or
 * admin.setInstanceCondition set; other metrics and dimensions have no data.
 */
export function getMetricData(w: World, identity: Identity, region: string, input: Record<string, unknown>, wire: 'json' | 'cbor'): Record<string, unknown> {
  w.authorize(identity, { action: 'cloudwatch:GetMetricData', resource: '*' });
  const queries = (input.MetricDataQueries ?? []) as Query[];
  const start = seconds(input.StartTime);
  const end = seconds(input.EndTime);
  if (!queries.length || !Number.isFinite(start) || !Number.isFinite(end) || end <= start) throw new ApiError('ValidationError', 'MetricDataQueries, StartTime and EndTime (after StartTime) are required.', 400);
  return {
    MetricDataResults: queries.map((q) => {
      const stat = q.MetricStat;
      const id = stat?.Metric?.Dimensions?.find((d) => d.Name === 'InstanceId')?.Value;
      const i = id ? w.instances.get(id) : undefined;
      const period = Math.max(60, stat?.Period ?? 300);
      const value = !i || i.region !== region || i.state !== 'running' || stat?.Metric?.Namespace !== 'AWS/EC2' ? undefined : stat.Metric.MetricName === 'CPUUtilization' ? i.cpuPercent : stat.Metric.MetricName === 'CPUCreditBalance' && /^t\d/.test(i.instanceType) ? i.cpuCredits : undefined;
      const times: number[] = [];
      if (value !== undefined) for (let t = Math.floor(end / period) * period - period; t >= start; t -= period) times.push(t);
      return { Id: q.Id, Label: stat?.Metric?.MetricName, Timestamps: times.map((t) => (wire === 'cbor' ? dateToTag(new Date(t * 1000)) : t)), Values: times.map(() => value), StatusCode: 'Complete' };
    }),
    Messages: [],
  };
}

export const decodeCbor = (body: Buffer): Record<string, unknown> => (body.length ? (cbor.deserialize(new Uint8Array(body)) as Record<string, unknown>) : {});
export const encodeCbor = (v: unknown): Buffer => Buffer.from(cbor.serialize(v));
