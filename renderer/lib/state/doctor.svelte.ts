import type { DoctorGroupChange, DoctorReport, KeylessError } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';

const asError = (err: unknown): KeylessError => (err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false });

/**
 * One doctor run for one host (a saved host or an instance): the checklist, the change the person
 * is asked to confirm, and after a fix the run again — `onhealthy` when every line then passes.
 */
export class DoctorRun {
  report = $state<DoctorReport | undefined>(undefined);
  running = $state(false);
  error = $state<KeylessError | undefined>(undefined);
  /** The security-group change waiting for the person's confirmation. */
  confirming = $state<{ change: DoctorGroupChange; sharedWith: { instanceId: string; name: string }[] } | undefined>(undefined);
  applying = $state(false);
  applied = $state(false);

  constructor(
    private readonly backend: Backend,
    readonly ref: { hostId: string },
    private readonly onhealthy?: () => void,
  ) {}

  async run(): Promise<void> {
    this.running = true;
    this.error = undefined;
    try {
      this.report = await this.backend.invoke('doctor.run', this.ref);
    } catch (err) {
      this.error = asError(err);
    } finally {
      this.running = false;
    }
  }

  ask(change: DoctorGroupChange, sharedWith: { instanceId: string; name: string }[]): void {
    this.confirming = { change, sharedWith };
  }

  cancel(): void {
    this.confirming = undefined;
  }

  /** Applies the confirmed change, runs again, and connects when nothing fails any more. */
  async apply(): Promise<void> {
    const c = this.confirming;
    if (!c) return;
    this.applying = true;
    this.error = undefined;
    try {
      await this.backend.invoke('doctor.applyFix', { ...this.ref, change: c.change });
      this.confirming = undefined;
      this.applied = true;
      await this.run();
      if (this.report && this.report.cause === null) this.onhealthy?.();
    } catch (err) {
      this.error = asError(err);
    } finally {
      this.applying = false;
    }
  }
}
