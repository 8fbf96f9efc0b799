import { filterInstances, groupAndDescendants, queryProblems, type FleetTargets, type HostEntry, type HostGroup, type HostRef, type InventoryInstance, type SmartGroup } from '../../contract';
import { fail } from '../base/errors';

/** One host a run names: its key in the run, the name to show, and how main reaches it. */
export interface FleetTarget {
  key: string;
  name: string;
  ref: HostRef;
}

export interface TargetSources {
  hosts: readonly HostEntry[];
  groups: readonly HostGroup[];
  smartGroups: readonly SmartGroup[];
  /** The last inventory snapshot; null when there is none (no profile read yet). */
  inventory: readonly InventoryInstance[] | null;
}

const savedTarget = (h: HostEntry): FleetTarget => ({ key: `h:${h.id}`, name: h.name, ref: { hostId: h.id } });

/**
 * The hosts a run's targets name, now: the selected saved hosts; a group's hosts and its
 * subgroups' hosts; or the inventory's instances a smart group's query (or a filter typed for the
 * run) matches, each through its saved host when there is one (so its user, route and endpoint
 * apply), else as the inventory describes it. A host named twice runs once.
 */
export function resolveTargets(t: FleetTargets, src: TargetSources): FleetTarget[] {
  let found: FleetTarget[];
  if (t.hostIds) {
    found = t.hostIds.map((id) => {
      const h = src.hosts.find((x) => x.id === id) ?? fail('NotFound', `No saved host has the id ${id}.`, { id });
      return savedTarget(h);
    });
  } else if (t.groupId !== undefined) {
    if (!src.groups.some((g) => g.id === t.groupId)) fail('NotFound', `No group has the id ${t.groupId}.`, { id: t.groupId });
    const ids = groupAndDescendants(t.groupId, src.groups);
    found = src.hosts.filter((h) => h.groupId !== null && ids.has(h.groupId)).map(savedTarget);
  } else {
    let query = t.query;
    if (t.smartGroupId !== undefined) {
      const g = src.smartGroups.find((x) => x.id === t.smartGroupId) ?? fail('NotFound', `No smart group has the id ${t.smartGroupId}.`, { id: t.smartGroupId });
      query = g.query;
    }
    const problems = queryProblems(query ?? '');
    if (problems.length) fail('InvalidArguments', `The filter cannot name hosts: ${problems.join('; ')}.`, { field: 'query' });
    if (!src.inventory) fail('NotFound', 'There is no inventory yet to filter: refresh the inventory first.', { field: 'query' });
    found = filterInstances(src.inventory, query!).map((i) => {
      const saved = src.hosts.find((h) => h.kind === 'ec2' && h.instanceId === i.id && (h.region ?? i.region) === i.region);
      if (saved) return savedTarget(saved);
      return { key: `i:${i.region}:${i.id}`, name: i.name || i.id, ref: { target: { profile: i.profile, region: i.region, instanceId: i.id } } };
    });
  }
  const seen = new Set<string>();
  return found.filter((f) => (seen.has(f.key) ? false : (seen.add(f.key), true)));
}
