import { ec2TargetSchema, hostnameSchema, resolveSettings, type Ec2TargetInput, type HostEntry, type HostGroup, type HostRef, type SshAuth } from '../../contract';
import { fail } from '../base/errors';
import type { ConnectionType } from './plan';

/** An EC2 instance to connect to, as a saved host or the inventory describes it. */
export interface Ec2Target {
  /** undefined: the SDK's default chain (AWS_PROFILE, environment, SSO, …). */
  profile?: string;
  region: string;
  instanceId: string;
  /** undefined: the AMI's usual user (Amazon Linux → ec2-user, Ubuntu → ubuntu, …). */
  osUser?: string;
  connectionType: ConnectionType;
  endpointId?: string;
  port: number;
  /** Seconds an EICE tunnel may stay open (1–3600); the endpoint cuts it then. */
  maxTunnelDuration?: number;
}

/**
 * One SSH connection of a route. A plain SSH host, or an EC2 instance reached with Instance
 * Connect (its own plan decides direct or EICE when it is the first hop; behind a jump host it is
 * dialled at its private address through the jump).
 */
export type Hop =
  | { kind: 'ssh'; label: string; hostId?: string; host: string; port: number; user: string; auth: SshAuth }
  | { kind: 'ec2'; label: string; hostId?: string; target: Ec2Target };

/** The hops to make, outermost jump host first, the destination last. Pure data: `planRoute` decides, the pool dials. */
export interface Route {
  hops: Hop[];
}

interface HostTree {
  hosts: readonly HostEntry[];
  groups: readonly HostGroup[];
}

/** Jump chains deeper than this are refused (OpenSSH has no limit; nobody needs more). */
export const MAX_JUMPS = 8;

function routeInvalid(reason: string, message: string, detail: Record<string, string> = {}): never {
  fail('RouteInvalid', message, { reason, ...detail });
}

/** The EC2 target of a saved EC2 host, with profile, region, user and route inherited from its groups. */
export function ec2TargetOfHost(host: Extract<HostEntry, { kind: 'ec2' }>, groups: readonly HostGroup[]): Ec2Target {
  const eff = resolveSettings(host, host.groupId, groups);
  const region = eff.region.value ?? fail('InvalidArguments', `${host.name} has no region: set one on the host or one of its groups.`, { field: 'region' });
  return {
    // A profile that only comes from the default means the SDK's default chain (AWS_PROFILE…).
    ...(eff.profile.value && eff.profile.from.kind !== 'default' ? { profile: eff.profile.value } : {}),
    region,
    instanceId: host.instanceId,
    // The default user only applies when nothing says otherwise; the AMI knows better.
    ...(eff.osUser.value && eff.osUser.from.kind !== 'default' ? { osUser: eff.osUser.value } : {}),
    connectionType: eff.connectionType.value ?? 'auto',
    ...(host.endpointId ? { endpointId: host.endpointId } : {}),
    port: host.port,
    ...(host.maxTunnelDuration ? { maxTunnelDuration: host.maxTunnelDuration } : {}),
  };
}

/** An EC2 target given in full (the inventory, a test), defaults applied. */
export function ec2TargetOf(input: Ec2TargetInput): Ec2Target {
  const t = ec2TargetSchema.parse(input);
  return {
    ...(t.profile ? { profile: t.profile } : {}),
    region: t.region,
    instanceId: t.instanceId,
    ...(t.osUser ? { osUser: t.osUser } : {}),
    connectionType: t.connectionType,
    ...(t.endpointId ? { endpointId: t.endpointId } : {}),
    port: t.port,
    ...(t.maxTunnelDuration ? { maxTunnelDuration: t.maxTunnelDuration } : {}),
  };
}

/**
 * One element of OpenSSH's ProxyJump, `[user@]host[:port]` (an IPv6 address in brackets), or
 * undefined when it is not in that form. `ssh://` URLs and `none` are OpenSSH's too, but an
 * imported `none` never reaches here and a URL is refused as a form Keyless does not read.
 */
export function parseJumpSpec(spec: string): { user?: string; host: string; port?: number } | undefined {
  const m = /^(?:([^@\s:]+)@)?(\[[0-9A-Fa-f:.%]+\]|[^@\s:[\]]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!m) return undefined;
  const [, user, rawHost, rawPort] = m;
  const host = rawHost!.startsWith('[') ? rawHost!.slice(1, -1) : rawHost!;
  if (!hostnameSchema.safeParse(host).success) return undefined;
  if (user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(user)) return undefined;
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { ...(user ? { user } : {}), host, ...(port ? { port } : {}) };
}

/** A single-label name (no dot, not an address): an alias, which only a saved host can give meaning to. */
const isBareAlias = (host: string) => !host.includes('.') && !host.includes(':') && host !== 'localhost';

/**
 * The route to a host: its jump hosts (each a saved host of any kind, with its own jump hosts
 * first, or an address written in the ProxyJump), then the host itself. Everything that can be
 * wrong with the way is found here, before anything is dialled.
 */
export function planRoute(ref: HostRef, tree: HostTree): Route {
  if (ref.target) {
    const target = ec2TargetOf(ref.target);
    return { hops: [{ kind: 'ec2', label: target.instanceId, target }] };
  }
  const hops = hopsTo(ref.hostId, tree, []);
  if (hops.length - 1 > MAX_JUMPS) routeInvalid('jumpDepth', `The way to ${hops.at(-1)!.label} goes through more than ${MAX_JUMPS} jump hosts.`, { host: hops.at(-1)!.label });
  return { hops };
}

function hopsTo(hostId: string, tree: HostTree, visiting: readonly string[]): Hop[] {
  const host = tree.hosts.find((h) => h.id === hostId) ?? fail('NotFound', `No saved host has the id ${hostId}.`, { id: hostId });
  if (visiting.includes(host.id)) {
    const names = [...visiting, host.id].map((id) => tree.hosts.find((h) => h.id === id)?.name ?? id);
    routeInvalid('jumpCycle', `The jump hosts of ${names[0]} lead back to themselves: ${names.join(' → ')}.`, { host: names[0]!, chain: names.join(' → ') });
  }
  const self = hopOf(host, tree);
  const jumps = host.jumpHost ? host.jumpHost.split(',').map((s) => s.trim()) : [];
  if (host.kind === 'ssh' && host.proxyCommand) {
    routeInvalid('proxyCommand', `${host.name} is reached through a ProxyCommand in your ssh config (${host.proxyCommand}), which Keyless does not run. Replace it with a ProxyJump, or connect with ssh.`, {
      host: host.name,
      command: host.proxyCommand,
    });
  }
  if (host.kind === 'ec2' && jumps.length > 0 && (host.endpointId || host.connectionType === 'eice')) {
    routeInvalid('jumpWithEndpoint', `${host.name} names both a jump host and an Instance Connect Endpoint; it is reached through one or the other.`, { host: host.name });
  }
  const hops: Hop[] = [];
  for (const spec of jumps) {
    const parsed = parseJumpSpec(spec);
    if (!parsed) {
      routeInvalid('jumpSpec', `The jump host "${spec}" of ${host.name} is not in the form [user@]host[:port].`, { host: host.name, jump: spec });
    }
    const saved = tree.hosts.find((h) => h.name === parsed.host);
    if (saved) {
      // A saved jump host brings its own jump hosts; user@ and :port written in the ProxyJump still apply to it.
      const chain = hopsTo(saved.id, tree, [...visiting, host.id]);
      const last = chain[chain.length - 1]!;
      if (last.kind === 'ssh') chain[chain.length - 1] = { ...last, ...(parsed.user ? { user: parsed.user } : {}), ...(parsed.port ? { port: parsed.port } : {}) };
      else if (parsed.user || parsed.port) {
        const t = last.target;
        chain[chain.length - 1] = { ...last, target: { ...t, ...(parsed.user ? { osUser: parsed.user } : {}), ...(parsed.port ? { port: parsed.port } : {}) } };
      }
      hops.push(...chain);
      continue;
    }
    if (isBareAlias(parsed.host)) {
      routeInvalid('jumpUnknown', `The jump host "${parsed.host}" of ${host.name} is not a saved host. Save it (or import it from your ssh config), or write its address.`, {
        host: host.name,
        jump: parsed.host,
      });
    }
    // An address written in the ProxyJump: dialled with the user and key of the host it leads to.
    const user = parsed.user ?? (self.kind === 'ssh' ? self.user : undefined);
    if (!user) routeInvalid('jumpSpec', `The jump host "${spec}" of ${host.name} needs a user: write it as user@${parsed.host}.`, { host: host.name, jump: spec });
    hops.push({ kind: 'ssh', label: parsed.host, host: parsed.host, port: parsed.port ?? 22, user, auth: self.kind === 'ssh' ? self.auth : { type: 'agent' } });
  }
  hops.push(self);
  return hops;
}

function hopOf(host: HostEntry, tree: HostTree): Hop {
  if (host.kind === 'ec2') return { kind: 'ec2', label: host.name, hostId: host.id, target: ec2TargetOfHost(host, tree.groups) };
  const user = resolveSettings(host, host.groupId, tree.groups).osUser.value;
  if (!user) fail('InvalidArguments', `${host.name} has no user: set one on the host or an OS user on one of its groups.`, { field: 'user' });
  return { kind: 'ssh', label: host.name, hostId: host.id, host: host.host, port: host.port, user, auth: host.auth };
}

/** What makes one hop's connection different from another's: never shared across these. */
function hopKey(h: Hop): string {
  if (h.kind === 'ssh') return ['ssh', h.host, h.port, h.user, h.auth.type === 'keyFile' ? h.auth.path : 'agent'].join('|');
  const t = h.target;
  // The profile is part of the key: CloudTrail must name the person whose credentials pushed the key.
  return ['ec2', t.profile ?? '', t.region, t.instanceId, t.osUser ?? '', t.port, t.connectionType, t.endpointId ?? '', t.maxTunnelDuration ?? ''].join('|');
}

/** The pool's key for a route: every hop's key, so the same host through another jump is another connection. */
export function routeKey(route: Route): string {
  return route.hops.map(hopKey).join(' > ');
}

/** The route without its last hop: the jump hosts, pooled as a connection of their own. */
export function jumpRoute(route: Route): Route | undefined {
  return route.hops.length > 1 ? { hops: route.hops.slice(0, -1) } : undefined;
}
