import { resolveSettings, type HostEntry, type HostGroup, type InventorySnapshot } from '../../contract';
import type { EndpointPlan, PolicyTarget } from './access-policy';

export interface SkippedHost {
  name: string;
  reason: 'notEc2' | 'noRegion';
}

/**
 * Saved hosts as the policy needs them: region, OS user and route inherited from their groups
 * (as connecting resolves them), the account and the endpoint from the last inventory.
 */
export function policyTargets(
  hosts: readonly HostEntry[],
  groups: readonly HostGroup[],
  inventory: InventorySnapshot | null,
  /** Accounts known some other way (the profile's STS identity), by profile. */
  knownAccounts: ReadonlyMap<string, string> = new Map(),
): { targets: PolicyTarget[]; skipped: SkippedHost[]; profiles: string[]; unknownAccounts: Map<string, string> } {
  const accounts = new Map<string, string>(knownAccounts);
  /** Profiles whose account is still unknown, with a region to ask STS in. */
  const unknownAccounts = new Map<string, string>();
  for (const s of inventory?.scopes ?? []) if (s.account) accounts.set(s.profile, s.account);
  const targets: PolicyTarget[] = [];
  const skipped: SkippedHost[] = [];
  const profiles = new Set<string>();
  for (const host of hosts) {
    if (host.kind !== 'ec2') {
      skipped.push({ name: host.name, reason: 'notEc2' });
      continue;
    }
    const eff = resolveSettings(host, host.groupId, groups);
    const profile = eff.profile.value ?? 'default';
    const seen = inventory?.instances.find((i) => i.id === host.instanceId && (eff.region.value === undefined || i.region === eff.region.value));
    const region = eff.region.value ?? seen?.region;
    if (!region) {
      skipped.push({ name: host.name, reason: 'noRegion' });
      continue;
    }
    profiles.add(profile);
    // The default user only applies when nothing says otherwise; the AMI's usual user wins (as when connecting).
    const osUser = eff.osUser.from.kind !== 'default' && eff.osUser.value ? eff.osUser.value : seen?.defaultUser || eff.osUser.value || 'ec2-user';
    const type = eff.connectionType.value ?? 'auto';
    let endpointId: string | undefined;
    if (type === 'eice') endpointId = host.endpointId ?? seen?.endpointId ?? '*';
    else if (type === 'auto') endpointId = host.endpointId ?? (seen?.reach === 'endpoint' ? (seen.endpointId ?? '*') : undefined);
    const account = accounts.get(profile) ?? (seen?.account || undefined);
    if (account === undefined) unknownAccounts.set(profile, region);
    const target: PolicyTarget = {
      instanceId: host.instanceId,
      region,
      account,
      osUser,
      endpointId,
      port: host.port,
      maxTunnelDuration: host.maxTunnelDuration,
    };
    targets.push(target);
    // A saved EICE forward (like `open-tunnel --local-port`, RDP included) opens tunnels to its own
    // port through an endpoint even when the shell goes direct: the policy must allow that port too.
    const forwardPorts = new Set(host.portForwards.filter((f) => f.kind === 'eice' && f.remotePort !== host.port).map((f) => f.remotePort));
    for (const port of forwardPorts) {
      targets.push({ ...target, port, endpointId: endpointId ?? host.endpointId ?? seen?.endpointId ?? '*' });
    }
  }
  return { targets, skipped, profiles: [...profiles], unknownAccounts };
}

/**
 * Where an endpoint would help: the subnet the person named, else the subnet of the first chosen
 * instance the inventory found no way to reach (private, and no endpoint in its VPC).
 */
export function endpointPlan(
  targets: readonly PolicyTarget[],
  inventory: InventorySnapshot | null,
  asked: { subnetId?: string | undefined; securityGroupIds?: string[] | undefined; profile?: string | undefined },
): EndpointPlan | undefined {
  let plan: EndpointPlan | undefined;
  if (asked.subnetId) {
    const subnet = inventory?.subnets.find((s) => s.id === asked.subnetId);
    const region = subnet?.region ?? targets[0]?.region;
    if (!region) return undefined;
    plan = { region, subnetId: asked.subnetId, securityGroupIds: asked.securityGroupIds ?? [], profile: subnet?.profile ?? asked.profile };
  } else {
    for (const t of targets) {
      const i = inventory?.instances.find((x) => x.id === t.instanceId && x.region === t.region);
      if (i && i.reach === 'none' && i.subnetId) {
        plan = { region: i.region, subnetId: i.subnetId, securityGroupIds: asked.securityGroupIds ?? [], profile: i.profile };
        break;
      }
    }
  }
  if (!plan) return undefined;
  return { ...plan, instanceIds: servedBy(plan, targets, inventory, asked.subnetId !== undefined) };
}

/**
 * The chosen instances an endpoint in `plan`'s subnet serves, in its region: those in its VPC when
 * the inventory knows the subnet's VPC; else those in its subnet, going through an endpoint or
 * that nothing else reaches; and of those the inventory has not seen, all when the person named the
 * subnet (for these hosts), else those going through an endpoint. Their groups only ever get a rule from the endpoint's own group.
 */
function servedBy(plan: EndpointPlan, targets: readonly PolicyTarget[], inventory: InventorySnapshot | null, named: boolean): string[] {
  const vpc = inventory?.subnets.find((s) => s.id === plan.subnetId && s.region === plan.region)?.vpcId ?? null;
  const ids = new Set<string>();
  for (const t of targets) {
    if (t.region !== plan.region) continue;
    const i = inventory?.instances.find((x) => x.id === t.instanceId && x.region === t.region);
    if (!i ? named || t.endpointId !== undefined : vpc ? i.vpcId === vpc : i.subnetId === plan.subnetId || t.endpointId !== undefined || i.reach === 'none') ids.add(t.instanceId);
  }
  return [...ids].sort();
}
