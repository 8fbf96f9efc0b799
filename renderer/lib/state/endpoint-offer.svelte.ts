import type { EndpointProposal, KeylessError } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';

let nextRequest = 1;

const asError = (err: unknown): KeylessError =>
  err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };

/**
 * The offer a tab makes when its instance's VPC has no Instance Connect Endpoint: the subnet and
 * security group main proposes, then the creation with its progress (state and seconds waited).
 */
export class EndpointOffer {
  proposal = $state<EndpointProposal | undefined>(undefined);
  loading = $state(false);
  creating = $state(false);
  progress = $state<{ endpointId: string; state: string; elapsedMs: number } | undefined>(undefined);
  ready = $state<string | undefined>(undefined);
  error = $state<KeylessError | undefined>(undefined);
  private requestId = '';
  private readonly unsubscribe: () => void;

  constructor(
    private readonly backend: Backend,
    readonly hostId: string,
  ) {
    this.unsubscribe = backend.on('endpoint.progress', (p) => {
      if (p.requestId !== this.requestId) return;
      this.progress = { endpointId: p.endpointId, state: p.state, elapsedMs: p.elapsedMs };
    });
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = undefined;
    try {
      this.proposal = await this.backend.invoke('endpoint.propose', { hostId: this.hostId });
    } catch (err) {
      this.error = asError(err);
    } finally {
      this.loading = false;
    }
  }

  /** Creates the proposed endpoint and waits for it; true when it is ready for tunnels. */
  create(): Promise<boolean> {
    const p = this.proposal;
    if (!p) return Promise.resolve(false);
    return this.untilReady('eice', (requestId) =>
      this.backend.invoke('endpoint.create', { requestId, subnetId: p.subnetId, securityGroupIds: [p.securityGroupId], hostId: this.hostId }),
    );
  }

  /** Waits for the endpoint the VPC already has (created elsewhere, or by an earlier click) to be ready. */
  waitForExisting(): Promise<boolean> {
    const existing = this.proposal?.existing;
    if (!existing) return Promise.resolve(false);
    return this.untilReady('eicew', (requestId) => this.backend.invoke('endpoint.wait', { requestId, endpointId: existing.endpointId, hostId: this.hostId }));
  }

  /** One creation or wait at a time, its progress followed by request id; the error kept for the tab. */
  private async untilReady(prefix: string, start: (requestId: string) => Promise<{ endpointId: string }>): Promise<boolean> {
    if (this.creating) return false;
    this.creating = true;
    this.error = undefined;
    this.progress = undefined;
    this.requestId = `${prefix}${Date.now().toString(36)}${nextRequest++}`;
    try {
      this.ready = (await start(this.requestId)).endpointId;
      return true;
    } catch (err) {
      this.error = asError(err);
      return false;
    } finally {
      this.creating = false;
    }
  }

  /** Stops waiting (the endpoint goes on being created in AWS). */
  cancel(): void {
    if (this.creating) void this.backend.invoke('op.cancel', { requestId: this.requestId }).catch(() => {});
  }

  dispose(): void {
    this.unsubscribe();
  }
}
