import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../base/log';
import type { FleetAuditEntry } from './fleet-service';

/** Past this size the log moves to `<file>.1` (replacing the older one) and starts again. */
const ROTATE_BYTES = 5 * 1024 * 1024;

/**
 * The audit record of fleet runs, one JSON object a line beside the connection log: when, who
 * (the local account; each host's AWS profile), the command, each host's outcome and exit code.
 * No host's output is written: it may hold anything.
 */
export class FleetRunLog {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly log?: Logger,
  ) {}

  append(entry: FleetAuditEntry): Promise<void> {
    const line = JSON.stringify({ kind: 'fleetRun', ...entry }) + '\n';
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        const size = await stat(this.file).then((s) => s.size, () => 0);
        if (size > ROTATE_BYTES) await rename(this.file, `${this.file}.1`);
        await appendFile(this.file, line, { mode: 0o600 });
      } catch (err) {
        this.log?.warn('could not append to the fleet audit log', { error: err instanceof Error ? err.message : String(err) });
      }
    });
    return this.writing;
  }

  flushed(): Promise<void> {
    return this.writing;
  }
}
