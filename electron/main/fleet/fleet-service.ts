import { createHash } from 'node:crypto';
import {
  FLEET_DONE_STATES,
  type EventName,
  type EventPayload,
  type FleetCounts,
  type FleetHost,
  type FleetReach,
  type FleetRunSummary,
  type FleetTargets,
  type HostRef,
  type KeylessError,
  type ParsedArgs,
} from '../../contract';
import { KeylessFailure, fail, toKeylessError } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import { sleep } from '../base/sleep';
import type { ConnectHooks } from '../connect/connector';
import type { InstanceConnector } from '../connect/instance-connector';
import type { ConnectionPool, Lease } from '../connect/pool';
import type { Route } from '../connect/route';
import { runToCsv, runToJson, type ExportedHost } from './export';
import { OutputBudget, type CappedOutput } from './output';
import { runRemote, sudoRefusal, sudoRefused } from './remote-run';
import { DEFAULT_LIMITS, driveQueue, type Queued } from './schedule';
import type { FleetTarget } from './targets';
import type { Handlers } from '../rpc/contract-server';

/** Runs kept for the Runs view (finished ones beyond it are forgotten, oldest first). */
export const HISTORY_RUNS = 50;
/** Output kept over all the runs kept: past it the oldest finished runs go, even under HISTORY_RUNS. */
export const HISTORY_OUTPUT_BYTES = 256 * 1024 * 1024;
/**
 * Hosts planned at once while a run's targets are resolved. Each may ask EC2 about its instance;
 * asks made together for one profile and region go as one DescribeInstances call (Ec2Inventory),
 * so a hundred hosts are planned in one or two calls.
 */
export const PLANS_AT_ONCE = 100;
/** A host's row is re-sent at most this often while it prints. */
const OUTPUT_EVENT_MS = 300;
/**
 * Waits (seconds) before connecting again when AWS throttled the connect (the SDK's own retries
 * spent): a hundred hosts' key pushes at once can meet the account's rate limit.
 */
export const THROTTLE_BACKOFF_S = [1, 2, 4, 8];

/**
 * The runs (oldest first) to forget so that at most `limits.runs` are kept and their output kept
 * is at most `limits.bytes`: the oldest finished ones first; a running one, or the newest, never.
 */
export function runsToDrop(runs: ReadonlyArray<{ running: boolean; keptBytes: number }>, limits = { runs: HISTORY_RUNS, bytes: HISTORY_OUTPUT_BYTES }): Set<number> {
  const drop = new Set<number>();
  let count = runs.length;
  let bytes = runs.reduce((n, r) => n + r.keptBytes, 0);
  for (let i = 0; i < runs.length - 1 && (count > limits.runs || bytes > limits.bytes); i++) {
    if (runs[i]!.running) continue;
    drop.add(i);
    count--;
    bytes -= runs[i]!.keptBytes;
  }
  return drop;
}

/** How a run's host is reached, decided before anything is dialled. */
export interface HostPlan {
  via: FleetHost['via'];
  endpointId?: string;
  instanceId?: string;
  profile?: string;
}

/** A host of a run or an upload while it is planned: what the view shows, and what connecting needs. */
export interface PlannedHost {
  info: { via: FleetHost['via']; endpointId?: string; instanceId?: string; state: string; error?: KeylessError };
  ref: HostRef;
  route?: Route;
  profile?: string;
}

/**
 * Plans one host of a run or an upload: its route, then direct, through which endpoint, a jump or
 * plain SSH. A host that cannot be reached is marked failed now, with why (and its instance).
 */
export async function planHost(deps: Pick<FleetDeps, 'routeOf' | 'connector'>, host: PlannedHost): Promise<void> {
  const { info } = host;
  try {
    const route = await deps.routeOf(host.ref);
    host.route = route;
    const last = route.hops[route.hops.length - 1]!;
    const ec2 = last.kind === 'ec2' ? { instanceId: last.target.instanceId, ...(last.target.profile ? { profile: last.target.profile } : {}) } : {};
    let p: HostPlan;
    if (route.hops.length > 1) p = { via: 'jump', ...ec2 };
    else if (last.kind === 'ssh') p = { via: 'ssh' };
    else {
      const { plan } = await deps.connector.plan(last.target);
      p = plan.kind === 'eice' ? { via: 'eice', endpointId: plan.endpoint.endpointId, ...ec2 } : { via: 'direct', ...ec2 };
    }
    info.via = p.via;
    if (p.endpointId) info.endpointId = p.endpointId;
    if (p.instanceId) info.instanceId = p.instanceId;
    if (p.profile) host.profile = p.profile;
  } catch (err) {
    info.state = 'error';
    info.error = toKeylessError(err);
    const detail = info.error.detail?.instanceId;
    if (typeof detail === 'string') info.instanceId = detail;
  }
}

/** One line of the fleet audit log: who ran what on which hosts, and how each ended. Never output. */
export interface FleetAuditEntry {
  time: number;
  runId: string;
  /** The local account that ran it; the AWS profiles that pushed the keys are per host. */
  localUser: string;
  command: string;
  sudo: boolean;
  durationMs: number;
  counts: FleetCounts;
  hosts: Array<{ name: string; instanceId: string | null; profile: string | null; via: string; state: string; exitCode: number | null; errorCode: string | null }>;
}

export interface FleetDeps {
  pool: Pick<ConnectionPool, 'borrow'>;
  routeOf(ref: HostRef): Promise<Route>;
  resolveTargets(targets: FleetTargets): Promise<FleetTarget[]>;
  /** Plans an EC2 instance (cached inventory facts): direct or through which endpoint. */
  connector: Pick<InstanceConnector, 'plan'>;
  /** Connect hooks for a run's host: no person is asked (a plain SSH host nothing vouches for is refused). */
  hooks(signal: AbortSignal): ConnectHooks;
  audit(entry: FleetAuditEntry): void;
  localUser: string;
  log: Logger;
}

export type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

interface HostRun {
  info: FleetHost;
  ref: HostRef;
  route?: Route;
  profile?: string;
  stdout?: CappedOutput;
  stderr?: CappedOutput;
  lastEmit: number;
  emitTimer?: NodeJS.Timeout;
}

interface Run {
  summary: FleetRunSummary;
  hosts: HostRun[];
  byKey: Map<string, HostRun>;
  abort: AbortController;
  emit: Emit;
  done: Promise<void>;
  /** What its hosts' output may keep, all of them together. */
  budget: OutputBudget;
}

function counts(hosts: readonly HostRun[]): FleetCounts {
  const c: FleetCounts = { total: hosts.length, queued: 0, running: 0, ok: 0, failed: 0, error: 0, timedOut: 0, cancelled: 0 };
  for (const { info } of hosts) {
    if (info.state === 'queued' || info.state === 'waiting') c.queued++;
    else if (info.state === 'connecting' || info.state === 'running') c.running++;
    else c[info.state]++;
  }
  return c;
}

/** "38 hosts: 31 through 3 endpoints, 7 direct" as numbers. */
export function reachOf(hosts: readonly Pick<FleetHost, 'via' | 'endpointId'>[]): FleetReach {
  const per = new Map<string, number>();
  let direct = 0;
  let jump = 0;
  let unreachable = 0;
  for (const h of hosts) {
    if (h.via === 'eice' && h.endpointId) per.set(h.endpointId, (per.get(h.endpointId) ?? 0) + 1);
    else if (h.via === 'jump') jump++;
    else if (h.via === 'none') unreachable++;
    else direct++;
  }
  const endpoints = [...per].map(([endpointId, n]) => ({ endpointId, hosts: n })).sort((a, b) => b.hosts - a.hosts || a.endpointId.localeCompare(b.endpointId));
  return { total: hosts.length, endpoints, throughEndpoints: endpoints.reduce((s, e) => s + e.hosts, 0), direct, jump, unreachable };
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Fleet commands: a command or script run on many hosts at once over the pool's connections.
 * Hosts behind one endpoint run at most 20 at a time (its tunnel limit; the rest wait for it while
 * hosts behind other endpoints and direct hosts run), the whole run at most `concurrency`. Each
 * host ends on its own: its exit code and output, or the typed error that stopped it. Runs are
 * kept (the last 50) with each host's output capped, and each finished run is audited.
 */
export class FleetService implements Disposable {
  private nextRun = 1;
  private runs: Run[] = [];

  constructor(private readonly deps: FleetDeps) {}

  /** The targets' hosts and how each would be reached: the summary shown before running. */
  async resolve(targets: FleetTargets): Promise<{ hosts: FleetHost[]; reach: FleetReach }> {
    const planned = await this.plan(await this.deps.resolveTargets(targets));
    const hosts = planned.map((h) => h.info);
    return { hosts, reach: reachOf(hosts) };
  }

  async start(args: ParsedArgs<'fleet.run'>, emit: Emit, rerunOf?: string): Promise<{ run: FleetRunSummary; hosts: FleetHost[] }> {
    const targets = await this.deps.resolveTargets(args.targets);
    return this.launch({ command: args.command, sudo: args.sudo, timeoutS: args.timeoutS, concurrency: args.concurrency }, targets, emit, rerunOf);
  }

  /** The same command on the hosts of `runId` that did not succeed. */
  async rerun(runId: string, emit: Emit): Promise<{ run: FleetRunSummary; hosts: FleetHost[] }> {
    const old = this.run(runId);
    const failed = old.hosts.filter((h) => h.info.state !== 'ok' && FLEET_DONE_STATES.includes(h.info.state));
    if (!failed.length) fail('InvalidArguments', 'Every host of that run succeeded (or is still running): there is nothing to run again.', { field: 'runId' });
    const { command, sudo, timeoutS, concurrency } = old.summary;
    return this.launch({ command, sudo, timeoutS, concurrency }, failed.map((h) => ({ key: h.info.key, name: h.info.name, ref: h.ref })), emit, runId);
  }

  cancel(runId: string): void {
    this.run(runId).abort.abort();
  }

  list(): FleetRunSummary[] {
    return this.runs.map((r) => r.summary).reverse();
  }

  get(runId: string): { run: FleetRunSummary; hosts: FleetHost[] } {
    const r = this.run(runId);
    return { run: r.summary, hosts: r.hosts.map((h) => h.info) };
  }

  /** Resolves when the run has ended (tests, the benchmark). */
  whenDone(runId: string): Promise<FleetRunSummary> {
    const r = this.run(runId);
    return r.done.then(() => r.summary);
  }

  output(runId: string, key: string): { stdout: string; stderr: string; stdoutCutAt?: number; stderrCutAt?: number; stdoutCutByRun?: boolean; stderrCutByRun?: boolean } {
    const h = this.run(runId).byKey.get(key) ?? fail('NotFound', `The run ${runId} has no host ${key}.`, { runId, key });
    const cutOut = h.stdout?.cutAt;
    const cutErr = h.stderr?.cutAt;
    return {
      stdout: h.stdout?.bytes.toString('utf8') ?? '',
      stderr: h.stderr?.bytes.toString('utf8') ?? '',
      ...(cutOut !== undefined ? { stdoutCutAt: cutOut } : {}),
      ...(cutErr !== undefined ? { stderrCutAt: cutErr } : {}),
      ...(h.stdout?.cutByRun ? { stdoutCutByRun: true } : {}),
      ...(h.stderr?.cutByRun ? { stderrCutByRun: true } : {}),
    };
  }

  export(runId: string, format: 'json' | 'csv'): { fileName: string; text: string } {
    const r = this.run(runId);
    const hosts: ExportedHost[] = r.hosts.map((h) => ({ ...h.info, ...this.output(runId, h.info.key) }));
    const stamp = new Date(r.summary.startedAt).toISOString().replace(/[:.]/g, '-');
    return { fileName: `keyless-run-${runId}-${stamp}.${format}`, text: format === 'csv' ? runToCsv(hosts) : runToJson(r.summary, hosts) };
  }

  dispose(): void {
    for (const r of this.runs) r.abort.abort();
  }

  private run(runId: string): Run {
    return this.runs.find((r) => r.summary.runId === runId) ?? fail('NotFound', `No run ${runId} is kept (the last ${HISTORY_RUNS} are, fewer when their output is large).`, { runId });
  }

  /** Plans each target (route, then direct or which endpoint); a host that cannot be reached says why now. */
  private plan(targets: readonly FleetTarget[]): Promise<HostRun[]> {
    return mapLimited(targets, PLANS_AT_ONCE, async (t): Promise<HostRun> => {
      const info: FleetHost = { key: t.key, name: t.name, via: 'none', state: 'queued', exitCode: null, durationMs: null, lastLine: '', stdoutBytes: 0, stderrBytes: 0, outputLines: 0 };
      const host: HostRun = { info, ref: t.ref, lastEmit: 0 };
      await planHost(this.deps, host);
      return host;
    });
  }

  private async launch(job: { command: string; sudo: boolean; timeoutS: number; concurrency: number }, targets: FleetTarget[], emit: Emit, rerunOf?: string) {
    if (!targets.length) fail('InvalidArguments', 'The targets name no hosts.', { field: 'targets' });
    const hosts = await this.plan(targets);
    const runId = `r${this.nextRun++}`;
    const summary: FleetRunSummary = {
      runId,
      command: job.command,
      sudo: job.sudo,
      timeoutS: job.timeoutS,
      concurrency: job.concurrency,
      startedAt: Date.now(),
      endedAt: null,
      state: 'running',
      counts: counts(hosts),
      reach: reachOf(hosts.map((h) => h.info)),
      ...(rerunOf ? { rerunOf } : {}),
    };
    const run: Run = { summary, hosts, byKey: new Map(hosts.map((h) => [h.info.key, h])), abort: new AbortController(), emit: safeEmit(emit, this.deps.log), done: Promise.resolve(), budget: new OutputBudget() };
    this.runs.push(run);
    this.trimHistory();
    run.done = this.drive(run, job);
    return { run: summary, hosts: hosts.map((h) => h.info) };
  }

  private trimHistory(): void {
    const drop = runsToDrop(this.runs.map((r) => ({ running: r.summary.state === 'running', keptBytes: r.budget.used })));
    this.runs = this.runs.filter((_, i) => !drop.has(i));
  }

  private async drive(run: Run, job: { command: string; sudo: boolean; timeoutS: number; concurrency: number }): Promise<void> {
    const queued: Queued[] = run.hosts.filter((h) => h.info.state === 'queued').map((h) => ({ key: h.info.key, lane: h.info.via === 'eice' ? h.info.endpointId : undefined }));
    // Hosts that failed while planning are final already: announce everything once.
    for (const h of run.hosts) run.emit('fleet.host', { runId: run.summary.runId, host: h.info });
    await driveQueue(queued, { concurrency: job.concurrency, perLane: DEFAULT_LIMITS.perLane }, run.abort.signal, {
      start: (key) => this.runHost(run, run.byKey.get(key)!, job),
      cancelQueued: (key) => this.settle(run, run.byKey.get(key)!, { state: 'cancelled' }),
      waiting: (key) => {
        const h = run.byKey.get(key)!;
        if (h.info.state === 'queued') this.update(run, h, { state: 'waiting' });
      },
      turned: () => this.summarise(run),
    });
    run.summary.state = run.abort.signal.aborted ? 'cancelled' : 'done';
    run.summary.endedAt = Date.now();
    run.summary.counts = counts(run.hosts);
    run.emit('fleet.run', run.summary);
    this.audit(run);
  }

  private async runHost(run: Run, host: HostRun, job: { command: string; sudo: boolean; timeoutS: number }): Promise<void> {
    const t0 = Date.now();
    const signal = run.abort.signal;
    this.update(run, host, { state: 'connecting' });
    let lease: Lease | undefined;
    try {
      lease = await this.borrowBackingOff(host.route!, signal);
      if (signal.aborted) throw new KeylessFailure('Cancelled', 'The run was cancelled.', true);
      this.update(run, host, { state: 'running' });
      let dropped: KeylessFailure | undefined;
      const stopDrop = lease.onDrop((reason) => (dropped = reason));
      const result = await runRemote(lease.connection.ssh, job, {
        timeoutMs: job.timeoutS * 1000,
        signal,
        onOutput: () => this.outputArrived(run, host),
        budget: run.budget,
      });
      stopDrop();
      host.stdout = result.stdout;
      host.stderr = result.stderr;
      const common = { exitCode: result.exitCode, durationMs: Date.now() - t0, ...(result.signal ? { signal: result.signal } : {}), ...this.outputFacts(host) };
      if (result.timedOut) return this.settle(run, host, { ...common, state: 'timedOut' });
      if (result.cancelled) return this.settle(run, host, { ...common, state: 'cancelled' });
      const refusal = job.sudo ? sudoRefusal(result.exitCode, result.stderr.bytes.toString('utf8')) : undefined;
      if (refusal) return this.settle(run, host, { ...common, state: 'error', error: sudoRefused(host.info.name, refusal).toData() });
      if (result.exitCode === null && !result.signal) {
        const e = dropped ?? new KeylessFailure('SessionClosed', `The connection to ${host.info.name} closed before the command ended.`, true, { host: host.info.name });
        return this.settle(run, host, { ...common, state: 'error', error: e.toData() });
      }
      this.settle(run, host, { ...common, state: result.exitCode === 0 ? 'ok' : 'failed' });
    } catch (err) {
      const error: KeylessError = toKeylessError(err);
      const cancelled = signal.aborted && error.code === 'Cancelled';
      this.settle(run, host, { durationMs: Date.now() - t0, state: cancelled ? 'cancelled' : 'error', ...(cancelled ? {} : { error }) });
    } finally {
      lease?.dispose();
    }
  }

  /** A lease on the host's connection; a connect AWS throttled is tried again after a wait, not counted as the host's failure. */
  private async borrowBackingOff(route: Route, signal: AbortSignal): Promise<Lease> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.pool.borrow(route, this.deps.hooks(signal));
      } catch (err) {
        const throttled = err instanceof KeylessFailure && err.code === 'AwsThrottled';
        if (!throttled || attempt >= THROTTLE_BACKOFF_S.length || signal.aborted) throw err;
        this.deps.log.info('fleet connect throttled, waiting', { attempt: attempt + 1, waitS: THROTTLE_BACKOFF_S[attempt]! });
        await sleep(THROTTLE_BACKOFF_S[attempt]! * 1000 * (1 + Math.random() / 2), signal, 'The run was cancelled.');
      }
    }
  }

  private outputFacts(host: HostRun): Partial<FleetHost> {
    const out = host.stdout!;
    const errs = host.stderr!;
    const digest = createHash('sha256').update(out.bytes).update('\0').update(errs.bytes).digest('hex').slice(0, 32);
    return {
      lastLine: out.lastLine || errs.lastLine,
      stdoutBytes: out.total,
      stderrBytes: errs.total,
      outputLines: out.lines,
      outputDigest: digest,
      ...(out.cutAt !== undefined ? { stdoutCutAt: out.cutAt } : {}),
      ...(errs.cutAt !== undefined ? { stderrCutAt: errs.cutAt } : {}),
    };
  }

  /** A running host's row follows its output a few times a second, not per chunk. */
  private outputArrived(run: Run, host: HostRun): void {
    if (host.emitTimer) return;
    const wait = Math.max(0, host.lastEmit + OUTPUT_EVENT_MS - Date.now());
    host.emitTimer = setTimeout(() => {
      host.emitTimer = undefined;
      if (host.info.state !== 'running') return;
      host.lastEmit = Date.now();
      run.emit('fleet.host', { runId: run.summary.runId, host: host.info });
    }, wait);
  }

  private update(run: Run, host: HostRun, patch: Partial<FleetHost>): void {
    Object.assign(host.info, patch);
    host.lastEmit = Date.now();
    run.emit('fleet.host', { runId: run.summary.runId, host: host.info });
  }

  private settle(run: Run, host: HostRun, patch: Partial<FleetHost>): void {
    clearTimeout(host.emitTimer);
    host.emitTimer = undefined;
    this.update(run, host, patch);
  }

  private summarise(run: Run): void {
    run.summary.counts = counts(run.hosts);
    if (run.summary.state === 'running') run.emit('fleet.run', run.summary);
  }

  private audit(run: Run): void {
    const s = run.summary;
    this.deps.audit({
      time: s.startedAt,
      runId: s.runId,
      localUser: this.deps.localUser,
      command: s.command.length > 4096 ? s.command.slice(0, 4096) + '…' : s.command,
      sudo: s.sudo,
      durationMs: (s.endedAt ?? Date.now()) - s.startedAt,
      counts: s.counts,
      hosts: run.hosts.map((h) => ({
        name: h.info.name,
        instanceId: h.info.instanceId ?? null,
        profile: h.profile ?? null,
        via: h.info.via,
        state: h.info.state,
        exitCode: h.info.exitCode,
        errorCode: h.info.error?.code ?? null,
      })),
    });
  }
}

/** Events to a renderer that may have gone: a run or an upload outlives the window that started it. */
export function safeEmit(emit: Emit, log: Logger): Emit {
  return (event, payload) => {
    try {
      emit(event, payload);
    } catch (err) {
      log.debug('fleet event not delivered', { event, error: err instanceof Error ? err.message : String(err) });
    }
  };
}

/** The contract's fleet channels on a service; events go to the renderer that started the run. */
export function fleetHandlers(fleet: FleetService): Pick<Handlers, `fleet.${string}` & keyof Handlers> {
  const ok = { ok: true } as const;
  return {
    'fleet.resolve': ({ targets }) => fleet.resolve(targets),
    'fleet.run': (args, { peer }) => fleet.start(args, (e, p) => peer.emit(e, p)),
    'fleet.rerun': ({ runId }, { peer }) => fleet.rerun(runId, (e, p) => peer.emit(e, p)),
    'fleet.cancel': ({ runId }) => (fleet.cancel(runId), ok),
    'fleet.runs': () => ({ runs: fleet.list() }),
    'fleet.get': ({ runId }) => fleet.get(runId),
    'fleet.output': ({ runId, key }) => fleet.output(runId, key),
    'fleet.export': ({ runId, format }) => fleet.export(runId, format),
  };
}
