// The doctor's decisions: from what the account said (facts), one line per check in connect-path
// order. Pure: no I/O, so each cause is a table test.
import { DOCTOR_CHECKS, type DoctorCheck, type DoctorFinding, type DoctorFix, type DoctorLine, type DoctorStatus } from '../../contract';
import { cpuFix, creditsFix, endpointFix, groupChangeFix, iamFix, metadataFix, naclFix, osUserFix, packageFix, rebootFix, routeFix, startFix } from './fixes';

/** A read the doctor could not make: the permission it lacked, or another failure. */
export interface Unread {
  unread: true;
  lacking?: string;
  message: string;
}
export type Read<T> = T | Unread;
export const isUnread = <T>(r: Read<T> | undefined): r is Unread => !!r && typeof r === 'object' && 'unread' in r;

export interface GroupRule {
  protocol: string;
  fromPort?: number | undefined;
  toPort?: number | undefined;
  cidrs: string[];
  groupIds: string[];
}
export interface GroupFacts {
  groupId: string;
  name: string;
  ingress: GroupRule[];
  egress: GroupRule[];
}
export interface AclEntry {
  ruleNumber: number;
  egress: boolean;
  protocol: string;
  allow: boolean;
  cidr: string;
  from?: number | undefined;
  to?: number | undefined;
}
export interface AclFacts {
  aclId: string;
  subnetIds: string[];
  isDefault: boolean;
  entries: AclEntry[];
}
export interface RouteTableFacts {
  routeTableId: string;
  main: boolean;
  subnetIds: string[];
  routes: { destination: string; gatewayId?: string | undefined }[];
}
export interface EndpointFacts {
  endpointId: string;
  state: string;
  subnetId: string;
  groupIds: string[];
  preserveClientIp: boolean;
}
export interface InstanceFacts {
  instanceId: string;
  name: string;
  state: string;
  instanceType: string;
  vpcId: string;
  subnetId: string;
  privateIp: string;
  publicIp?: string | undefined;
  groupIds: string[];
  metadataEndpoint: string;
  imageName?: string | undefined;
}
export type IamDecision = 'allowed' | 'implicitDeny' | 'explicitDeny';
export type AttemptOutcome = 'connected' | 'keyRefused' | 'pushDenied' | 'pushed-unreachable' | 'unreachable' | 'notRunning' | 'notTried' | 'other';

export interface DoctorFacts {
  region: string;
  instanceId: string;
  osUser: string;
  /** The AMI's usual login user. */
  expectedUser: string;
  /** Set on the host (or given) rather than taken from the AMI. */
  osUserChosen: boolean;
  route: 'direct' | 'eice';
  caller: Read<{ arn: string; account: string }>;
  instance: Read<InstanceFacts>;
  status?: Read<'ok' | 'impaired' | 'initializing' | 'not-applicable' | 'insufficient-data'>;
  groups?: Read<GroupFacts[]>;
  vpcCidr?: string | undefined;
  subnets?: Read<{ subnetId: string; cidr: string }[]>;
  routeTables?: Read<RouteTableFacts[]>;
  internetGatewayId?: string | undefined;
  acls?: Read<AclFacts[]>;
  endpoints?: Read<EndpointFacts[]>;
  clientIp?: string | undefined;
  iamPush?: Read<IamDecision>;
  iamTunnel?: Read<IamDecision>;
  /** The endpoint the tunnel would use (for the OpenTunnel simulation and the groups). */
  endpoint?: EndpointFacts | undefined;
  attempt?: { outcome: AttemptOutcome; pushed: boolean; message: string };
  metrics?: Read<{ cpu: number[]; credits: number[] }>;
  /** Other instances in each group a fix would change (group id → instances). */
  sharing?: Record<string, { instanceId: string; name: string }[]>;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(base) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const size = 2 ** (32 - Number(bitsText ?? 32));
  const start = Math.floor(ipToInt(base) / size) * size;
  const v = ipToInt(ip);
  return v >= start && v < start + size;
}
/** Does CIDR `outer` contain all of `inner`? */
export function cidrCovers(outer: string, inner: string): boolean {
  const [ib, ibits] = inner.split('/');
  return Number(outer.split('/')[1] ?? 32) <= Number(ibits ?? 32) && inCidr(ib ?? '', outer);
}

const portIn = (r: { protocol: string; fromPort?: number | undefined; toPort?: number | undefined }, port: number) =>
  r.protocol === '-1' || r.protocol === 'all' || ((r.protocol === 'tcp' || r.protocol === '6') && (r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535));

/** Whether one of `groupIds` lets TCP `port` in or out with a peer known by address (or a range it lies in) or by groups. */
export function groupsAllow(groups: GroupFacts[], groupIds: string[], egress: boolean, port: number, peer: { ip?: string | undefined; cidr?: string | undefined; groupIds: string[] }): boolean {
  return groups
    .filter((g) => groupIds.includes(g.groupId))
    .some((g) =>
      (egress ? g.egress : g.ingress).some(
        (r) =>
          portIn(r, port) &&
          (r.groupIds.some((id) => peer.groupIds.includes(id)) || r.cidrs.some((c) => (peer.ip !== undefined && inCidr(peer.ip, c)) || (peer.cidr !== undefined && cidrCovers(c, peer.cidr)))),
      ),
    );
}

/** A network ACL's answer for one packet: the lowest-numbered matching entry decides; none matches, denied. */
export function aclAllows(acl: AclFacts | undefined, egress: boolean, port: number, ip: string): boolean {
  if (!acl) return true;
  const hit = acl.entries
    .filter((e) => e.egress === egress)
    .sort((a, b) => a.ruleNumber - b.ruleNumber)
    .find((e) => inCidr(ip, e.cidr) && (e.protocol === '-1' || ((e.protocol === '6' || e.protocol === 'tcp') && (e.from ?? 0) <= port && port <= (e.to ?? 65535))));
  return !!hit?.allow;
}
/** Return traffic goes to the peer's ephemeral port: Linux uses 32768–60999, Windows and NAT 1024–65535. */
const RETURN_PORTS = [1024, 32768, 49152, 60999, 65535];
const returnsAllowed = (acl: AclFacts | undefined, egress: boolean, ip: string) => RETURN_PORTS.every((p) => aclAllows(acl, egress, p, ip));

export function routeTableOf(tables: RouteTableFacts[], subnetId: string): RouteTableFacts | undefined {
  return tables.find((t) => t.subnetIds.includes(subnetId)) ?? tables.find((t) => t.main);
}
const aclOf = (acls: AclFacts[], subnetId: string) => acls.find((a) => a.subnetIds.includes(subnetId));
const USABLE = ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'];
const BURSTABLE = /^t\d/;
export const HIGH_CPU_PERCENT = 90;

interface LineInput {
  status: DoctorStatus;
  finding: DoctorFinding;
  params?: Record<string, string | number>;
  lacking?: string | undefined;
  fix?: DoctorFix | undefined;
}

/** The checklist for the facts, in connect-path order; checks that do not apply to the route say so. */
export function diagnose(f: DoctorFacts): DoctorLine[] {
  const lines = new Map<DoctorCheck, DoctorLine>();
  const put = (check: DoctorCheck, l: LineInput) => lines.set(check, { check, status: l.status, finding: l.finding, params: l.params ?? {}, ...(l.lacking ? { lacking: l.lacking } : {}), ...(l.fix ? { fix: l.fix } : {}) });
  const unread = (check: DoctorCheck, r: Unread) => put(check, { status: 'couldNotCheck', finding: 'readFailed', params: { message: r.message }, lacking: r.lacking });
  const na = (check: DoctorCheck) => put(check, { status: 'notApplicable', finding: 'notApplicable' });
  const withShares = (fix: DoctorFix): DoctorFix => (fix.change ? { ...fix, sharedWith: (f.sharing?.[fix.change.groupId] ?? []).filter((i) => i.instanceId !== f.instanceId) } : fix);

  // Credentials.
  if (isUnread(f.caller)) put('credentials', { status: 'failed', finding: 'credentialsFailed', params: { message: f.caller.message } });
  else put('credentials', { status: 'passed', finding: 'credentialsOk', params: { arn: f.caller.arn } });
  const callerArn = isUnread(f.caller) ? '' : f.caller.arn;
  const account = isUnread(f.caller) ? '*' : f.caller.account;
  const instanceArn = `arn:aws:ec2:${f.region}:${account}:instance/${f.instanceId}`;

  // IAM: the simulation, or (when it could not run) the key push the connect attempt made.
  const pushIam = f.iamPush;
  if (pushIam === undefined || isUnread(pushIam)) {
    const tried = f.attempt && f.attempt.outcome !== 'notTried' && f.attempt.outcome !== 'notRunning' ? f.attempt : undefined;
    if (tried?.pushed) put('iamPush', { status: 'passed', finding: 'iamPushAllowedByTry', params: { user: f.osUser }, lacking: pushIam?.lacking });
    else if (tried?.outcome === 'pushDenied')
      put('iamPush', { status: 'failed', finding: 'iamPushDeniedByTry', params: { user: f.osUser }, lacking: pushIam?.lacking, fix: iamFix(callerArn, 'ec2-instance-connect:SendSSHPublicKey', instanceArn, { StringEquals: { 'ec2:osuser': f.osUser } }) });
    else if (pushIam) unread('iamPush', pushIam);
    else put('iamPush', { status: 'couldNotCheck', finding: 'iamNotSimulated', params: {} });
  } else if (pushIam === 'allowed') put('iamPush', { status: 'passed', finding: 'iamAllowed', params: { action: 'ec2-instance-connect:SendSSHPublicKey', user: f.osUser } });
  else put('iamPush', { status: 'failed', finding: 'iamDenied', params: { action: 'ec2-instance-connect:SendSSHPublicKey', user: f.osUser, decision: pushIam }, fix: iamFix(callerArn, 'ec2-instance-connect:SendSSHPublicKey', instanceArn, { StringEquals: { 'ec2:osuser': f.osUser } }) });

  if (f.route !== 'eice' || !f.endpoint) na('iamTunnel');
  else if (f.iamTunnel === undefined) put('iamTunnel', { status: 'couldNotCheck', finding: 'iamNotSimulated', params: {} });
  else if (isUnread(f.iamTunnel)) unread('iamTunnel', f.iamTunnel);
  else if (f.iamTunnel === 'allowed') put('iamTunnel', { status: 'passed', finding: 'iamAllowed', params: { action: 'ec2-instance-connect:OpenTunnel', endpoint: f.endpoint.endpointId } });
  else {
    const arn = `arn:aws:ec2:${f.region}:${account}:instance-connect-endpoint/${f.endpoint.endpointId}`;
    put('iamTunnel', { status: 'failed', finding: 'iamDenied', params: { action: 'ec2-instance-connect:OpenTunnel', endpoint: f.endpoint.endpointId, decision: f.iamTunnel }, fix: iamFix(callerArn, 'ec2-instance-connect:OpenTunnel', arn, { NumericEquals: { 'ec2-instance-connect:remotePort': 22 } }) });
  }

  // The instance.
  const inst = isUnread(f.instance) ? undefined : f.instance;
  if (isUnread(f.instance)) {
    for (const c of ['instanceState', 'statusChecks', 'metadata', 'osUser', 'route', 'securityGroups', 'networkAcls'] as const) unread(c, f.instance);
  }
  if (inst) {
    const running = inst.state === 'running';
    if (running) put('instanceState', { status: 'passed', finding: 'running', params: { state: inst.state } });
    else put('instanceState', { status: 'failed', finding: 'notRunning', params: { state: inst.state }, fix: startFix(f.region, f.instanceId) });

    if (!running) na('statusChecks');
    else if (f.status === undefined) put('statusChecks', { status: 'couldNotCheck', finding: 'readFailed', params: { message: '' } });
    else if (isUnread(f.status)) unread('statusChecks', f.status);
    else if (f.status === 'impaired') put('statusChecks', { status: 'failed', finding: 'statusImpaired', params: {}, fix: rebootFix(f.region, f.instanceId) });
    else put('statusChecks', { status: 'passed', finding: 'statusOk', params: { status: f.status } });

    if (inst.metadataEndpoint === 'disabled') put('metadata', { status: 'failed', finding: 'metadataDisabled', params: {}, fix: metadataFix(f.region, f.instanceId) });
    else put('metadata', { status: 'passed', finding: 'metadataEnabled', params: {} });

    if (f.osUserChosen && f.osUser !== f.expectedUser) put('osUser', { status: 'failed', finding: 'osUserUnexpected', params: { user: f.osUser, expected: f.expectedUser, image: inst.imageName ?? '' }, fix: osUserFix(f.region, f.instanceId, f.expectedUser) });
    else put('osUser', { status: 'passed', finding: 'osUserExpected', params: { user: f.osUser, image: inst.imageName ?? '' } });

    routeAndNetwork(f, inst, put, unread, withShares);
  }

  // sshd and the pushed key: the connect attempt's own answer.
  const a = f.attempt;
  const blocked = [...lines.values()].some((l) => l.status === 'failed' && l.check !== 'sshd' && l.check !== 'load');
  if (!a || a.outcome === 'notTried' || (blocked && a.outcome !== 'connected' && a.outcome !== 'keyRefused')) put('sshd', { status: 'couldNotCheck', finding: 'sshdNotTried', params: {} });
  else if (a.outcome === 'connected') put('sshd', { status: 'passed', finding: 'sshdTookKey', params: { user: f.osUser } });
  else if (a.outcome === 'keyRefused') put('sshd', { status: 'failed', finding: 'sshdRefusedKey', params: { user: f.osUser }, fix: packageFix(f.region, f.instanceId) });
  else put('sshd', { status: 'failed', finding: 'sshdUnreachable', params: { message: a.message }, fix: rebootFix(f.region, f.instanceId) });

  // Load over the last hour.
  if (!inst || inst.state !== 'running') na('load');
  else if (f.metrics === undefined) put('load', { status: 'couldNotCheck', finding: 'readFailed', params: { message: '' } });
  else if (isUnread(f.metrics)) unread('load', f.metrics);
  else {
    const cpu = f.metrics.cpu.length ? f.metrics.cpu.reduce((s, v) => s + v, 0) / f.metrics.cpu.length : 0;
    const credits = f.metrics.credits.length ? Math.min(...f.metrics.credits) : undefined;
    if (BURSTABLE.test(inst.instanceType) && credits !== undefined && credits < 1) put('load', { status: 'failed', finding: 'loadNoCredits', params: { credits: Math.round(credits * 10) / 10, cpu: Math.round(cpu), type: inst.instanceType }, fix: creditsFix(f.region, f.instanceId) });
    else if (cpu >= HIGH_CPU_PERCENT) put('load', { status: 'failed', finding: 'loadHighCpu', params: { cpu: Math.round(cpu), type: inst.instanceType }, fix: cpuFix(f.region, f.instanceId) });
    else put('load', { status: 'passed', finding: 'loadOk', params: { cpu: Math.round(cpu), ...(credits !== undefined && BURSTABLE.test(inst.instanceType) ? { credits: Math.round(credits) } : {}) } });
  }
  return DOCTOR_CHECKS.map((c) => lines.get(c)).filter((l): l is DoctorLine => !!l);
}

type Put = (check: DoctorCheck, l: LineInput) => void;

function routeAndNetwork(f: DoctorFacts, inst: InstanceFacts, put: Put, unread: (c: DoctorCheck, r: Unread) => void, withShares: (fix: DoctorFix) => DoctorFix): void {
  const groups = isUnread(f.groups) ? undefined : f.groups;
  const acls = isUnread(f.acls) ? undefined : f.acls;
  if (f.route === 'direct') {
    const tables = isUnread(f.routeTables) ? undefined : f.routeTables;
    if (!inst.publicIp) put('route', { status: 'failed', finding: 'routeNoPublicIp', params: {} });
    else if (!tables) unread('route', isUnread(f.routeTables) ? f.routeTables : { unread: true, message: '' });
    else {
      const table = routeTableOf(tables, inst.subnetId);
      const igw = table?.routes.find((r) => r.gatewayId?.startsWith('igw-') && (f.clientIp ? inCidr(f.clientIp, r.destination) : r.destination === '0.0.0.0/0'));
      if (igw) put('route', { status: 'passed', finding: 'routeInternet', params: { routeTable: table!.routeTableId, gateway: igw.gatewayId!, address: inst.publicIp } });
      else put('route', { status: 'failed', finding: 'routeNoInternetGateway', params: { routeTable: table?.routeTableId ?? '', subnet: inst.subnetId }, fix: routeFix(f.region, table?.routeTableId ?? '<route-table-id>', f.internetGatewayId) });
    }
    // Security groups: 22 from this computer's public address.
    if (!groups) unread('securityGroups', isUnread(f.groups) ? f.groups : { unread: true, message: '' });
    else if (!f.clientIp) put('securityGroups', { status: 'couldNotCheck', finding: 'readFailed', params: { message: 'public address unknown' } });
    else if (groupsAllow(groups, inst.groupIds, false, 22, { ip: f.clientIp, groupIds: [] })) put('securityGroups', { status: 'passed', finding: 'groupsAllow', params: { groups: inst.groupIds.join(', ') } });
    else {
      const fix = withShares(groupChangeFix(f.region, { direction: 'ingress', groupId: inst.groupIds[0] ?? '', port: 22, peer: { cidr: `${f.clientIp}/32` } }));
      put('securityGroups', { status: 'failed', finding: 'groupsBlockClient', params: { groups: inst.groupIds.join(', '), address: f.clientIp }, fix });
    }
    if (!acls) unread('networkAcls', isUnread(f.acls) ? f.acls : { unread: true, message: '' });
    else if (!f.clientIp) put('networkAcls', { status: 'couldNotCheck', finding: 'readFailed', params: { message: 'public address unknown' } });
    else aclLine(f, put, aclOf(acls, inst.subnetId), undefined, f.clientIp, f.clientIp);
    return;
  }

  // Through an endpoint.
  const e = f.endpoint;
  if (!e) {
    if (isUnread(f.endpoints)) unread('route', f.endpoints);
    else put('route', { status: 'failed', finding: 'routeNoEndpoint', params: { vpc: inst.vpcId }, fix: endpointFix(f.region, inst.subnetId, inst.groupIds.slice(0, 1)) });
    put('securityGroups', { status: 'notApplicable', finding: 'notApplicable' });
    put('networkAcls', { status: 'notApplicable', finding: 'notApplicable' });
    return;
  }
  if (!USABLE.includes(e.state)) put('route', { status: 'failed', finding: 'routeNoEndpoint', params: { vpc: inst.vpcId, endpoint: e.endpointId, state: e.state }, fix: endpointFix(f.region, inst.subnetId, inst.groupIds.slice(0, 1)) });
  else put('route', { status: 'passed', finding: 'routeEndpoint', params: { endpoint: e.endpointId, state: e.state, preserveClientIp: String(e.preserveClientIp) } });

  const subnets = isUnread(f.subnets) ? [] : (f.subnets ?? []);
  const endpointSubnet = subnets.find((s) => s.subnetId === e.subnetId);
  // The address AWS sees the traffic come from: the client's with preserve-client-IP, else the endpoint's in its subnet.
  const source = e.preserveClientIp ? { ip: f.clientIp, cidr: f.clientIp ? `${f.clientIp}/32` : undefined } : { ip: undefined, cidr: endpointSubnet?.cidr ?? f.vpcCidr };
  if (!groups) unread('securityGroups', isUnread(f.groups) ? f.groups : { unread: true, message: '' });
  else if (!groupsAllow(groups, e.groupIds, true, 22, { ip: inst.privateIp, groupIds: inst.groupIds })) {
    const fix = withShares(groupChangeFix(f.region, { direction: 'egress', groupId: e.groupIds[0] ?? '', port: 22, peer: { groupId: inst.groupIds[0] ?? '' } }));
    put('securityGroups', { status: 'failed', finding: 'groupsBlockEndpointEgress', params: { endpointGroups: e.groupIds.join(', '), groups: inst.groupIds.join(', '), preserveClientIp: String(e.preserveClientIp) }, fix });
  } else if (!groupsAllow(groups, inst.groupIds, false, 22, { ...source, groupIds: e.groupIds })) {
    const fix = withShares(groupChangeFix(f.region, { direction: 'ingress', groupId: inst.groupIds[0] ?? '', port: 22, peer: { groupId: e.groupIds[0] ?? '' } }));
    put('securityGroups', { status: 'failed', finding: 'groupsBlockEndpointIngress', params: { endpointGroups: e.groupIds.join(', '), groups: inst.groupIds.join(', '), preserveClientIp: String(e.preserveClientIp), address: f.clientIp ?? '' }, fix });
  } else put('securityGroups', { status: 'passed', finding: 'groupsAllow', params: { groups: inst.groupIds.join(', '), endpointGroups: e.groupIds.join(', ') } });

  if (!acls) unread('networkAcls', isUnread(f.acls) ? f.acls : { unread: true, message: '' });
  else if (e.subnetId === inst.subnetId) put('networkAcls', { status: 'passed', finding: 'aclsAllow', params: { acl: aclOf(acls, inst.subnetId)?.aclId ?? '' } });
  else {
    // A representative address of the source: the client's, or the first host of the endpoint's subnet.
    const sourceIp = e.preserveClientIp ? f.clientIp : endpointSubnet ? endpointSubnet.cidr.split('/')[0]!.replace(/\d+$/, (n) => String(Number(n) + 4)) : undefined;
    if (!sourceIp) put('networkAcls', { status: 'couldNotCheck', finding: 'readFailed', params: { message: 'source address unknown' } });
    else aclLine(f, put, aclOf(acls, inst.subnetId), { acl: aclOf(acls, e.subnetId), instanceIp: inst.privateIp }, sourceIp, e.preserveClientIp ? `${sourceIp}/32` : (endpointSubnet?.cidr ?? `${sourceIp}/32`));
  }
}

/** The instance subnet's ACL (22 in from the source, its return ports out), and the endpoint subnet's the other way. */
function aclLine(f: DoctorFacts, put: Put, instanceAcl: AclFacts | undefined, endpointSide: { acl: AclFacts | undefined; instanceIp: string } | undefined, sourceIp: string, sourceCidr: string): void {
  const nextRule = (acl: AclFacts | undefined) => Math.max(1, Math.min(...(acl?.entries.filter((x) => x.ruleNumber < 32767).map((x) => x.ruleNumber) ?? [100])) - 1);
  if (!aclAllows(instanceAcl, false, 22, sourceIp))
    return put('networkAcls', { status: 'failed', finding: 'aclsBlockInbound', params: { acl: instanceAcl?.aclId ?? '', address: sourceIp }, fix: naclFix(f.region, instanceAcl?.aclId ?? '', false, sourceCidr, 22, 22, nextRule(instanceAcl)) });
  if (!returnsAllowed(instanceAcl, true, sourceIp))
    return put('networkAcls', { status: 'failed', finding: 'aclsBlockReturn', params: { acl: instanceAcl?.aclId ?? '', address: sourceIp }, fix: naclFix(f.region, instanceAcl?.aclId ?? '', true, sourceCidr, 1024, 65535, nextRule(instanceAcl)) });
  if (endpointSide) {
    const { acl, instanceIp } = endpointSide;
    if (!aclAllows(acl, true, 22, instanceIp))
      return put('networkAcls', { status: 'failed', finding: 'aclsBlockInbound', params: { acl: acl?.aclId ?? '', address: instanceIp }, fix: naclFix(f.region, acl?.aclId ?? '', true, `${instanceIp}/32`, 22, 22, nextRule(acl)) });
    if (!returnsAllowed(acl, false, instanceIp))
      return put('networkAcls', { status: 'failed', finding: 'aclsBlockReturn', params: { acl: acl?.aclId ?? '', address: instanceIp }, fix: naclFix(f.region, acl?.aclId ?? '', false, `${instanceIp}/32`, 1024, 65535, nextRule(acl)) });
  }
  put('networkAcls', { status: 'passed', finding: 'aclsAllow', params: { acl: instanceAcl?.aclId ?? '' } });
}

/** The first line that failed: the cause the doctor names. */
export function causeOf(lines: DoctorLine[]): DoctorCheck | null {
  const first = lines.find((l) => l.status === 'failed');
  // A loaded instance answers too late: sshd did not answer *because* of the load.
  if (first?.check === 'sshd' && first.finding === 'sshdUnreachable' && lines.some((l) => l.check === 'load' && l.status === 'failed')) return 'load';
  return first?.check ?? null;
}
