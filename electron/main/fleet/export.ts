import type { FleetHost, FleetRunSummary } from '../../contract';

export interface ExportedHost extends FleetHost {
  stdout: string;
  stderr: string;
}

/**
 * A cell a spreadsheet would take for a formula (= + - @, or a tab or carriage return that some
 * read before one) starts with a quote instead, so opening the export runs nothing a host printed.
 */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : typeof value === 'number' ? String(value) : neutraliseCell(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
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
