import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ACCOUNT_ID, type EndpointState } from './fleet';
import { evaluate, denialMessage, type AuthorizationRequest, type Decision, type PolicyDocument } from './iam';
import type { InstanceSshd } from './sshd';

export const hex = (n: number) => randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
export const newId = (prefix: string) => `${prefix}-0${hex(16)}`;
export const requestId = () => randomUUID();

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base!) / size) * size;
  const v = ipToInt(ip);
  return v >= start && v < start + size;
}

export interface Subnet {
  id: string;
  vpcId: string;
  region: string;
  availabilityZone: string;
  cidr: string;
  name?: string;
  nextHost: number;
}
export interface Vpc {
  id: string;
  region: string;
  cidr: string;
  name?: string;
  isDefault: boolean;
  subnets: Subnet[];
}
/** One security group rule (AWS's SecurityGroupRule): `protocol` '-1' is every protocol (ports -1). */
export interface SgRule {
  id: string;
  groupId: string;
  egress: boolean;
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  referencedGroupId?: string;
  description?: string;
}
export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  region: string;
  rules: SgRule[];
}
/** A route table; `main` is the VPC's implicit table for every subnet with no explicit association. */
export interface RouteTable {
  id: string;
  vpcId: string;
  region: string;
  main: boolean;
  subnetIds: string[];
  routes: { destination: string; gatewayId: string }[];
}
export interface InternetGateway {
  id: string;
  region: string;
  vpcId: string;
}
/** One network ACL entry; `protocol` '-1' every protocol, '6' TCP. Evaluated by ruleNumber, first match wins. */
export interface NaclEntry {
  ruleNumber: number;
  egress: boolean;
  protocol: string;
  ruleAction: 'allow' | 'deny';
  cidr: string;
  fromPort?: number;
  toPort?: number;
}
export interface NetworkAcl {
  id: string;
  vpcId: string;
  region: string;
  isDefault: boolean;
  subnetIds: string[];
  entries: NaclEntry[];
}
export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export const STATE_CODES: Record<InstanceStateName, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

export interface Instance {
  id: string;
  region: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  privateIp: string;
  publicIp?: string;
  state: InstanceStateName;
  instanceType: string;
  imageId: string;
  amiName: string;
  platform: 'linux' | 'windows';
  tags: Record<string, string>;
  keyName?: string;
  launchTime: Date;
  reservationId: string;
  securityGroupIds: string[];
  networkInterfaceId: string;
  sshd?: InstanceSshd;
  /** Status checks (DescribeInstanceStatus); an impaired instance takes connections and never answers. */
  status: 'ok' | 'impaired';
  /** Instance metadata service: disabled, the Instance Connect package cannot read pushed keys. */
  metadataEndpoint: 'enabled' | 'disabled';
  /** Without the ec2-instance-connect package sshd never consults pushed keys. */
  instanceConnectPackage: boolean;
  /** Average CPUUtilization (percent) CloudWatch reports; CPUCreditBalance for burstable types. */
  cpuPercent: number;
  cpuCredits: number;
}
export interface Endpoint {
  id: string;
  region: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  state: EndpointState;
  dnsName: string;
  fipsDnsName: string;
  createdAt: Date;
  securityGroupIds: string[];
  preserveClientIp: boolean;
  tags: Record<string, string>;
  networkInterfaceId: string;
  /** The endpoint's network interface address in its subnet (the source AWS sees without preserve-client-IP). */
  privateIp: string;
  /** Closes every open tunnel through this endpoint (on deletion). */
  tunnels: Set<{ close(code: number, reason: string): void }>;
}
/** Who a set of credentials belongs to. Long-term keys have no token; temporary ones do. */
export interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  arn: string;
  userId: string;
  policies: PolicyDocument[];
  expiration?: Date;
  type: 'IAMUser' | 'AssumedRole' | 'Root';
}
export interface PushedKey {
  instanceId: string;
  osUser: string;
  publicKey: string;
  /** Epoch seconds, on the instance's (the real) clock. */
  expiresAt: number;
  /** When the instance's metadata shows it (slow key propagation delays this), epoch ms. */
  visibleAt: number;
  caller: string;
  requestId: string;
}
export interface TrailEvent {
  eventId: string;
  eventTime: Date;
  eventName: string;
  eventSource: string;
  region: string;
  identity: Identity;
  sourceIp: string;
  userAgent: string;
  requestParameters: Record<string, unknown>;
  responseElements: Record<string, unknown> | null;
  resources: { ResourceType: string; ResourceName: string }[];
  errorCode?: string;
  errorMessage?: string;
  requestId: string;
}

/** The seed fault choices start from unless a test picks another (startSimulator's faultSeed, admin.seedFaults). */
export const DEFAULT_FAULT_SEED = 'keyless-sim';

/** One IAM decision the simulator made: which caller asked for which action on what, and the answer. */
export interface AuthorizationRecord {
  time: Date;
  /** The caller's ARN (an assumed role's session ARN for temporary credentials). */
  principal: string;
  accessKeyId: string;
  action: string;
  resource: string;
  decision: Decision;
}

/** Fault injection knobs, keyed by AWS operation name (`*` for every one). */
export class Faults {
  latencyMs = new Map<string, number>();
  throttleRatio = new Map<string, number>();
  errorRatio = new Map<string, number>();
  keyPropagationDelayMs = 0;
  tunnelDrop: { bytes?: number; seconds?: number } = {};
  clockSkewMs = 0;
  private seed = DEFAULT_FAULT_SEED;
  /** Per stream (operation, region, caller): how many of its calls met a throttle or 5xx ratio. */
  private calls = new Map<string, number>();

  /** A knob's value for `op` in `region`: `op@region`, `*@region`, then `op`, then `*`. */
  private static pick(m: Map<string, number>, op: string, region?: string): number {
    return (region !== undefined ? (m.get(`${op}@${region}`) ?? m.get(`*@${region}`)) : undefined) ?? m.get(op) ?? m.get('*') ?? 0;
  }
  /** Map key for a knob: the operation, or `op@region` when it holds in one region only. */
  static key(op: string, region?: string): string {
    return region ? `${op}@${region}` : op;
  }
  latencyFor(op: string, region?: string): number {
    return Faults.pick(this.latencyMs, op, region);
  }
  /** Sets a throttle (`throttleRatio`) or 5xx (`errorRatio`) ratio; every stream starts over. */
  setRatio(knob: 'throttleRatio' | 'errorRatio', op: string, ratio: number, region?: string): void {
    this[knob].set(Faults.key(op, region), ratio);
    this.calls.clear();
  }
  /** Another seed, and every stream starts over. */
  reseed(seed: string | number): void {
    this.seed = String(seed);
    this.calls.clear();
  }
  /** No latency, throttle, 5xx, key delay, tunnel drop or skew; the seed stays, every stream starts over. */
  reset(): void {
    this.latencyMs.clear();
    this.throttleRatio.clear();
    this.errorRatio.clear();
    this.keyPropagationDelayMs = 0;
    this.tunnelDrop = {};
    this.clockSkewMs = 0;
    this.calls.clear();
  }
  /**
   * What the dice say for this call: a throttle, a 5xx, or nothing. The dice are a counter-based
   * PRNG, SHA-256 of (seed, stream, call number), with one stream per operation, region and caller:
   * the n-th DescribeInstances of one profile in one region gets the same answer in every run, however
   * the calls of other profiles and regions interleave with it (one sequence shared by every
   * caller would hand the throttles to whichever scope happened to ask first, and so vary with load).
   */
  roll(op: string, region?: string, caller?: string): 'throttle' | 'error' | undefined {
    const t = Faults.pick(this.throttleRatio, op, region);
    const e = Faults.pick(this.errorRatio, op, region);
    if (t <= 0 && e <= 0) return undefined;
    const stream = `${op}\n${region ?? ''}\n${caller ?? ''}`;
    const n = this.calls.get(stream) ?? 0;
    this.calls.set(stream, n + 1);
    const dice = createHash('sha256').update(`${this.seed}\n${stream}\n${n}`).digest();
    if (t > 0 && dice.readUInt32BE(0) / 2 ** 32 < t) return 'throttle';
    if (e > 0 && dice.readUInt32BE(4) / 2 ** 32 < e) return 'error';
    return undefined;
  }
}

/** A failure an API answers with: the protocol writer turns it into that protocol's error shape. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface SimOptions {
  regions: string[];
  clock: () => Date;
  keyTtlSeconds: number;
  /** 'held': endpoints stay in their -in-progress state until admin.finishEndpointChanges(). */
  endpointCreateDelayMs: number | 'held';
}

/** The whole simulated world: regions of VPCs, instances and endpoints, identities, keys, trail. */
export class World {
  vpcs = new Map<string, Vpc>();
  securityGroups = new Map<string, SecurityGroup>();
  routeTables = new Map<string, RouteTable>();
  internetGateways = new Map<string, InternetGateway>();
  networkAcls = new Map<string, NetworkAcl>();
  /** The address AWS sees a client's connections come from (the simulator's stand-in for this machine's public IP). */
  clientPublicIp = '203.0.113.25';
  instances = new Map<string, Instance>();
  endpoints = new Map<string, Endpoint>();
  /** Access key id → identity (long-term and temporary). */
  identities = new Map<string, Identity>();
  roles = new Map<string, { arn: string; policies: PolicyDocument[]; trusted: string[]; externalId?: string; mfaRequired?: boolean; webIdentity?: { subject?: string } }>();
  /** MFA device serial → its owner and the one code it currently shows (set per test). */
  mfaDevices = new Map<string, { userArn: string; code: string }>();
  /** Opt-in regions that exist but the account has not enabled (EC2 there answers AuthFailure). */
  disabledRegions = new Set<string>();
  /** instanceId/osUser → keys pushed, newest last. */
  keys = new Map<string, PushedKey[]>();
  /** Hands a pushed key to its instance (the simulator writes the file its sshd reads). */
  onKeyPushed?: (key: PushedKey) => Promise<void>;
  trail: TrailEvent[] = [];
  /** Services whose service-linked role the account has (an endpoint made before creates EC2 Instance Connect's). */
  serviceLinkedRoles = new Set<string>();
  /** Every action an API call asked IAM for, allowed or not, oldest first. */
  authorizations: AuthorizationRecord[] = [];
  faults = new Faults();
  /** EC2 Serial Console access for the account (off by default, as in AWS). */
  serialConsoleAccess = false;
  /** Instances whose Instance Connect service is unreachable (EC2InstanceUnavailableException). */
  unavailable = new Set<string>();

  constructor(readonly options: SimOptions) {}

  /** The service's clock: the injected clock plus any skew a test set. */
  now(): Date {
    return new Date(this.options.clock().getTime() + this.faults.clockSkewMs);
  }

  hasRegion(region: string): boolean {
    return this.options.regions.includes(region);
  }

  subnet(id: string): Subnet | undefined {
    for (const v of this.vpcs.values()) for (const s of v.subnets) if (s.id === id) return s;
    return undefined;
  }

  instanceByPrivateIp(region: string, vpcId: string, ip: string): Instance | undefined {
    for (const i of this.instances.values()) if (i.region === region && i.vpcId === vpcId && i.privateIp === ip) return i;
    return undefined;
  }

  /** IAM for one call; throws the protocol-neutral denial (each API maps it to its own code). */
  authorize(identity: Identity, req: AuthorizationRequest): void {
    const decision = evaluate(identity.policies, req);
    this.authorizations.push({ time: this.now(), principal: identity.arn, accessKeyId: identity.accessKeyId, action: req.action, resource: req.resource, decision });
    if (decision !== 'allow') throw new ApiError('AccessDenied', denialMessage(identity.arn, req, decision), 403);
  }

  activeKeys(instanceId: string, osUser: string, nowMs = Date.now()): PushedKey[] {
    return (this.keys.get(`${instanceId}/${osUser}`) ?? []).filter((k) => k.visibleAt <= nowMs && k.expiresAt * 1000 > nowMs - 60_000);
  }
}

export function instanceArn(region: string, id: string): string {
  return `arn:aws:ec2:${region}:${ACCOUNT_ID}:instance/${id}`;
}
export function endpointArn(region: string, id: string): string {
  return `arn:aws:ec2:${region}:${ACCOUNT_ID}:instance-connect-endpoint/${id}`;
}
