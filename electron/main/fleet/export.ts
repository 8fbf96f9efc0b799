import { csvField, type FleetHost, type FleetRunSummary } from '../../contract';

export interface ExportedHost extends FleetHost {
  stdout: string;
  stderr: string;
}

/** A cell of the export: what a host printed is defused as every export's fields are (csvField). */
function csvCell(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '' : typeof value === 'number' ? String(value) : csvField(value);
}

export const CSV_COLUMNS = ['host', 'instance', 'via', 'endpoint', 'state', 'exit_code', 'signal', 'duration_ms', 'error_code', 'error', 'stdout', 'stderr', 'stdout_cut_at', 'stderr_cut_at'] as const;

/** RFC 4180: CRLF between records, fields with commas, quotes or line breaks quoted. */
export function runToCsv(hosts: readonly ExportedHost[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const h of hosts) {
    rows.push(
      [h.name, h.instanceId, h.via, h.endpointId, h.state, h.exitCode, h.signal, h.durationMs, h.error?.code, h.error?.message, h.stdout, h.stderr, h.stdoutCutAt, h.stderrCutAt]
        .map(csvCell)
        .join(','),
    );
  }
  return rows.join('\r\n') + '\r\n';
}

export function runToJson(run: FleetRunSummary, hosts: readonly ExportedHost[]): string {
  return JSON.stringify({ run, hosts }, null, 2) + '\n';
}
