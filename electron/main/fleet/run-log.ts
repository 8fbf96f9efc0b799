import { JsonLinesFile } from '../base/json-lines';
import type { Logger } from '../base/log';
import type { FleetAuditEntry } from './fleet-service';

/**
 * The audit record of fleet runs, one JSON object a line beside the connection log: when, who
 * (the local account; each host's AWS profile), the command, each host's outcome and exit code.
 * No host's output is written: it may hold anything.
 */
export class FleetRunLog {
  private readonly out: JsonLinesFile;

  constructor(
    readonly file: string,
    log?: Logger,
  ) {
    this.out = new JsonLinesFile(file, 'fleet audit log', log);
  }

  append(entry: FleetAuditEntry): Promise<void> {
    return this.out.append({ kind: 'fleetRun', ...entry });
  }

  flushed(): Promise<void> {
    return this.out.flushed();
  }
}
