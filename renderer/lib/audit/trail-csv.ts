import { csvField, type SearchedEvent } from '../../../electron/contract';

/** The export's header: fixed English names (as the inventory's), so scripts read it in any UI language. */
export const TRAIL_CSV_COLUMNS = [
  'Time (UTC)',
  'Event',
  'Region',
  'Profile',
  'Person (ARN)',
  'Source IP',
  'Instance',
  'Endpoint',
  'Target IP',
  'OS user',
  'Outcome',
  'Error code',
  'Error message',
  'Alarms',
  'Event ID',
] as const;

function fields(e: SearchedEvent): string[] {
  return [
    new Date(e.time).toISOString(),
    e.eventName,
    e.region,
    e.profile,
    e.user,
    e.sourceIp ?? '',
    e.instanceId ?? '',
    e.endpointId ?? '',
    e.targetIp ?? '',
    e.osUser ?? '',
    e.errorCode ? 'refused' : 'allowed',
    e.errorCode ?? '',
    e.errorMessage ?? '',
    e.alarms.join(';'),
    e.eventId,
  ];
}

/**
 * The events as a CSV file (RFC 4180, CRLF). Every value from CloudTrail is defused the way the
 * inventory's are: a cell starting with = + - @ (or a tab or CR) gets a leading ' so a spreadsheet
 * shows it rather than running it — a user name, an error message or a session name is chosen by
 * whoever made the call.
 */
export function trailCsv(events: readonly SearchedEvent[]): string {
  const lines = [TRAIL_CSV_COLUMNS as readonly string[], ...events.map(fields)];
  return lines.map((f) => f.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** `keyless-audit-2026-11-28T16-19-10.csv`. */
export function trailCsvFileName(at: Date): string {
  return `keyless-audit-${at.toISOString().slice(0, 19).replace(/:/g, '-')}.csv`;
}
