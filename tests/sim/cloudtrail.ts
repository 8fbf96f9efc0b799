import { randomUUID } from 'node:crypto';
import { ACCOUNT_ID } from './fleet';
import { ApiError, type TrailEvent, type World } from './state';

export const CLOUDTRAIL_TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';

/** Records one Instance Connect call, allowed or not, as CloudTrail would. */
export function recordEvent(w: World, e: Omit<TrailEvent, 'eventId' | 'eventTime'>): void {
  w.trail.push({ ...e, eventId: randomUUID(), eventTime: w.now() });
}

/** The `CloudTrailEvent` JSON document of a record. */
function document(e: TrailEvent): string {
  const id = e.identity;
  const userIdentity =
    id.type === 'AssumedRole'
      ? {
          type: 'AssumedRole',
          principalId: id.userId,
          arn: id.arn,
          accountId: ACCOUNT_ID,
          accessKeyId: id.accessKeyId,
          sessionContext: { sessionIssuer: { type: 'Role', principalId: id.userId.split(':')[0], arn: id.arn.replace(':sts:', ':iam:').replace('assumed-role', 'role').replace(/\/[^/]+$/, ''), accountId: ACCOUNT_ID, userName: id.arn.split('/')[1] } },
        }
      : { type: id.type, principalId: id.userId, arn: id.arn, accountId: ACCOUNT_ID, accessKeyId: id.accessKeyId, userName: id.arn.split('/').pop() };
  return JSON.stringify({
    eventVersion: '1.09',
    userIdentity,
    eventTime: e.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: e.eventSource,
    eventName: e.eventName,
    awsRegion: e.region,
    sourceIPAddress: e.sourceIp,
    userAgent: e.userAgent,
    ...(e.errorCode ? { errorCode: e.errorCode, errorMessage: e.errorMessage } : {}),
    requestParameters: e.requestParameters,
    responseElements: e.responseElements,
    requestID: e.requestId,
    eventID: e.eventId,
    readOnly: false,
    resources: e.resources.map((r) => ({ accountId: ACCOUNT_ID, type: r.ResourceType, ARN: r.ResourceName })),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT_ID,
    eventCategory: 'Management',
  });
}

const ATTRIBUTES = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'];

/** LookupEvents over this region's records, newest first. */
export function lookupEvents(w: World, region: string, input: Record<string, unknown>): Record<string, unknown> {
  const attrs = (input.LookupAttributes as { AttributeKey?: string; AttributeValue?: string }[] | undefined) ?? [];
  if (attrs.length > 1) throw new ApiError('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.', 400);
  for (const a of attrs) if (!a.AttributeKey || !ATTRIBUTES.includes(a.AttributeKey)) throw new ApiError('InvalidLookupAttributesException', `Invalid attribute key: ${a.AttributeKey}`, 400);
  const max = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > 50) throw new ApiError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.', 400);
  const t = (v: unknown) => (v === undefined ? undefined : typeof v === 'number' ? v * 1000 : Date.parse(String(v)));
  const start = t(input.StartTime);
  const end = t(input.EndTime);
  if (start !== undefined && end !== undefined && start > end) throw new ApiError('InvalidTimeRangeException', 'Start time must be before end time.', 400);
  let offset = 0;
  if (input.NextToken !== undefined) {
    offset = Number(Buffer.from(String(input.NextToken), 'base64url').toString());
    if (!Number.isInteger(offset) || offset < 0) throw new ApiError('InvalidNextTokenException', 'Invalid next token.', 400);
  }
  const matches = w.trail
    .filter((e) => e.region === region)
    .filter((e) => (start === undefined || e.eventTime.getTime() >= start) && (end === undefined || e.eventTime.getTime() <= end))
    .filter((e) =>
      attrs.every((a) => {
        const v = a.AttributeValue ?? '';
        switch (a.AttributeKey) {
          case 'EventId': return e.eventId === v;
          case 'EventName': return e.eventName === v;
          case 'ReadOnly': return v === 'false';
          case 'Username': return e.identity.arn.split('/').pop() === v;
          case 'ResourceType': return e.resources.some((r) => r.ResourceType === v);
          case 'ResourceName': return e.resources.some((r) => r.ResourceName === v || r.ResourceName.endsWith(`/${v}`));
          case 'EventSource': return e.eventSource === v;
          case 'AccessKeyId': return e.identity.accessKeyId === v;
        }
        return false;
      }),
    )
    .reverse();
  const slice = matches.slice(offset, offset + max);
  return {
    Events: slice.map((e) => ({
      EventId: e.eventId,
      EventName: e.eventName,
      ReadOnly: 'false',
      AccessKeyId: e.identity.accessKeyId,
      EventTime: e.eventTime.getTime() / 1000,
      EventSource: e.eventSource,
      Username: e.identity.arn.split('/').pop(),
      Resources: e.resources,
      CloudTrailEvent: document(e),
    })),
    NextToken: offset + max < matches.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined,
  };
}

export const newRequestId = randomUUID;
