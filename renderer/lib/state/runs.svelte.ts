import { SvelteMap } from 'svelte/reactivity';
import {
  FLEET_CONFIRM_HOSTS,
  FLEET_DONE_STATES,
  looksDestructive,
  type FleetHost,
  type FleetHostState,
  type FleetReach,
  type FleetRunSummary,
  type FleetTargets,
  type KeylessError,
} from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';
import { saveAsDownload } from '../download';

export type OutcomeFilter = 'all' | 'ok' | 'failed' | 'error' | 'timedOut' | 'cancelled' | 'active';
export type TargetKind = 'selection' | 'group' | 'smartGroup' | 'query';

export interface HostOutput {
  stdout: string;
  stderr: string;
  stdoutCutAt?: number;
  stderrCutAt?: number;
  /** The run's budget for all its hosts' output, not the stream's own cap, is what cut it. */
  stdoutCutByRun?: boolean;
  stderrCutByRun?: boolean;
}

/** Hosts that printed the same (exit code, stdout and stderr), largest group first. */
export interface OutputGroup {
  digest: string;
  hosts: FleetHost[];
  lines: number;
}

const asError = (err: unknown): KeylessError => (err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false });

/** Whether a host is in the outcome filter. */
export function inFilter(state: FleetHostState, filter: OutcomeFilter): boolean {
  if (filter === 'all') return true;
  if (filter === 'active') return !FLEET_DONE_STATES.includes(state);
  return state === filter;
}

/** Groups finished hosts by what they printed; hosts without output (errors before running) stay out. */
export function groupOutputs(hosts: readonly FleetHost[]): OutputGroup[] {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local of a pure function, not state
  const by = new Map<string, FleetHost[]>();
  for (const h of hosts) {
    if (!h.outputDigest) continue;
    const list = by.get(h.outputDigest) ?? [];
    list.push(h);
    by.set(h.outputDigest, list);
  }
  return [...by].map(([digest, list]) => ({ digest, hosts: list, lines: list[0]!.outputLines })).sort((a, b) => b.hosts.length - a.hosts.length);
}

/**
 * The Runs view's state: the form (targets, command, sudo, timeout, concurrency), the summary of
 * how the targets are reached, the kept runs and the one shown, its hosts filled live from
 * `fleet.host` events, and outputs fetched when a row opens.
 */
export class RunsState {
  targetKind = $state<TargetKind>('smartGroup');
  groupId = $state('');
  smartGroupId = $state('');
  query = $state('');
  /** Saved host ids for "the selection" (the host list's selection when the view was opened from it). */
  hostIds = $state<string[]>([]);
  command = $state('');
  sudo = $state(false);
  timeoutS = $state(60);
  concurrency = $state(50);

  reach = $state<FleetReach | undefined>(undefined);
  resolving = $state(false);
  runs = $state<FleetRunSummary[]>([]);
  current = $state<FleetRunSummary | undefined>(undefined);
  readonly hosts = new SvelteMap<string, FleetHost>();
  readonly outputs = new SvelteMap<string, HostOutput>();
  filter = $state<OutcomeFilter>('all');
  grouped = $state(false);
  error = $state<KeylessError | undefined>(undefined);
  /** A run waiting for the person's yes: many hosts or a command that looks destructive. */
  confirming = $state<{ hosts: number; destructive: boolean } | undefined>(undefined);

  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly backend: Backend) {
    this.unsubscribe = [
      backend.on('fleet.host', ({ runId, host }) => {
        if (runId === this.current?.runId) this.hosts.set(host.key, host);
      }),
      backend.on('fleet.run', (run) => {
        if (run.runId === this.current?.runId) this.current = run;
        const i = this.runs.findIndex((r) => r.runId === run.runId);
        if (i >= 0) this.runs[i] = run;
        else this.runs = [run, ...this.runs];
      }),
    ];
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  targets(): FleetTargets | undefined {
    switch (this.targetKind) {
      case 'selection':
        return this.hostIds.length ? { hostIds: this.hostIds } : undefined;
      case 'group':
        return this.groupId ? { groupId: this.groupId } : undefined;
      case 'smartGroup':
        return this.smartGroupId ? { smartGroupId: this.smartGroupId } : undefined;
      case 'query':
        return this.query.trim() ? { query: this.query.trim() } : undefined;
    }
  }

  /** Opens the view on these targets (the host list's "Run command" on a selection or a group). */
  pick(t: { hostIds: string[] } | { groupId: string } | { smartGroupId: string }): void {
    if ('hostIds' in t) [this.targetKind, this.hostIds] = ['selection', t.hostIds];
    else if ('groupId' in t) [this.targetKind, this.groupId] = ['group', t.groupId];
    else [this.targetKind, this.smartGroupId] = ['smartGroup', t.smartGroupId];
    this.reach = undefined;
    void this.resolve();
  }

  async resolve(): Promise<void> {
    const targets = this.targets();
    this.reach = undefined;
    if (!targets) return;
    this.resolving = true;
    this.error = undefined;
    try {
      this.reach = (await this.backend.invoke('fleet.resolve', { targets })).reach;
    } catch (err) {
      this.error = asError(err);
    } finally {
      this.resolving = false;
    }
  }

  /** Asks first when the run is large or the command looks destructive; otherwise runs. */
  async requestRun(): Promise<void> {
    if (!this.targets() || !this.command.trim()) return;
    if (!this.reach) await this.resolve();
    const hosts = this.reach?.total ?? 0;
    if (!hosts) return;
    const destructive = looksDestructive(this.command);
    if (destructive || hosts > FLEET_CONFIRM_HOSTS) this.confirming = { hosts, destructive };
    else await this.run();
  }

  async run(): Promise<void> {
    this.confirming = undefined;
    const targets = this.targets();
    if (!targets) return;
    await this.guard(async () => {
      const r = await this.backend.invoke('fleet.run', { targets, command: this.command, sudo: this.sudo, timeoutS: this.timeoutS, concurrency: this.concurrency });
      this.show(r.run, r.hosts);
    });
  }

  async rerunFailed(): Promise<void> {
    const run = this.current;
    if (!run) return;
    await this.guard(async () => {
      const r = await this.backend.invoke('fleet.rerun', { runId: run.runId });
      this.show(r.run, r.hosts);
    });
  }

  async cancel(): Promise<void> {
    const run = this.current;
    if (run) await this.guard(() => this.backend.invoke('fleet.cancel', { runId: run.runId }));
  }

  async loadRuns(): Promise<void> {
    await this.guard(async () => {
      this.runs = (await this.backend.invoke('fleet.runs', {})).runs;
    });
  }

  async open(runId: string): Promise<void> {
    await this.guard(async () => {
      const r = await this.backend.invoke('fleet.get', { runId });
      this.show(r.run, r.hosts);
    });
  }

  async loadOutput(key: string): Promise<void> {
    const run = this.current;
    if (!run) return;
    await this.guard(async () => {
      this.outputs.set(key, await this.backend.invoke('fleet.output', { runId: run.runId, key }));
    });
  }

  /** The run as a file, through the browser's download (both transports have one). */
  async exportRun(format: 'json' | 'csv'): Promise<void> {
    const run = this.current;
    if (!run) return;
    await this.guard(async () => {
      const { fileName, text } = await this.backend.invoke('fleet.export', { runId: run.runId, format });
      saveAsDownload(fileName, text, format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json');
    });
  }

  get visibleHosts(): FleetHost[] {
    return [...this.hosts.values()].filter((h) => inFilter(h.state, this.filter));
  }

  get failedCount(): number {
    return [...this.hosts.values()].filter((h) => h.state !== 'ok' && FLEET_DONE_STATES.includes(h.state)).length;
  }

  private show(run: FleetRunSummary, hosts: FleetHost[]): void {
    this.current = run;
    this.hosts.clear();
    this.outputs.clear();
    for (const h of hosts) this.hosts.set(h.key, h);
    if (!this.runs.some((r) => r.runId === run.runId)) this.runs = [run, ...this.runs];
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    this.error = undefined;
    try {
      return await fn();
    } catch (err) {
      this.error = asError(err);
      return undefined;
    }
  }
}
