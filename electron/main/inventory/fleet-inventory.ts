import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setMaxListeners } from 'node:events';
import type { EC2Client, Ec2InstanceConnectEndpoint, Instance } from '@aws-sdk/client-ec2';
import type { InventoryEndpoint, InventoryInstance, InventoryNetwork, InventoryScope, InventorySnapshot, KeylessError } from '../../contract';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';
import { endpointFacts, instanceFacts } from '../connect/ec2-inventory';
import { describeAwsError } from '../aws/errors';
import { useAwsClock, type AwsClock } from '../aws/clock';
import { KeylessFailure, toKeylessError } from '../base/errors';
import { http } from '../base/node-http';
import type { Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { EndpointFacts, InstanceFacts } from '../connect/plan';
import type { MfaAsker, ProfileCredentials } from '../profiles/profile-credentials';
import { readAwsFiles } from '../profiles/profile-files';
import { fastEc2Protocol } from './ec2-xml';
import { endpointRecord, INSTANCE_RECORD_PLAN, INSTANCE_RECORD_XML, instanceRecord, subnetRecord, vpcRecord } from './instance-record';
import { InventoryCache } from './inventory-cache';

export interface RefreshRequest {
  profiles: string[];
  /** None: every region each profile has enabled (DescribeRegions). */
  regions?: string[];
}

export interface RefreshOptions {
  signal: AbortSignal;
  askMfa?: MfaAsker;
  onProgress?: (p: { done: number; total: number; profile: string; region: string; status: 'ok' | 'failed' }) => void;
  /** A background refresh asks nobody anything and leaves a scope as it was when only a question stopped it. */
  background?: boolean;
}

export interface FleetInventoryOptions {
  credentials: ProfileCredentials;
  cache: InventoryCache;
  log: Logger;
  /** Describe calls in flight at once, across every profile and region. */
  maxConcurrentCalls?: number;
  /** Region for DescribeRegions when a profile names none. */
  fallbackRegion?: string;
  maxAttempts?: number;
  /** Learns AWS's clock from every answer a refresh gets. */
  clock?: AwsClock;
}

const scopeKey = (profile: string, region: string) => `${profile}\n${region}`;
const imageKey = (profile: string, region: string, imageId: string) => `${profile}\n${region}\n${imageId}`;

/**
 * A counting semaphore: at most `limit` callers inside `run` at once. Waiting callers go in by
 * rank, then arrival: a scope's next page (rank of its scope) passes calls of scopes ranked after
 * it, so the scope with the most pages, ranked first, never waits behind the whole fleet's queue.
 */
class CallLimit {
  private active = 0;
  private seq = 0;
  private readonly queue: Array<{ rank: number; seq: number; go: () => void }> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>, rank = 0): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((go) => this.queue.push({ rank, seq: this.seq++, go }));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.next();
    }
  }
  private next(): void {
    if (!this.queue.length) return;
    let best = 0;
    for (let k = 1; k < this.queue.length; k++) {
      const a = this.queue[k]!;
      const b = this.queue[best]!;
      if (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)) best = k;
    }
    this.queue.splice(best, 1)[0]!.go();
  }
}

/**
 * What one profile × region's refresh read for the connect planner, read at `at` (the scope's
 * start); `endpoints` is missing when they could not be listed.
 */
export interface ScopeRead {
  profile: string;
  region: string;
  at: number;
  instances: InstanceFacts[];
  endpoints?: EndpointFacts[];
}

interface ScopeResult {
  scope: InventoryScope;
  instances: InventoryInstance[];
  endpoints: InventoryEndpoint[];
  vpcs: InventoryNetwork[];
  subnets: InventoryNetwork[];
}

/**
 * The fleet across profiles × regions. Every scope runs in parallel (bounded by one limit on
 * calls in flight, biggest scopes first so the slowest does not start last); within a scope the
 * four Describe calls run side by side and DescribeInstances follows every page. One failing
 * profile or region is marked with its reason and never fails the rest. The result is merged
 * into the on-disk cache (no credentials in it): scopes not refreshed, or failed, keep their last data.
 */
export class FleetInventory implements Disposable {
  private readonly clients = new Map<string, EC2Client>();
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly limit: CallLimit;

  constructor(private readonly opts: FleetInventoryOptions) {
    const maxSockets = opts.maxConcurrentCalls ?? 256;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });
    this.limit = new CallLimit(maxSockets);
  }

  get cache(): InventoryCache {
    return this.opts.cache;
  }

  private readonly readListeners = new Set<(read: ScopeRead) => void>();

  /** Calls `listener` with each scope a refresh read in full (for the connect planner's cache). */
  onScopeRead(listener: (read: ScopeRead) => void): () => void {
    this.readListeners.add(listener);
    return () => this.readListeners.delete(listener);
  }

  /**
   * AMI names by profile, region and image id. An image's name never changes, so one read (or
   * the last snapshot) is enough: a repeat refresh makes no DescribeImages call for AMIs it knows.
   */
  private readonly imageNames = new Map<string, string>();

  /**
   * Each command's refresh signal, then its signed request's: the clients keep one resolved
   * middleware chain per command (`cacheMiddleware`, a quarter of a small call's CPU), which
   * rules out per-call options, so the abort signal reaches the HTTP handler this way.
   */
  private readonly commandSignals = new WeakMap<object, AbortSignal>();
  private readonly requestSignals = new WeakMap<object, AbortSignal>();

  private withSignal<C extends { input: object }>(command: C, signal: AbortSignal): C {
    this.commandSignals.set(command.input, signal);
    return command;
  }

  /** Per profile, the EC2 endpoint override (the SDK itself would honour only AWS_PROFILE's endpoint_url). */
  private readonly endpoints = new Map<string, string | undefined>();

  /** Reading 10,000 instances' XML is most of a refresh's CPU: read faster, and only what a row shows. */
  private protocol: ReturnType<typeof fastEc2Protocol> | undefined;

  private async client(profile: string, region: string): Promise<EC2Client> {
    const [{ EC2Client }, protocol] = await Promise.all([sdk.ec2(), (this.protocol ??= fastEc2Protocol({ projection: INSTANCE_RECORD_XML, plans: INSTANCE_RECORD_PLAN }))]);
    const endpoint = this.endpoints.get(profile);
    const key = `${scopeKey(profile, region)}\n${endpoint ?? ''}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new EC2Client({
        region,
        profile,
        ...(endpoint ? { endpoint } : {}),
        credentials: () => this.opts.credentials.credentials(profile),
        requestHandler: { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent, connectionTimeout: 10_000, requestTimeout: 30_000 },
        maxAttempts: this.opts.maxAttempts ?? 5,
        retryMode: 'standard',
        protocol,
        cacheMiddleware: true,
      });
      if (this.opts.clock) useAwsClock(c, this.opts.clock);
      // The signed request of a command carries its refresh's signal to the HTTP handler.
      c.middlewareStack.add(
        (next) => (args) => {
          const signal = this.commandSignals.get(args.input as object);
          if (signal && args.request && typeof args.request === 'object') this.requestSignals.set(args.request, signal);
          return next(args);
        },
        { step: 'deserialize', name: 'keylessRefreshSignal' },
      );
      const handler = c.config.requestHandler;
      const handle = handler.handle.bind(handler);
      const signals = this.requestSignals;
      handler.handle = (request, options) => handle(request, { ...options, abortSignal: signals.get(request as object) ?? (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal });
      this.clients.set(key, c);
    }
    return c;
  }

  private call<T>(fn: () => Promise<T>, rank = 0): Promise<T> {
    return this.limit.run(fn, rank);
  }

  async refresh(req: RefreshRequest, o: RefreshOptions): Promise<InventorySnapshot> {
    const started = Date.now();
    const previous = await this.opts.cache.load();
    const prevScopes = new Map((previous?.snapshot.scopes ?? []).map((s) => [scopeKey(s.profile, s.region), s]));
    for (const i of previous?.snapshot.instances ?? []) if (i.imageName && i.imageId) this.imageNames.set(imageKey(i.profile, i.region, i.imageId), i.imageName);
    let done = 0;
    let total = req.regions ? req.profiles.length * req.regions.length : 0;
    const results: ScopeResult[] = [];
    const report = (r: ScopeResult) => {
      results.push(r);
      done++;
      o.onProgress?.({ done, total, profile: r.scope.profile, region: r.scope.region, status: r.scope.status });
    };

    // Each profile's credentials once (one MFA question per profile), then its regions.
    setMaxListeners(0, o.signal);
    await readAwsFiles();
    const plans = await Promise.all(
      req.profiles.map(async (profile) => {
        try {
          this.endpoints.set(profile, (await endpointOverride('EC2', profile))?.href);
          await this.opts.credentials.credentials(profile, o.background ? undefined : o.askMfa);
          const regions = req.regions ?? (await this.enabledRegions(profile, o.signal));
          if (!req.regions) total += regions.length;
          return { profile, regions };
        } catch (err) {
          const error = toKeylessError(err);
          const regions = req.regions ?? [prevRegionsOf(prevScopes, profile)[0] ?? '*'];
          if (!req.regions) total += regions.length;
          return { profile, regions, error };
        }
      }),
    );

    const jobs: Array<{ profile: string; region: string; weight: number }> = [];
    for (const plan of plans) {
      if (plan.error) {
        for (const region of plan.regions) report(this.failed(plan.profile, region, plan.error, started));
        continue;
      }
      for (const region of plan.regions) {
        jobs.push({ profile: plan.profile, region, weight: prevScopes.get(scopeKey(plan.profile, region))?.calls ?? 0 });
      }
    }
    // Longest first: the scope with the most pages last time starts at once.
    jobs.sort((a, b) => b.weight - a.weight);
    await Promise.all(jobs.map((j, rank) => this.describeScope(j.profile, j.region, o.signal, rank).then(report)));
    if (o.signal.aborted) throw new KeylessFailure('Cancelled', 'The inventory refresh was cancelled.', true);

    reclassifyDisabledRegions(results);
    const snapshot = this.merge(previous?.snapshot, results, o.background ?? false);
    // Current at once; written to disk after the answer (a failed write is logged by the cache).
    this.opts.cache.save(snapshot, req).catch(() => {});
    this.opts.log.info('inventory refreshed', {
      scopes: results.length,
      failed: results.filter((r) => r.scope.status === 'failed').length,
      instances: snapshot.instances.length,
      ms: Date.now() - started,
    });
    return snapshot;
  }

  private async enabledRegions(profile: string, signal: AbortSignal): Promise<string[]> {
    const { configFile } = await readAwsFiles();
    const region = configFile[profile]?.region || process.env.AWS_REGION || this.opts.fallbackRegion || 'us-east-1';
    try {
      const [ec2, { DescribeRegionsCommand }] = await Promise.all([this.client(profile, region), sdk.ec2()]);
      const out = await this.call(() => ec2.send(this.withSignal(new DescribeRegionsCommand({}), signal)), -1);
      return (out.Regions ?? []).map((r) => r.RegionName).filter((r): r is string => !!r).sort();
    } catch (err) {
      throw describeAwsError(err, { action: 'ec2:DescribeRegions', region, profile });
    }
  }

  private failed(profile: string, region: string, error: KeylessError, started: number): ScopeResult {
    return {
      scope: { profile, region, account: null, status: 'failed', error, instances: 0, calls: 0, ms: Date.now() - started, checkedAt: Date.now(), dataAt: null },
      instances: [],
      endpoints: [],
      vpcs: [],
      subnets: [],
    };
  }

  /** One profile × region; `rank` orders its calls among the refresh's waiting ones (0 first). */
  private async describeScope(profile: string, region: string, signal: AbortSignal, rank: number): Promise<ScopeResult> {
    const started = Date.now();
    const [ec2, { DescribeInstanceConnectEndpointsCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSubnetsCommand, DescribeVpcsCommand }] = await Promise.all([
      this.client(profile, region),
      sdk.ec2(),
    ]);
    let calls = 0;
    const pages = async <T>(action: string, page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> => {
      const all: T[] = [];
      let token: string | undefined;
      try {
        do {
          calls++;
          const out = await this.call(() => page(token), rank);
          all.push(...out.items);
          token = out.next;
        } while (token);
      } catch (err) {
        throw describeAwsError(err, { action, region, profile });
      }
      return all;
    };
    const settle = <T>(p: Promise<T>) => p.then((value) => ({ value }), (error: unknown) => ({ error: toKeylessError(error) }));

    const [inst, eice, vpcs, subnets] = await Promise.all([
      settle(
        pages('ec2:DescribeInstances', async (NextToken) => {
          const out = await ec2.send(this.withSignal(new DescribeInstancesCommand({ MaxResults: 1000, NextToken }), signal));
          const items = (out.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => ({ owner: r.OwnerId ?? '', i })));
          return { items, next: out.NextToken };
        }),
      ),
      settle(
        pages('ec2:DescribeInstanceConnectEndpoints', async (NextToken) => {
          const out = await ec2.send(this.withSignal(new DescribeInstanceConnectEndpointsCommand({ MaxResults: 50, NextToken }), signal));
          return { items: out.InstanceConnectEndpoints ?? [], next: out.NextToken };
        }),
      ),
      settle(
        pages('ec2:DescribeVpcs', async (NextToken) => {
          const out = await ec2.send(this.withSignal(new DescribeVpcsCommand({ MaxResults: 1000, NextToken }), signal));
          return { items: (out.Vpcs ?? []).map((v) => ({ owner: v.OwnerId ?? '', rec: vpcRecord(profile, region, v) })), next: out.NextToken };
        }),
      ),
      settle(
        pages('ec2:DescribeSubnets', async (NextToken) => {
          const out = await ec2.send(this.withSignal(new DescribeSubnetsCommand({ MaxResults: 1000, NextToken }), signal));
          return { items: (out.Subnets ?? []).map((s) => subnetRecord(profile, region, s)).filter((s) => !!s), next: out.NextToken };
        }),
      ),
    ]);
    if ('error' in inst) {
      if (inst.error.code === 'AwsCredentialsExpired') this.opts.credentials.invalidate(profile);
      const r = this.failed(profile, region, inst.error, started);
      r.scope.calls = calls;
      return r;
    }
    const rawEndpoints: Ec2InstanceConnectEndpoint[] = 'value' in eice ? eice.value : [];
    const endpoints = rawEndpoints.map((e) => endpointRecord(profile, region, e)).filter((e): e is InventoryEndpoint => !!e);
    const vpcList = 'value' in vpcs ? vpcs.value : [];
    const account = inst.value[0]?.owner || vpcList[0]?.owner || null;
    // The AMI names say which OS user logs in (ec2-user, ubuntu, admin, …); without them the platform is the hint.
    const imageIds = [...new Set(inst.value.map(({ i }) => i.ImageId).filter((x): x is string => !!x))];
    const unknown = imageIds.filter((id) => !this.imageNames.has(imageKey(profile, region, id)));
    await settle(
      (async () => {
        for (let k = 0; k < unknown.length; k += 200) {
          calls++;
          const out = await this.call(() => ec2.send(this.withSignal(new DescribeImagesCommand({ ImageIds: unknown.slice(k, k + 200) }), signal)), rank);
          for (const im of out.Images ?? []) if (im.ImageId && im.Name) this.imageNames.set(imageKey(profile, region, im.ImageId), im.Name);
        }
      })().catch((err: unknown) => {
        throw describeAwsError(err, { action: 'ec2:DescribeImages', region, profile });
      }),
    );
    const imageName = (id: string | undefined) => (id ? this.imageNames.get(imageKey(profile, region, id)) : undefined);
    const instances = inst.value
      .map(({ owner, i }: { owner: string; i: Instance }) => instanceRecord(profile, owner || account || '', region, i, endpoints, imageName(i.ImageId)))
      .filter((i): i is InventoryInstance => !!i);
    const warning = [eice, vpcs, subnets].find((r): r is { error: KeylessError } => 'error' in r)?.error;
    if (this.readListeners.size) {
      const read: ScopeRead = {
        profile,
        region,
        at: started,
        instances: inst.value.filter(({ i }) => i.InstanceId).map(({ i }) => instanceFacts(i, imageName(i.ImageId))),
        ...('value' in eice ? { endpoints: rawEndpoints.map(endpointFacts).filter((e): e is EndpointFacts => !!e) } : {}),
      };
      for (const listener of this.readListeners) listener(read);
    }
    const ms = Date.now() - started;
    return {
      scope: {
        profile,
        region,
        account,
        status: 'ok',
        ...(warning ? { warning } : {}),
        instances: instances.length,
        calls,
        ms,
        checkedAt: Date.now(),
        dataAt: Date.now(),
      },
      instances,
      endpoints,
      vpcs: vpcList.map((v) => v.rec).filter((v): v is InventoryNetwork => !!v),
      subnets: 'value' in subnets ? subnets.value : [],
    };
  }

  /** The new results over the old snapshot: other scopes, and the data of failed ones, stay as they were. */
  private merge(old: InventorySnapshot | undefined, results: ScopeResult[], background: boolean): InventorySnapshot {
    const fresh = new Map<string, ScopeResult>();
    for (const r of results) {
      // A background refresh must not turn "needs your MFA code" into a failure on screen.
      if (background && r.scope.status === 'failed' && (r.scope.error?.code === 'AwsMfaRequired' || r.scope.error?.code === 'Cancelled')) continue;
      fresh.set(scopeKey(r.scope.profile, r.scope.region), r);
    }
    const oldScopes = new Map((old?.scopes ?? []).map((s) => [scopeKey(s.profile, s.region), s]));
    const keepOld = (profile: string, region: string) => {
      const r = fresh.get(scopeKey(profile, region));
      return !r || r.scope.status === 'failed';
    };
    const scopes: InventoryScope[] = [];
    for (const [key, s] of oldScopes) if (!fresh.has(key)) scopes.push(s);
    for (const [key, r] of fresh) {
      const prev = oldScopes.get(key);
      if (r.scope.status === 'failed' && prev) {
        scopes.push({ ...r.scope, account: prev.account, instances: prev.instances, dataAt: prev.dataAt });
      } else {
        scopes.push(r.scope);
      }
    }
    scopes.sort((a, b) => a.profile.localeCompare(b.profile) || a.region.localeCompare(b.region));
    const pick = <T extends { profile: string; region: string }>(oldList: T[] | undefined, get: (r: ScopeResult) => T[]): T[] => [
      ...(oldList ?? []).filter((x) => keepOld(x.profile, x.region)),
      ...[...fresh.values()].filter((r) => r.scope.status === 'ok').flatMap(get),
    ];
    return {
      fetchedAt: Date.now(),
      scopes,
      instances: pick(old?.instances, (r) => r.instances),
      endpoints: pick(old?.endpoints, (r) => r.endpoints),
      vpcs: pick(old?.vpcs, (r) => r.vpcs),
      subnets: pick(old?.subnets, (r) => r.subnets),
    };
  }

  dispose(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function prevRegionsOf(prev: Map<string, InventoryScope>, profile: string): string[] {
  return [...prev.values()].filter((s) => s.profile === profile).map((s) => s.region);
}

/**
 * A region that is not enabled for the account answers like bad credentials (AuthFailure, or
 * OptInRequired). When the same profile worked in another region, the region is the reason.
 */
export function reclassifyDisabledRegions(results: ScopeResult[]): void {
  // A profile whose credentials some region accepted (even to deny or throttle it) is not the problem elsewhere.
  const accepted = new Set(['AwsAccessDenied', 'AwsThrottled', 'AwsServiceError']);
  const working = new Set(results.filter((r) => r.scope.status === 'ok' || accepted.has(r.scope.error?.code ?? '')).map((r) => r.scope.profile));
  for (const r of results) {
    const e = r.scope.error;
    if (!e) continue;
    const optIn = /OptInRequired/.test(String(e.detail?.reason ?? '')) || /OptInRequired|not subscribed|not enabled/i.test(e.message);
    const authInOneRegion = e.code === 'AwsCredentialsMissing' && working.has(r.scope.profile);
    if (optIn || authInOneRegion) {
      r.scope.error = {
        code: 'AwsRegionDisabled',
        message: `The region ${r.scope.region} is not enabled for the account of profile "${r.scope.profile}" (${e.message.slice(0, 200)}).`,
        retryable: false,
        detail: { profile: r.scope.profile, region: r.scope.region },
      };
    }
  }
}
