import { Terminal } from '@xterm/xterm';
import type { ConnectStep, KeylessError, SavedHost, SessionState } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';

export interface StepView {
  step: ConnectStep;
  status: 'start' | 'done' | 'failed';
  ms?: number;
}

let nextTab = 1;

/**
 * One terminal tab: its xterm.js instance, its session in main, and what the tab shows about it.
 * Output is acknowledged only after xterm.js has parsed it, which is what lets main apply
 * back-pressure all the way to sshd.
 */
export class TerminalTab {
  readonly id = `t${nextTab++}`;
  readonly requestId = `r${Date.now().toString(36)}${nextTab}`;
  readonly terminal: Terminal;
  state = $state<SessionState>('connecting');
  steps = $state<StepView[]>([]);
  error = $state<KeylessError | undefined>(undefined);
  /** The terminal's size in cells, as last sent to the remote PTY. */
  size = $state({ cols: 80, rows: 24 });
  sessionId: string | undefined;
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly backend: Backend,
    readonly host: SavedHost,
  ) {
    this.terminal = new Terminal({
      cursorBlink: true,
      scrollback: 10_000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      theme: { background: '#1e1e1e' },
    });
    this.terminal.onData((data) => {
      if (this.sessionId && this.state === 'connected') void this.call('session.write', { sessionId: this.sessionId, data });
    });
    this.terminal.onResize(({ cols, rows }) => {
      this.size = { cols, rows };
      if (this.sessionId && this.state === 'connected') void this.call('session.resize', { sessionId: this.sessionId, cols, rows });
    });
    this.unsubscribe.push(
      backend.on('progress', (p) => {
        if (p.requestId !== this.requestId) return;
        const i = this.steps.findIndex((s) => s.step === p.step);
        const view: StepView = p.ms === undefined ? { step: p.step, status: p.status } : { step: p.step, status: p.status, ms: p.ms };
        if (i >= 0) this.steps[i] = view;
        else this.steps.push(view);
      }),
      backend.on('session.data', (d) => {
        if (d.sessionId === this.sessionId) this.write(d.data);
      }),
      backend.on('session.state', (s) => {
        if (s.sessionId !== this.sessionId) return;
        this.state = s.state;
        if (s.error) this.error = s.error;
      }),
    );
  }

  get title(): string {
    return this.host.name;
  }

  async connect(): Promise<void> {
    this.state = 'connecting';
    this.error = undefined;
    this.steps = [];
    try {
      const { sessionId } = await this.backend.invoke('session.open', {
        requestId: this.requestId,
        hostId: this.host.id,
        cols: this.terminal.cols,
        rows: this.terminal.rows,
      });
      this.sessionId = sessionId;
      this.state = 'connected';
      const { cols, rows } = this.terminal;
      if (cols !== this.size.cols || rows !== this.size.rows) {
        this.size = { cols, rows };
        void this.call('session.resize', { sessionId, cols, rows });
      }
    } catch (err) {
      this.state = 'closed';
      this.error = err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
    }
  }

  private write(data: string): void {
    this.terminal.write(data, () => {
      this.unacked += data.length;
      this.ackTimer ??= setTimeout(() => this.flushAck(), 0);
    });
  }

  private flushAck(): void {
    this.ackTimer = undefined;
    const chars = this.unacked;
    this.unacked = 0;
    if (chars > 0 && this.sessionId) void this.call('session.ack', { sessionId: this.sessionId, chars });
  }

  private async call(...args: Parameters<Backend['invoke']>): Promise<void> {
    try {
      await this.backend.invoke(...args);
    } catch {
      /* the session's own state event says what happened */
    }
  }

  dispose(): void {
    this.unsubscribe.forEach((u) => u());
    clearTimeout(this.ackTimer);
    if (this.sessionId && this.state !== 'closed') void this.call('session.close', { sessionId: this.sessionId });
    else if (!this.sessionId) void this.call('op.cancel', { requestId: this.requestId });
    this.terminal.dispose();
  }
}
