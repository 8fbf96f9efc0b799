// The simulated VPC network: security groups with rules, route tables and internet gateways (with
// the implicit main table), network ACLs, instance status checks — the EC2 calls that read and
// change them, and the decisions that real connections obey (a direct connection through the
// instance's public door, an EICE tunnel from its endpoint).
import { ACCOUNT_ID, type FleetSpec, type SgRuleSpec } from './fleet';
import { ApiError, hex, inCidr, newId, STATE_CODES, type Endpoint, type Instance, type NaclEntry, type NetworkAcl, type RouteTable, type SecurityGroup, type SgRule, type Vpc, type World } from './state';
import { ec2Response } from './xml';

export const NETWORK_ACTIONS = [
  'DescribeSecurityGroups', 'DescribeSecurityGroupRules', 'DescribeRouteTables', 'DescribeNetworkAcls', 'DescribeInternetGateways', 'DescribeInstanceStatus',
  'AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
];
/** Actions that act on one security group: IAM sees the group's ARN. */
export const GROUP_ACTIONS = ['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress'];
export const groupArn = (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT_ID}:security-group/${id}`;

const ruleId = () => `sgr-0${hex(16)}`;

function rulesFrom(groupId: string, egress: boolean, specs: SgRuleSpec[]): SgRule[] {
  return specs.map((r) => {
    const protocol = r.protocol ?? 'tcp';
    const all = protocol === '-1';
    return {
      id: ruleId(),
      groupId,
      egress,
      protocol,
      fromPort: all ? -1 : (r.fromPort ?? 22),
      toPort: all ? -1 : (r.toPort ?? r.fromPort ?? 22),
      ...(r.cidr ? (r.cidr.includes(':') ? { cidrIpv6: r.cidr } : { cidrIpv4: r.cidr }) : {}),
      ...(r.group ? { referencedGroupId: r.group } : {}),
      ...(r.description ? { description: r.description } : {}),
    };
  });
}

const ALLOW_ALL_NACL: NaclEntry[] = [
  { ruleNumber: 100, egress: false, protocol: '-1', ruleAction: 'allow', cidr: '0.0.0.0/0' },
  { ruleNumber: 100, egress: true, protocol: '-1', ruleAction: 'allow', cidr: '0.0.0.0/0' },
];

/**
 * Every VPC's network as AWS makes it, plus the fleet's own: a default security group (all traffic
 * from itself, as AWS makes it, and — the simulator's convenience so that default fleets stay
 * reachable from the client — TCP 22 from anywhere; all egress), an attached internet gateway,
 * the main route table (local, and 0.0.0.0/0 to the gateway), the default network ACL (allow all
 * both ways). A subnet with `routes: 'local'` gets a table of its own with the local route only;
 * one with `networkAcl` an ACL of its own.
 */
export function buildNetwork(w: World, vpc: Vpc, fleet: FleetSpec): void {
  const sg = newId('sg');
  w.securityGroups.set(sg, {
    id: sg,
    name: 'default',
    description: 'default VPC security group',
    vpcId: vpc.id,
    region: vpc.region,
    rules: [...rulesFrom(sg, false, [{ protocol: '-1', group: sg }, { fromPort: 22, cidr: '0.0.0.0/0' }]), ...rulesFrom(sg, true, [{ protocol: '-1', cidr: '0.0.0.0/0' }])],
  });
  for (const g of fleet.securityGroups ?? []) {
    if (g.vpcId !== vpc.id) continue;
    w.securityGroups.set(g.id, {
      id: g.id,
      name: g.name,
      description: g.description ?? g.name,
      vpcId: vpc.id,
      region: vpc.region,
      rules: [...rulesFrom(g.id, false, g.ingress ?? []), ...rulesFrom(g.id, true, g.egress ?? [{ protocol: '-1', cidr: '0.0.0.0/0' }])],
    });
  }
  const igw = newId('igw');
  w.internetGateways.set(igw, { id: igw, region: vpc.region, vpcId: vpc.id });
  const main = newId('rtb');
  w.routeTables.set(main, { id: main, vpcId: vpc.id, region: vpc.region, main: true, subnetIds: [], routes: [{ destination: vpc.cidr, gatewayId: 'local' }, { destination: '0.0.0.0/0', gatewayId: igw }] });
  const acl = newId('acl');
  w.networkAcls.set(acl, { id: acl, vpcId: vpc.id, region: vpc.region, isDefault: true, subnetIds: [], entries: ALLOW_ALL_NACL });
  const specs = new Map((fleet.vpcs ?? []).find((v) => v.id === vpc.id)?.subnets.map((s) => [s.id, s]) ?? []);
  for (const s of vpc.subnets) {
    const spec = specs.get(s.id);
    if (spec?.routes === 'local') {
      const id = newId('rtb');
      w.routeTables.set(id, { id, vpcId: vpc.id, region: vpc.region, main: false, subnetIds: [s.id], routes: [{ destination: vpc.cidr, gatewayId: 'local' }] });
    }
    if (spec?.networkAcl) {
      const id = newId('acl');
      w.networkAcls.set(id, { id, vpcId: vpc.id, region: vpc.region, isDefault: false, subnetIds: [s.id], entries: spec.networkAcl.map((e) => ({ ...e })) });
    } else {
      w.networkAcls.get(acl)!.subnetIds.push(s.id);
    }
  }
}

/** The route table a subnet uses: its explicit association, else the VPC's main table. */
export function routeTableOf(w: World, vpcId: string, subnetId: string): RouteTable | undefined {
  const tables = [...w.routeTables.values()].filter((t) => t.vpcId === vpcId);
  return tables.find((t) => t.subnetIds.includes(subnetId)) ?? tables.find((t) => t.main);
}
export function networkAclOf(w: World, subnetId: string): NetworkAcl | undefined {
  return [...w.networkAcls.values()].find((a) => a.subnetIds.includes(subnetId));
}

const portIn = (rule: { protocol: string; fromPort?: number | undefined; toPort?: number | undefined }, port: number) =>
  rule.protocol === '-1' || ((rule.protocol === 'tcp' || rule.protocol === '6') && (rule.fromPort ?? 0) <= port && port <= (rule.toPort ?? 65535));

/** Does one of `groups` let TCP `port` in (or out) with `peer`? A peer matches by address or by one of its groups. */
export function groupsAllow(w: World, groupIds: string[], egress: boolean, port: number, peer: { ip: string; groupIds: string[] }): boolean {
  return groupIds.some((g) =>
    (w.securityGroups.get(g)?.rules ?? []).some(
      (r) => r.egress === egress && portIn(r, port) && ((r.cidrIpv4 !== undefined && inCidr(peer.ip, r.cidrIpv4)) || (r.referencedGroupId !== undefined && peer.groupIds.includes(r.referencedGroupId))),
    ),
  );
}

/** A network ACL's answer for one packet: entries by rule number, the first that matches decides; none, denied. */
export function naclAllows(acl: NetworkAcl | undefined, egress: boolean, port: number, ip: string): boolean {
  if (!acl) return true;
  const hit = acl.entries
    .filter((e) => e.egress === egress)
    .sort((a, b) => a.ruleNumber - b.ruleNumber)
    .find((e) => inCidr(ip, e.cidr) && (e.protocol === '-1' || (e.protocol === '6' && (e.fromPort ?? 0) <= port && port <= (e.toPort ?? 65535))));
  return hit?.ruleAction === 'allow';
}

/** Whether a connection gets through, and if not, how it fails (`hang`: nothing ever answers). */
export type Reach = { ok: true } | { ok: false; hang: boolean; why: string };
const blocked = (why: string, hang = false): Reach => ({ ok: false, hang, why });

/**
 * A direct SSH connection from the client (`clientPort` its ephemeral port) to the instance's public
 * address: running, a public address, a route to an internet gateway, the ACL both ways (port 22 in,
 * the client's port out), a group letting 22 in from the client's address; an impaired instance
 * never answers. (AWS drops a blocked packet and the client times out; the simulator resets the
 * connection at once instead, so that tests do not wait for a timeout to see it.)
 */
export function reachDirect(w: World, i: Instance, clientPort: number): Reach {
  const client = w.clientPublicIp;
  if (i.state !== 'running') return blocked('instance not running');
  if (!i.publicIp) return blocked('no public address');
  const table = routeTableOf(w, i.vpcId, i.subnetId);
  if (!table?.routes.some((r) => r.gatewayId.startsWith('igw-') && inCidr(client, r.destination))) return blocked('no route to an internet gateway');
  const acl = networkAclOf(w, i.subnetId);
  if (!naclAllows(acl, false, 22, client) || !naclAllows(acl, true, clientPort, client)) return blocked('network ACL');
  if (!groupsAllow(w, i.securityGroupIds, false, 22, { ip: client, groupIds: [] })) return blocked('security group');
  if (overwhelmed(i)) return blocked('instance impaired or out of CPU', true);
  return { ok: true };
}

/** An impaired instance, or one whose CPU is saturated (or a burstable one out of credits), never answers in time. */
const overwhelmed = (i: Instance) => i.status === 'impaired' || i.cpuPercent >= 99 || (/^t\d/.test(i.instanceType) && i.cpuCredits <= 0);

/**
 * An EICE tunnel to port 22 of the instance: the endpoint's groups must let it send to the
 * instance (by address or group), and the instance's groups accept the traffic as AWS sees its
 * source — the endpoint's group, or its VPC address (the client's address with preserve-client-IP);
 * the endpoint group's own inbound rules play no part. ACLs apply where the path leaves a subnet.
 */
export function reachViaEndpoint(w: World, e: Endpoint, i: Instance, clientPort: number): Reach {
  if (i.state !== 'running') return blocked('instance not running');
  if (!groupsAllow(w, e.securityGroupIds, true, 22, { ip: i.privateIp, groupIds: i.securityGroupIds })) return blocked("endpoint's security group egress");
  const source = e.preserveClientIp ? w.clientPublicIp : e.privateIp;
  if (!groupsAllow(w, i.securityGroupIds, false, 22, { ip: source, groupIds: e.securityGroupIds })) return blocked("instance's security group ingress");
  if (e.subnetId !== i.subnetId) {
    const here = networkAclOf(w, e.subnetId);
    const there = networkAclOf(w, i.subnetId);
    const ok = naclAllows(here, true, 22, i.privateIp) && naclAllows(here, false, clientPort, i.privateIp) && naclAllows(there, false, 22, source) && naclAllows(there, true, clientPort, source);
    if (!ok) return blocked('network ACL');
  }
  if (overwhelmed(i)) return blocked('instance impaired or out of CPU', true);
  return { ok: true };
}

// --- The EC2 calls ---

interface Call {
  region: string;
  params: URLSearchParams;
  requestId: string;
}

function listParam(p: URLSearchParams, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const [k, v] of p) {
    if (!k.startsWith(prefix + '.')) continue;
    const n = Number(k.slice(prefix.length + 1));
    if (Number.isInteger(n)) out.push([n, v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}
function filterValues(p: URLSearchParams): Map<string, string[]> {
  const names = new Map<string, string>();
  const values = new Map<string, string[]>();
  for (const [k, v] of p) {
    const m = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(k);
    if (!m) continue;
    if (m[2] === 'Name') names.set(m[1]!, v);
    else values.set(m[1]!, [...(values.get(m[1]!) ?? []), v]);
  }
  return new Map([...names].map(([n, name]) => [name, values.get(n) ?? []]));
}
/** AND across filters, OR across values; a filter name this call does not know is refused as AWS does. */
function keep<T>(items: T[], p: URLSearchParams, fields: (t: T) => Record<string, string[]>): T[] {
  const fs = filterValues(p);
  return items.filter((t) => {
    const f = fields(t);
    for (const [name, want] of fs) {
      if (!(name in f)) throw new ApiError('InvalidParameterValue', `The filter '${name}' is invalid`);
      if (!want.some((v) => f[name]!.includes(v))) return false;
    }
    return true;
  });
}

function ipPermissions(rules: SgRule[]) {
  const byPorts = new Map<string, SgRule[]>();
  for (const r of rules) byPorts.set(`${r.protocol}/${r.fromPort}/${r.toPort}`, [...(byPorts.get(`${r.protocol}/${r.fromPort}/${r.toPort}`) ?? []), r]);
  return [...byPorts.values()].map((rs) => {
    const r0 = rs[0]!;
    return {
      IpProtocol: r0.protocol,
      ...(r0.protocol === '-1' ? {} : { FromPort: r0.fromPort, ToPort: r0.toPort }),
      UserIdGroupPairs: rs.filter((r) => r.referencedGroupId).map((r) => ({ UserId: ACCOUNT_ID, GroupId: r.referencedGroupId, Description: r.description })),
      IpRanges: rs.filter((r) => r.cidrIpv4).map((r) => ({ CidrIp: r.cidrIpv4, Description: r.description })),
      Ipv6Ranges: rs.filter((r) => r.cidrIpv6).map((r) => ({ CidrIpv6: r.cidrIpv6, Description: r.description })),
      PrefixListIds: [],
    };
  });
}

function ruleShape(region: string, r: SgRule) {
  return {
    SecurityGroupRuleId: r.id,
    GroupId: r.groupId,
    GroupOwnerId: ACCOUNT_ID,
    IsEgress: r.egress,
    IpProtocol: r.protocol,
    FromPort: r.fromPort,
    ToPort: r.toPort,
    CidrIpv4: r.cidrIpv4,
    CidrIpv6: r.cidrIpv6,
    ReferencedGroupInfo: r.referencedGroupId ? { GroupId: r.referencedGroupId, UserId: ACCOUNT_ID } : undefined,
    Description: r.description,
    Tags: [],
    SecurityGroupRuleArn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:security-group-rule/${r.id}`,
  };
}

/** `IpPermissions.N.…` (and the CLI's flat IpProtocol/FromPort/ToPort/CidrIp form) as rules of `groupId`. */
function requestedRules(w: World, region: string, groupId: string, egress: boolean, p: URLSearchParams): SgRule[] {
  const out: SgRule[] = [];
  const add = (protocol: string, from: string | null, to: string | null, peer: { cidrIpv4?: string; cidrIpv6?: string; referencedGroupId?: string }, description?: string | null) => {
    const proto = protocol === 'all' ? '-1' : protocol.toLowerCase() === '6' ? 'tcp' : protocol.toLowerCase();
    if (!['tcp', 'udp', 'icmp', '-1'].includes(proto)) throw new ApiError('InvalidParameterValue', `Invalid value '${protocol}' for IP protocol.`);
    const fromPort = proto === '-1' ? -1 : Number(from);
    const toPort = proto === '-1' ? -1 : Number(to ?? from);
    if (proto !== '-1' && (!Number.isInteger(fromPort) || !Number.isInteger(toPort) || fromPort < -1 || toPort > 65535 || fromPort > toPort)) throw new ApiError('InvalidParameterValue', `Invalid port range ${from ?? ''}-${to ?? ''}`);
    if (peer.cidrIpv4 !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(peer.cidrIpv4)) throw new ApiError('InvalidParameterValue', `Value (${peer.cidrIpv4}) for parameter cidrIp is invalid. This is not a valid CIDR block.`);
    if (peer.referencedGroupId !== undefined) {
      const g = w.securityGroups.get(peer.referencedGroupId);
      if (!g || g.region !== region) throw new ApiError('InvalidGroup.NotFound', `The security group '${peer.referencedGroupId}' does not exist`);
    }
    out.push({ id: ruleId(), groupId, egress, protocol: proto, fromPort, toPort, ...peer, ...(description ? { description } : {}) });
  };
  if (p.get('IpProtocol') && p.get('CidrIp')) add(p.get('IpProtocol')!, p.get('FromPort'), p.get('ToPort'), { cidrIpv4: p.get('CidrIp')! });
  const perms = new Set<string>();
  for (const k of p.keys()) {
    const m = /^IpPermissions\.(\d+)\./.exec(k);
    if (m) perms.add(m[1]!);
  }
  for (const n of [...perms].sort((a, b) => Number(a) - Number(b))) {
    const at = (s: string) => p.get(`IpPermissions.${n}.${s}`);
    const proto = at('IpProtocol') ?? '';
    const indices = (list: string, field: string) => {
      const set = new Set<string>();
      for (const k of p.keys()) {
        const m = new RegExp(`^IpPermissions\\.${n}\\.${list}\\.(\\d+)\\.${field}$`).exec(k);
        if (m) set.add(m[1]!);
      }
      return [...set];
    };
    for (const j of indices('IpRanges', 'CidrIp')) add(proto, at('FromPort'), at('ToPort'), { cidrIpv4: at(`IpRanges.${j}.CidrIp`)! }, at(`IpRanges.${j}.Description`));
    for (const j of indices('Ipv6Ranges', 'CidrIpv6')) add(proto, at('FromPort'), at('ToPort'), { cidrIpv6: at(`Ipv6Ranges.${j}.CidrIpv6`)! }, at(`Ipv6Ranges.${j}.Description`));
    for (const j of indices('Groups', 'GroupId')) add(proto, at('FromPort'), at('ToPort'), { referencedGroupId: at(`Groups.${j}.GroupId`)! }, at(`Groups.${j}.Description`));
  }
  if (!out.length) throw new ApiError('MissingParameter', 'No ip permissions specified.');
  return out;
}

const sameRule = (a: SgRule, b: SgRule) =>
  a.egress === b.egress && a.protocol === b.protocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidrIpv4 === b.cidrIpv4 && a.cidrIpv6 === b.cidrIpv6 && a.referencedGroupId === b.referencedGroupId;

function groupOrThrow(w: World, region: string, id: string | null): SecurityGroup {
  const g = id ? w.securityGroups.get(id) : undefined;
  if (!g || g.region !== region) throw new ApiError(id ? 'InvalidGroup.NotFound' : 'MissingParameter', id ? `The security group '${id}' does not exist` : 'The request must contain the parameter groupId');
  return g;
}

/** The network's EC2 actions (authorized by the caller); returns the XML body. */
export function handleNetwork(w: World, action: string, call: Call): string {
  const { region, params: p } = call;
  const ok = (result: Record<string, unknown>) => ec2Response(action, result, call.requestId);
  switch (action) {
    case 'DescribeSecurityGroups': {
      const ids = listParam(p, 'GroupId');
      let sgs = [...w.securityGroups.values()].filter((g) => g.region === region);
      for (const id of ids) if (!sgs.some((g) => g.id === id)) throw new ApiError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
      if (ids.length) sgs = sgs.filter((g) => ids.includes(g.id));
      sgs = keep(sgs, p, (g) => ({ 'group-id': [g.id], 'group-name': [g.name], 'vpc-id': [g.vpcId], description: [g.description] }));
      return ok({
        SecurityGroups: sgs.map((g) => ({
          GroupId: g.id,
          IpPermissionsEgress: ipPermissions(g.rules.filter((r) => r.egress)),
          VpcId: g.vpcId,
          SecurityGroupArn: groupArn(region, g.id),
          OwnerId: ACCOUNT_ID,
          GroupName: g.name,
          Description: g.description,
          IpPermissions: ipPermissions(g.rules.filter((r) => !r.egress)),
        })),
      });
    }
    case 'DescribeSecurityGroupRules': {
      const ids = listParam(p, 'SecurityGroupRuleId');
      let rules = [...w.securityGroups.values()].filter((g) => g.region === region).flatMap((g) => g.rules);
      if (ids.length) rules = rules.filter((r) => ids.includes(r.id));
      rules = keep(rules, p, (r) => ({ 'group-id': [r.groupId], 'security-group-rule-id': [r.id] }));
      return ok({ SecurityGroupRules: rules.map((r) => ruleShape(region, r)) });
    }
    case 'DescribeRouteTables': {
      const ids = listParam(p, 'RouteTableId');
      let tables = [...w.routeTables.values()].filter((t) => t.region === region && (!ids.length || ids.includes(t.id)));
      tables = keep(tables, p, (t) => ({ 'vpc-id': [t.vpcId], 'route-table-id': [t.id], 'association.subnet-id': t.subnetIds, 'association.main': [String(t.main)] }));
      return ok({
        RouteTables: tables.map((t) => ({
          RouteTableId: t.id,
          VpcId: t.vpcId,
          OwnerId: ACCOUNT_ID,
          PropagatingVgws: [],
          Associations: [
            ...(t.main ? [{ Main: true, RouteTableAssociationId: `rtbassoc-0${t.id.slice(5)}`, RouteTableId: t.id, AssociationState: { State: 'associated' } }] : []),
            ...t.subnetIds.map((s) => ({ Main: false, RouteTableAssociationId: `rtbassoc-0${s.slice(-16)}`, RouteTableId: t.id, SubnetId: s, AssociationState: { State: 'associated' } })),
          ],
          Routes: t.routes.map((r) => ({ DestinationCidrBlock: r.destination, GatewayId: r.gatewayId, Origin: r.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute', State: 'active' })),
          Tags: [],
        })),
      });
    }
    case 'DescribeNetworkAcls': {
      const ids = listParam(p, 'NetworkAclId');
      let acls = [...w.networkAcls.values()].filter((a) => a.region === region && (!ids.length || ids.includes(a.id)));
      acls = keep(acls, p, (a) => ({ 'vpc-id': [a.vpcId], 'network-acl-id': [a.id], 'association.subnet-id': a.subnetIds, default: [String(a.isDefault)] }));
      const deny = (egress: boolean): NaclEntry => ({ ruleNumber: 32767, egress, protocol: '-1', ruleAction: 'deny', cidr: '0.0.0.0/0' });
      return ok({
        NetworkAcls: acls.map((a) => ({
          NetworkAclId: a.id,
          VpcId: a.vpcId,
          IsDefault: a.isDefault,
          OwnerId: ACCOUNT_ID,
          Associations: a.subnetIds.map((s) => ({ NetworkAclAssociationId: `aclassoc-0${s.slice(-16)}`, NetworkAclId: a.id, SubnetId: s })),
          Entries: [...a.entries, deny(false), deny(true)].map((e) => ({
            RuleNumber: e.ruleNumber,
            Protocol: e.protocol,
            RuleAction: e.ruleAction,
            Egress: e.egress,
            CidrBlock: e.cidr,
            PortRange: e.protocol === '-1' ? undefined : { From: e.fromPort ?? 0, To: e.toPort ?? 65535 },
          })),
          Tags: [],
        })),
      });
    }
    case 'DescribeInternetGateways': {
      const gws = keep([...w.internetGateways.values()].filter((g) => g.region === region), p, (g) => ({ 'attachment.vpc-id': [g.vpcId], 'internet-gateway-id': [g.id] }));
      return ok({ InternetGateways: gws.map((g) => ({ InternetGatewayId: g.id, OwnerId: ACCOUNT_ID, Attachments: [{ State: 'available', VpcId: g.vpcId }], Tags: [] })) });
    }
    case 'DescribeInstanceStatus': {
      const ids = listParam(p, 'InstanceId');
      const all = p.get('IncludeAllInstances') === 'true';
      for (const id of ids) if (!w.instances.get(id) || w.instances.get(id)!.region !== region) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      const list = [...w.instances.values()].filter((i) => i.region === region && (!ids.length || ids.includes(i.id)) && (all || i.state === 'running'));
      const summary = (i: Instance, impaired: boolean) =>
        i.state !== 'running'
          ? { Status: 'not-applicable', Details: [] }
          : impaired
            ? { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: new Date(w.now().getTime() - 600_000) }] }
            : { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] };
      return ok({
        InstanceStatuses: list.map((i) => ({
          InstanceId: i.id,
          AvailabilityZone: i.availabilityZone,
          InstanceState: { Code: STATE_CODES[i.state], Name: i.state },
          InstanceStatus: summary(i, i.status === 'impaired'),
          SystemStatus: summary(i, false),
          Events: [],
        })),
      });
    }
    case 'AuthorizeSecurityGroupIngress':
    case 'AuthorizeSecurityGroupEgress': {
      const g = groupOrThrow(w, region, p.get('GroupId'));
      const rules = requestedRules(w, region, g.id, action.endsWith('Egress'), p);
      for (const r of rules) if (g.rules.some((x) => sameRule(x, r))) throw new ApiError('InvalidPermission.Duplicate', `the specified rule "peer: ${r.cidrIpv4 ?? r.cidrIpv6 ?? r.referencedGroupId ?? ''}, ${r.protocol.toUpperCase()}, from port: ${r.fromPort}, to port: ${r.toPort}, ALLOW" already exists`);
      g.rules.push(...rules);
      return ok({ Return: true, SecurityGroupRules: rules.map((r) => ruleShape(region, r)) });
    }
    case 'RevokeSecurityGroupIngress':
    case 'RevokeSecurityGroupEgress': {
      const g = groupOrThrow(w, region, p.get('GroupId'));
      const egress = action.endsWith('Egress');
      const byId = listParam(p, 'SecurityGroupRuleId');
      const gone = byId.length ? g.rules.filter((r) => byId.includes(r.id) && r.egress === egress) : g.rules.filter((x) => requestedRules(w, region, g.id, egress, p).some((r) => sameRule(x, r)));
      if (!gone.length) throw new ApiError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
      g.rules = g.rules.filter((r) => !gone.includes(r));
      return ok({ Return: true, RevokedSecurityGroupRules: gone.map((r) => ({ SecurityGroupRuleId: r.id, GroupId: r.groupId, IsEgress: r.egress, IpProtocol: r.protocol, FromPort: r.fromPort, ToPort: r.toPort, CidrIpv4: r.cidrIpv4, CidrIpv6: r.cidrIpv6 })) });
    }
  }
  throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
}
