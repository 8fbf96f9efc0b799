import type { Ec2TargetInput, RouteInfo } from '../../../electron/contract';

/**
 * What a terminal tab connects to: a saved host by id, or an EC2 instance given in full (from the
 * inventory) — never a copy of the host's settings, which main resolves at each connect.
 */
export type TabTarget = { hostId: string; title: string; target?: undefined } | { target: Ec2TargetInput; title: string; hostId?: undefined };

/** One key per thing a tab can connect to, to find the tabs already open on it. */
export function targetKey(t: TabTarget): string {
  return t.hostId !== undefined ? `host:${t.hostId}` : `ec2:${t.target.profile ?? ''}/${t.target.region}/${t.target.instanceId}`;
}

/** The `session.open` reference of a tab target. */
export function hostRefOf(t: TabTarget): { hostId: string } | { target: Ec2TargetInput } {
  return t.hostId !== undefined ? { hostId: t.hostId } : { target: t.target };
}

/** The words for a route, as catalogue keys and parameters: "through eice-… to 10.0.1.5", "via bastion". */
export function routeWords(route: RouteInfo): Array<{ key: `route.${RouteInfo['kind'] | 'jumps'}`; params: Record<string, string | number> }> {
  const words: ReturnType<typeof routeWords> = [];
  if (route.jumps.length) words.push({ key: 'route.jumps', params: { jumps: route.jumps.join(' → ') } });
  if (route.kind === 'eice') words.push({ key: 'route.eice', params: { endpointId: route.endpointId ?? '', address: route.address } });
  else words.push({ key: `route.${route.kind}`, params: { address: route.address, port: route.port } });
  return words;
}
