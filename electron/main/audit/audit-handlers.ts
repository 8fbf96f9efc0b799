import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import { groupAndDescendants, resolveSettings, type auditRequests, type auditSearchRequests, type HostRef, type HostTree, type InventorySnapshot, type LocalAuditEntry, type RouteInfo } from '../../contract';
import { fail } from '../base/errors';
import { toKeylessError } from '../base/errors';
import type { Logger } from '../base/log';
import { accessPolicyText } from '../policy/access-policy';
import { endpointPlan, policyTargets } from '../policy/policy-targets';
import type { Handler, Handlers } from '../rpc/contract-server';
import { alarmSetupText } from './alarms';
import { CallerAccounts } from './caller-account';
import { ConnectionLog } from './connection-log';
import { lookupInstanceConnectEvents } from './cloudtrail-lookup';
import { searchTrail } from './trail-search';

export type AuditHandlers = Pick<Handlers, keyof typeof auditRequests | keyof typeof auditSearchRequests>;
type Audited = Pick<Handlers, 'session.open' | 'forward.open'>;

export interface AuditOptions {
  home: string;
  log: Logger;
  hosts: { tree(): Promise<HostTree> };
  /** The last inventory (accounts from STS, endpoints, subnets), or null before the first refresh. */
  inventory: () => Promise<InventorySnapshot | null>;
  credentials: (profile: string) => Promise<AwsCredentialIdentity>;
  env?: NodeJS.ProcessEnv;
}

const DAY_MS = 24 * 3600_000;

/** The audit channels, and the wrapper that writes every connection Keyless makes to its own log. */
export function createAuditServices(opts: AuditOptions) {
  const connections = new ConnectionLog(join(opts.home, 'audit.jsonl'), opts.log);
  const accounts = new CallerAccounts(opts.credentials);

  const handlers: AuditHandlers = {
    'policy.generate': async ({ hostIds, groupId, subnetId, securityGroupIds, features }) => {
      const tree = await opts.hosts.tree();
      const wanted = new Set(hostIds ?? []);
      const groupIds = groupId !== undefined ? groupAndDescendants(groupId, tree.groups) : new Set<string>();
      if (groupId !== undefined && !tree.groups.some((g) => g.id === groupId)) fail('NotFound', `There is no group with the id ${groupId}.`, { id: groupId });
      const chosen = tree.hosts.filter((h) => wanted.has(h.id) || (h.groupId !== null && groupIds.has(h.groupId)));
      if (chosen.length === 0) fail('NotFound', 'None of the chosen hosts is saved any more.', { id: [...wanted][0] ?? groupId ?? '' });
      const inventory = await opts.inventory();
      let resolved = policyTargets(chosen, tree.groups, inventory);
      if (resolved.unknownAccounts.size) {
        // The inventory did not say: ask STS who each profile is (no prompts, a few seconds at most).
        const found = new Map<string, string>();
        await Promise.all(
          [...resolved.unknownAccounts].map(async ([profile, region]) => {
            const account = await accounts.account(profile, region);
            if (account) found.set(profile, account);
          }),
        );
        if (found.size) resolved = policyTargets(chosen, tree.groups, inventory, found);
      }
      const { targets, skipped, profiles } = resolved;
      const endpoint = endpointPlan(targets, inventory, { subnetId, securityGroupIds, profile: profiles[0] });
      const text = accessPolicyText(targets, { endpoint, features: features ?? [] });
      return {
        policyJson: text.json,
        terraform: text.terraform,
        endpointCommand: text.endpointCommand,
        notes: text.notes,
        hosts: targets.length,
        skipped,
        statements: text.statements,
        terraformParts: text.terraformParts,
      };
    },
    'audit.trail': async ({ profile, region, startTime, endTime, nextToken }, ctx) => {
      const end = new Date(endTime ?? Date.now());
      const start = new Date(startTime ?? end.getTime() - DAY_MS);
      return lookupInstanceConnectEvents(
        { profile, region, startTime: start, endTime: end, nextToken },
        { credentials: opts.credentials, signal: ctx.signal, ...(opts.env ? { env: opts.env } : {}) },
      );
    },
    'audit.search': async ({ profiles, regions, startTime, endTime, hostId, instanceId, user, osUser, refusedOnly }, ctx) => {
      const end = endTime ?? Date.now();
      const start = startTime ?? end - DAY_MS;
      let host: { name: string | null; instanceId: string; privateIp: string | null; region: string | null } | null = null;
      if (hostId !== undefined) {
        const tree = await opts.hosts.tree();
        const h = tree.hosts.find((x) => x.id === hostId);
        if (!h) fail('NotFound', `There is no saved host with the id ${hostId}.`, { id: hostId });
        if (h.kind !== 'ec2') fail('InvalidArguments', `${h.name} is not an EC2 host: CloudTrail records Instance Connect calls for EC2 instances only.`);
        const region = resolveSettings(h, h.groupId, tree.groups).region.value ?? null;
        host = { name: h.name, instanceId: h.instanceId, privateIp: null, region };
      } else if (instanceId !== undefined) {
        host = { name: null, instanceId, privateIp: null, region: null };
      }
      if (host !== null) {
        const wanted = host;
        // A tunnel's record names the endpoint and the private address, not the instance: the inventory knows the address.
        const seen = (await opts.inventory())?.instances.find((i) => i.id === wanted.instanceId && (wanted.region === null || i.region === wanted.region));
        if (seen) host = { ...wanted, privateIp: seen.privateIp || null, region: wanted.region ?? seen.region };
      }
      const r = await searchTrail(
        { profiles, regions, startTime: start, endTime: end, filter: { instanceId: host?.instanceId, privateIp: host?.privateIp, region: host?.region, user, osUser, refusedOnly } },
        { credentials: opts.credentials, signal: ctx.signal, ...(opts.env ? { env: opts.env } : {}) },
      );
      return { ...r, host: host ? { name: host.name, instanceId: host.instanceId, privateIp: host.privateIp } : null };
    },
    'audit.alarmSetup': async ({ profile, region, trailBucket, topicArn, threshold }) => {
      // The last inventory knows the profile's account; else STS says (a few seconds at most).
      const inventory = await opts.inventory();
      const known = inventory?.scopes.find((s) => s.profile === profile && s.account)?.account;
      const account = known ?? (await accounts.account(profile, region)) ?? null;
      const text = alarmSetupText({ region, account, trailBucket, topicArn, threshold });
      return { terraform: text.terraform, cli: text.cli, account, rules: text.patterns };
    },
    'audit.local': async ({ limit }) => ({ file: connections.file, entries: await connections.read(limit ?? 500) }),
  };

  /** What the log says about a saved host, before knowing how the connection went. */
  const describeHost = async (hostId: string): Promise<Omit<LocalAuditEntry, 'time' | 'kind' | 'outcome' | 'errorCode'>> => {
    const tree = await opts.hosts.tree().catch(() => undefined);
    const host = tree?.hosts.find((h) => h.id === hostId);
    if (!host || !tree) return { hostName: null, profile: null, region: null, instanceId: null, osUser: null, connection: 'unknown' };
    if (host.kind === 'ssh') return { hostName: host.name, profile: null, region: null, instanceId: null, osUser: host.user ?? resolveSettings(host, host.groupId, tree.groups).osUser.value ?? null, connection: 'ssh' };
    const eff = resolveSettings(host, host.groupId, tree.groups);
    return {
      hostName: host.name,
      profile: eff.profile.value ?? null,
      region: eff.region.value ?? null,
      instanceId: host.instanceId,
      osUser: eff.osUser.from.kind === 'default' ? null : (eff.osUser.value ?? null),
      connection: eff.connectionType.value ?? 'auto',
    };
  };

  type Where = { hostId?: string | undefined; target?: { profile?: string | undefined; region: string; instanceId: string; osUser?: string | undefined; connectionType?: string | undefined } | undefined };
  const describeWhere = async (w: Where) =>
    w.hostId !== undefined
      ? describeHost(w.hostId)
      : {
          hostName: null,
          profile: w.target?.profile ?? null,
          region: w.target?.region ?? null,
          instanceId: w.target?.instanceId ?? null,
          osUser: w.target?.osUser ?? null,
          connection: w.target?.connectionType ?? 'auto',
        };

  type Outcome = { ok: true; osUser?: string; route?: RouteInfo; sessionId?: string } | { ok: false; err: unknown };
  const record = (kind: LocalAuditEntry['kind'], time: number, base: Awaited<ReturnType<typeof describeHost>>, outcome: Outcome, extra: Partial<LocalAuditEntry> = {}) => {
    const code = outcome.ok ? null : toKeylessError(outcome.err).code;
    // Awaited by the callers: when a connect call returns, its line is in the log.
    return connections.append({
      time,
      kind,
      ...base,
      ...(outcome.ok && outcome.osUser ? { osUser: outcome.osUser } : {}),
      ...(outcome.ok && outcome.route ? { connection: outcome.route.kind, ...(outcome.route.jumps.length ? { via: outcome.route.jumps } : {}) } : {}),
      ...(outcome.ok && outcome.sessionId ? { sessionId: outcome.sessionId } : {}),
      outcome: outcome.ok ? 'connected' : code === 'Cancelled' ? 'cancelled' : 'failed',
      errorCode: code,
      ...extra,
    });
  };

  /** Wraps the channels that open connections: same results and errors, plus one log line each, with the route actually used. */
  function recordConnections(h: Audited): Audited {
    const open: Handler<'session.open'> = async (args, ctx) => {
      const time = Date.now();
      try {
        const r = await h['session.open'](args, ctx);
        await record('terminal', time, await describeWhere(args), { ok: true, osUser: r.osUser, route: r.route, sessionId: r.sessionId });
        return r;
      } catch (err) {
        await record('terminal', time, await describeWhere(args), { ok: false, err });
        throw err;
      }
    };
    const forward: Handler<'forward.open'> = async (args, ctx) => {
      const time = Date.now();
      try {
        const r = await h['forward.open'](args, ctx);
        await record('forward', time, await describeWhere(args), { ok: true, ...(r.kind === 'eice' ? { route: { kind: 'eice', jumps: [], address: r.remoteHost, port: r.remotePort } } : {}) });
        return r;
      } catch (err) {
        await record('forward', time, await describeWhere(args), { ok: false, err });
        throw err;
      }
    };
    return { 'session.open': open, 'forward.open': forward };
  }

  /** Lines still being written (a session's end, told while Keyless closes): `flushed` waits for them. */
  const writing = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    writing.add(p);
    void p.finally(() => writing.delete(p));
    return p;
  };
  /** A terminal's later life: it reconnected by itself (after which drop), and when it ended, how long it lasted. */
  const sessionEvents = {
    reconnected: (e: { sessionId: string; ref: HostRef; route: RouteInfo; osUser: string; after: string }) =>
      track(describeWhere(e.ref).then((base) => record('reconnect', Date.now(), base, { ok: true, osUser: e.osUser, route: e.route, sessionId: e.sessionId }, { errorCode: e.after }))),
    ended: (e: { sessionId: string; ref: HostRef; route: RouteInfo; osUser: string; durationMs: number }) =>
      track(describeWhere(e.ref).then((base) => record('end', Date.now(), base, { ok: true, osUser: e.osUser, route: e.route, sessionId: e.sessionId }, { durationMs: e.durationMs }))),
  };
  const flushed = async () => {
    await Promise.all([...writing]);
    await connections.flushed();
  };

  return { handlers, recordConnections, sessionEvents, flushed, connections };
}
