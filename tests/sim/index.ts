import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAwsConfig, type AwsConfigOptions, type AwsConfigFiles } from './aws-config';
import { uniqueId } from './credentials';
import { createEndpoint, EICE_SERVICE, privateDnsName } from './ec2';
import { activeKeysBlob } from './instance-connect';
import { ACCOUNT_ID, type EndpointSpec, type FleetSpec, type InstanceSpec, type PrincipalSpec } from './fleet';
import { ADMIN_POLICY, type PolicyDocument } from './iam';
import { SimRouter } from './server';
import { ensureOsUsers, installAuthorizedKeysCommand, InstanceSshd, sshdMissing, type HostKey } from './sshd';
import { SsoService } from './sso';
import { Faults, hex, intToIp, ipToInt, newId, World, type AuthorizationRecord, type Endpoint, type Instance, type TrailEvent } from './state';
import { TunnelService } from './tunnel';
import { buildNetwork, reachDirect, reachViaEndpoint } from './network';
import { OidcProvider, type WebIdentityTokenOptions } from './web-identity';

export { demoFleet, seedPolicy, ACCOUNT_ID } from './fleet';
export { DEFAULT_FAULT_SEED } from './state';
export type { FleetSpec, InstanceSpec, EndpointSpec, PrincipalSpec, VpcSpec, RoleSpec } from './fleet';
export type { PolicyDocument } from './iam';
export { sshdMissing } from './sshd';
export { OIDC_ISSUER, OIDC_AUDIENCE, type WebIdentityTokenOptions } from './web-identity';

export interface SimulatorOptions {
  /** Regions that exist (default us-east-1 and us-west-2, plus any the fleet names). */
  regions?: string[];
  /**
   * Opt-in regions that exist but the account has not enabled: DescribeRegions lists them as
   * `not-opted-in` (with AllRegions), and every EC2 / Instance Connect call there answers
   * AuthFailure / UnrecognizedClientException, as AWS does. Re-enable with admin.setRegionEnabled.
   */
  disabledRegions?: string[];
  fleet?: FleetSpec;
  /** The service clock (SigV4 time checks, STS expiry, CloudTrail times). Default: real time. */
  clock?: () => Date;
  /** How long a pushed key works (default 60 s, as in AWS). */
  keyTtlSeconds?: number;
  /**
   * create-in-progress → create-complete (and delete) delay for endpoints (default 1500 ms);
   * 'held' keeps them in progress until admin.finishEndpointChanges(), for a test that must see the
   * in-progress state however slowly its client runs.
   */
  endpointCreateDelayMs?: number | 'held';
  /** OS users that exist on every instance (default ec2-user and ubuntu). */
  osUsers?: string[];
  /** Don't start real sshd processes (API-only tests). */
  noSshd?: boolean;
  /** The instances' sshd LogLevel: DEBUG1 logs each forwarded (direct-tcpip) channel, so a test can see a jump host carried traffic. */
  sshdLogLevel?: 'INFO' | 'DEBUG1';
  /** The seed of the fault dice (default DEFAULT_FAULT_SEED): which calls a throttle or 5xx ratio hits. */
  faultSeed?: string | number;
}

export interface SimulatedInstance {
  id: string;
  region: string;
  state: string;
  privateIp: string;
  publicIp?: string;
  vpcId: string;
  subnetId: string;
  tags: Record<string, string>;
  /** Where its real sshd listens on 127.0.0.1: the instance as seen from inside its VPC (a jump host, the endpoint). */
  sshPort: number | undefined;
  /**
   * Its public address as the internet reaches it: a 127.0.0.1 port in front of sshd that lets a
   * connection through only as the network allows (security groups from the client's public
   * address, a route to an internet gateway, network ACLs both ways, healthy status checks).
   */
  publicPort: number | undefined;
  sshdRunning: boolean;
  hostKeys: HostKey[];
}

/** The in-process control surface: faults and state changes tests and the demo need. */
export interface SimulatorAdmin {
  /** `region`: only calls signed for that region (e.g. one region throttled beyond retries). */
  setLatency(op: string, ms: number, region?: string): void;
  /** API requests whose client hung up before the simulator answered (a cancelled call really aborted). */
  abandonedRequests(): number;
  /**
   * The share of calls answered with the protocol's throttling error (or a 5xx). Which calls: the
   * seeded dice (seedFaults), the same in every run; setting a ratio starts every stream over.
   */
  setThrottle(op: string, ratio: number, region?: string): void;
  setErrorRatio(op: string, ratio: number, region?: string): void;
  /** The seed of the fault dice (default DEFAULT_FAULT_SEED, or startSimulator's faultSeed); every stream starts over. */
  seedFaults(seed: string | number): void;
  /** The code the MFA device `serial` shows from now on (AssumeRole's TokenCode must equal it). */
  setMfaCode(serial: string, code: string): void;
  /** Enables (opts in to) or disables a region for the account. */
  setRegionEnabled(region: string, enabled: boolean): void;
  /** Endpoints created or deleted under endpointCreateDelayMs 'held' reach create-complete / delete-complete now. */
  finishEndpointChanges(): void;
  /** A JWT from the simulator's OIDC provider, for `web_identity_token_file` / AssumeRoleWithWebIdentity. */
  issueWebIdentityToken(opts?: WebIdentityTokenOptions): string;
  setKeyPropagationDelay(ms: number): void;
  /** Tunnels opened from now on are cut (no close frame) after this many bytes or seconds. */
  dropTunnelsAfter(limit: { bytes?: number; seconds?: number }): void;
  stopInstance(id: string): Promise<void>;
  startInstance(id: string): Promise<void>;
  restartSshd(id: string): Promise<void>;
  /** The endpoint vanishes at once (delete-complete) and its tunnels close. */
  deleteEndpoint(id: string): void;
  setClockSkew(ms: number): void;
  setSerialConsoleAccess(enabled: boolean): void;
  /** Pushes to this instance fail with EC2InstanceUnavailableException (503) while set. */
  setInstanceUnavailable(id: string, unavailable: boolean): void;
  addPrincipal(p: PrincipalSpec): void;
  addInstance(spec: InstanceSpec): Promise<SimulatedInstance>;
  addEndpoint(spec: EndpointSpec): { id: string; dnsName: string; fipsDnsName: string };
  approveDeviceCode(userCode: string): boolean;
  pendingUserCodes(): string[];
  resetFaults(): void;
  trail(): TrailEvent[];
  /** Every IAM decision so far (each action an API call asked for), oldest first; `since` a time. */
  authorizations(since?: Date): AuthorizationRecord[];
  /** Replaces the identity policies of a principal (by access key id), e.g. with a generated policy. */
  setPolicies(accessKeyId: string, policies: PolicyDocument[]): void;
  /** The address AWS sees this client's connections come from (default 203.0.113.25; checkip answers it). */
  setClientPublicIp(ip: string): void;
  /** An instance's health, metadata service, Instance Connect package and load, as InstanceSpec names them. */
  setInstanceCondition(id: string, condition: Partial<Pick<InstanceSpec, 'status' | 'metadata' | 'instanceConnectPackage' | 'cpuPercent' | 'cpuCredits'>>): void;
}

export interface Simulator {
  /** http://127.0.0.1:PORT — every API, the openTunnel WebSocket and the admin API. */
  endpoint: string;
  port: number;
  /** The temp folder holding every instance's host keys and sshd_config (removed on stop). */
  dir: string;
  /** Admin HTTP API base: POST `${adminUrl}/<adminMethod>` with a JSON array of arguments; GET `${adminUrl}/state`. */
  adminUrl: string;
  admin: SimulatorAdmin;
  /** Principals with long-term keys (the first is the default admin). */
  principals: PrincipalSpec[];
  writeAwsConfig(dir: string, opts?: AwsConfigOptions): Promise<AwsConfigFiles>;
  instances(): SimulatedInstance[];
  endpoints(): { id: string; region: string; vpcId: string; subnetId: string; state: string; dnsName: string; fipsDnsName: string }[];
  /**
   * Where to dial for an EICE DnsName: always this simulator (`ws://127.0.0.1:PORT`). Sign the
   * presigned URL for host = the DnsName, then connect here with the same path and query (the
   * Host header may be either; routing is by path).
   */
  tunnelEndpointFor(dnsName: string): string;
  /** Simulated IP (private or public) → the 127.0.0.1 port of that instance's sshd. */
  sshPortFor(ip: string): number | undefined;
  /** Instance id → its public door's 127.0.0.1 port (see SimulatedInstance.publicPort). */
  publicPortFor(instanceId: string): number | undefined;
  /** What the instance's sshd has logged (its last megabyte). */
  sshdLog(instanceId: string): string;
  /** EICE tunnels open right now, on every endpoint (the endpoint counts one until its WebSocket has closed). */
  openTunnels(): number;
  /** The most tunnels each endpoint carried at once since `resetTunnelPeaks` (or the start), by endpoint id. */
  tunnelPeaks(): Record<string, number>;
  resetTunnelPeaks(): void;
  stop(): Promise<void>;
}

export const DEFAULT_ADMIN: PrincipalSpec = {
  accessKeyId: 'AKIASIMADMIN00000001',
  secretAccessKey: 'sim/admin/secret/key/00000000000000000000',
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/sim-admin`,
  policies: [ADMIN_POLICY],
  profile: 'default',
  mfa: { code: '123456' },
};

const DEFAULT_REGIONS = ['us-east-1', 'us-west-2'];

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const fleet = opts.fleet ?? {};
  const regions = [...new Set([...(opts.regions ?? DEFAULT_REGIONS), ...(fleet.vpcs ?? []).map((v) => v.region), ...(fleet.instances ?? []).map((i) => i.region)])];
  const disabled = (opts.disabledRegions ?? []).filter((r) => !regions.includes(r));
  const w = new World({ regions, clock: opts.clock ?? (() => new Date()), keyTtlSeconds: opts.keyTtlSeconds ?? 60, endpointCreateDelayMs: opts.endpointCreateDelayMs ?? 1500 });
  if (opts.faultSeed !== undefined) w.faults.reseed(opts.faultSeed);
  for (const r of disabled) w.disabledRegions.add(r);
  const oidc = new OidcProvider();
  const useSshd = !opts.noSshd && !sshdMissing;
  const osUsers = useSshd ? await ensureOsUsers(opts.osUsers ?? ['ec2-user', 'ubuntu']) : [];
  const commandPath = useSshd ? await installAuthorizedKeysCommand() : '';
  const dir = await mkdtemp(join(tmpdir(), 'keyless-sim-'));
  // Instances' AuthorizedKeysCommand (another user) reads pushed keys below this folder.
  await chmod(dir, 0o711);
  // A push reaches the instance's sshd as the file its AuthorizedKeysCommand reads, once the key is visible.
  w.onKeyPushed = async (k) => {
    const instance = w.instances.get(k.instanceId);
    const sshd = instance?.sshd;
    // Without the package nothing reads pushed keys; with the metadata service off the package cannot.
    if (!sshd || !instance.instanceConnectPackage || instance.metadataEndpoint === 'disabled') return;
    const publish = () => sshd.publishPushedKeys(k.osUser, () => activeKeysBlob(w, k.instanceId, k.osUser));
    const wait = k.visibleAt - Date.now();
    if (wait <= 0) return publish();
    setTimeout(() => void publish().catch(() => {}), wait + 1).unref();
  };

  // Network: the fleet's VPCs, else a default VPC per region.
  for (const v of fleet.vpcs ?? []) {
    w.vpcs.set(v.id, { id: v.id, region: v.region, cidr: v.cidr, name: v.name, isDefault: v.isDefault ?? false, subnets: v.subnets.map((s) => ({ ...s, vpcId: v.id, region: v.region, nextHost: 10 })) });
  }
  regions.forEach((r, n) => {
    if ([...w.vpcs.values()].some((v) => v.region === r)) return;
    const id = `vpc-0${hex(16)}`;
    w.vpcs.set(id, {
      id,
      region: r,
      cidr: '172.31.0.0/16',
      isDefault: true,
      subnets: ['a', 'b'].map((az, k) => ({ id: `subnet-0${hex(16)}`, vpcId: id, region: r, availabilityZone: `${r}${az}`, cidr: `172.31.${16 * k + n * 32}.0/20`, nextHost: 10 })),
    });
  });
  for (const v of w.vpcs.values()) buildNetwork(w, v, fleet);

  // Identities.
  const principals = [DEFAULT_ADMIN, ...(fleet.principals ?? [])];
  const addPrincipal = (p: PrincipalSpec) => {
    w.identities.set(p.accessKeyId, { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, arn: p.arn, userId: uniqueId('AIDA', p.arn), policies: p.policies, type: p.arn.endsWith(':root') ? 'Root' : 'IAMUser' });
    if (p.mfa) w.mfaDevices.set(p.mfa.serial ?? `arn:aws:iam::${ACCOUNT_ID}:mfa/${p.arn.split('/').pop()!}`, { userArn: p.arn, code: p.mfa.code });
  };
  principals.forEach(addPrincipal);
  for (const r of fleet.roles ?? []) w.roles.set(r.arn, { arn: r.arn, policies: r.policies, trusted: r.trusted ?? [`arn:aws:*::${ACCOUNT_ID}:*`], externalId: r.externalId, mfaRequired: r.mfaRequired, webIdentity: r.webIdentity });
  const sso = new SsoService(w, fleet.sso ?? { assignments: [{ accountId: ACCOUNT_ID, accountName: 'sim-account', roleName: 'AdministratorAccess', policies: [ADMIN_POLICY] }] });

  // The server first: instances' sshd configs need its URL for their metadata.
  const adminToken = randomBytes(16).toString('hex');
  // The router needs the admin surface built below; requests only arrive once it is set.
  const routing: { router?: SimRouter } = {};
  let abandoned = 0;
  const server: Server = createServer((req, res) => {
    res.once('close', () => {
      if (!res.writableEnded) abandoned++;
    });
    void routing.router!.handle(req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const endpoint = `http://127.0.0.1:${port}`;

  const setInstanceState = async (i: Instance, state: 'running' | 'stopped') => {
    if (state === 'stopped') {
      i.state = 'stopped';
      await i.sshd?.stop(true);
    } else {
      if (i.state !== 'running') i.launchTime = w.now();
      i.state = 'running';
      await i.sshd?.start();
    }
  };
  const closeEndpointTunnels = (e: Endpoint) => {
    for (const t of [...e.tunnels]) t.close(1011, 'Instance Connect Endpoint deleted');
  };

  const addInstance = async (spec: InstanceSpec): Promise<Instance> => {
    const subnet = w.subnet(spec.subnetId);
    if (!subnet) throw new Error(`No subnet ${spec.subnetId} for instance ${spec.id ?? ''}`);
    let privateIp = spec.privateIp;
    if (!privateIp) {
      const base = ipToInt(subnet.cidr.split('/')[0]!);
      privateIp = intToIp(base + subnet.nextHost++);
    }
    const id = spec.id ?? newId('i');
    const i: Instance = {
      id,
      region: subnet.region,
      vpcId: subnet.vpcId,
      subnetId: subnet.id,
      availabilityZone: subnet.availabilityZone,
      privateIp,
      publicIp: spec.publicIp,
      state: spec.state ?? 'running',
      instanceType: spec.instanceType ?? 't3.micro',
      imageId: spec.imageId ?? `ami-0${createImageSuffix(spec.amiName ?? 'al2023')}`,
      amiName: spec.amiName ?? 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
      platform: spec.platform ?? 'linux',
      tags: spec.tags ?? {},
      keyName: spec.keyName,
      launchTime: new Date(w.now().getTime() - 86_400_000),
      reservationId: newId('r'),
      securityGroupIds: spec.securityGroupIds ?? [...w.securityGroups.values()].filter((g) => g.vpcId === subnet.vpcId && g.name === 'default').map((g) => g.id),
      networkInterfaceId: newId('eni'),
      status: spec.status ?? 'ok',
      metadataEndpoint: spec.metadata ?? 'enabled',
      instanceConnectPackage: spec.instanceConnectPackage ?? true,
      cpuPercent: spec.cpuPercent ?? 3,
      cpuCredits: spec.cpuCredits ?? 144,
    };
    for (const g of i.securityGroupIds) if (w.securityGroups.get(g)?.vpcId !== i.vpcId) throw new Error(`Security group ${g} is not in ${i.vpcId}`);
    w.instances.set(id, i);
    if (useSshd && i.platform === 'linux') {
      const users = spec.osUsers ? osUsers.filter((u) => spec.osUsers!.includes(u)) : osUsers;
      i.sshd = await InstanceSshd.create(id, join(dir, id), privateDnsName(i.region, privateIp).split('.')[0]!, commandPath, users.length ? users : ['nobody-here'], opts.sshdLogLevel);
      publicDoors.set(id, await openPublicDoor(i));
      // The first start may move to another port: nobody has been told this one yet.
      if (i.state === 'running') await i.sshd.start(true);
    }
    return i;
  };

  // The instance's public address as the internet reaches it: a loopback port in front of its sshd
  // that lets a connection through only as the VPC's network would (network.ts reachDirect).
  const publicDoors = new Map<string, TcpServer>();
  const doorSockets = new Set<Socket>();
  const openPublicDoor = async (i: Instance): Promise<TcpServer> => {
    const door = createTcpServer((client) => {
      doorSockets.add(client);
      client.on('close', () => doorSockets.delete(client));
      client.on('error', () => {});
      const reach = reachDirect(w, i, client.remotePort ?? 0);
      if (!reach.ok) {
        if (!reach.hang) client.resetAndDestroy();
        return;
      }
      const upstream = tcpConnect({ host: '127.0.0.1', port: i.sshd?.port ?? 0 });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => door.listen(0, '127.0.0.1', r));
    return door;
  };

  const describe = (i: Instance): SimulatedInstance => ({
    id: i.id,
    region: i.region,
    state: i.state,
    privateIp: i.privateIp,
    publicIp: i.publicIp,
    vpcId: i.vpcId,
    subnetId: i.subnetId,
    tags: i.tags,
    sshPort: i.sshd?.port,
    publicPort: (publicDoors.get(i.id)?.address() as { port: number } | null)?.port,
    sshdRunning: !!i.sshd?.running,
    hostKeys: i.sshd?.hostKeys ?? [],
  });
  const instanceOrThrow = (id: string) => {
    const i = w.instances.get(id);
    if (!i) throw new Error(`No instance ${id}`);
    return i;
  };

  const tunnels = new TunnelService(
    w,
    (id) => {
      const i = w.instances.get(id);
      return i?.sshd?.running && i.state === 'running' ? i.sshd.port : undefined;
    },
    { delay: (op) => routing.router!.delay(op), dice: (op, region, caller) => routing.router!.dice(op, 'tunnel', region, caller) },
    (endpoint, instanceId, clientPort) => reachViaEndpoint(w, endpoint, w.instances.get(instanceId)!, clientPort),
  );
  server.on('upgrade', (req, socket, head) => void tunnels.upgrade(req, socket, head));

  const admin: SimulatorAdmin = {
    setLatency: (op, ms, region) => void w.faults.latencyMs.set(Faults.key(op, region), ms),
    abandonedRequests: () => abandoned,
    setThrottle: (op, ratio, region) => w.faults.setRatio('throttleRatio', op, ratio, region),
    setErrorRatio: (op, ratio, region) => w.faults.setRatio('errorRatio', op, ratio, region),
    seedFaults: (seed) => w.faults.reseed(seed),
    setMfaCode: (serial, code) => {
      const d = w.mfaDevices.get(serial);
      if (!d) throw new Error(`No MFA device ${serial}`);
      d.code = code;
    },
    finishEndpointChanges: () => {
      for (const e of w.endpoints.values()) {
        if (e.state === 'create-in-progress') e.state = 'create-complete';
        else if (e.state === 'delete-in-progress') e.state = 'delete-complete';
      }
    },
    setRegionEnabled: (region, enabled) => {
      if (enabled) {
        w.disabledRegions.delete(region);
        if (!w.options.regions.includes(region)) w.options.regions.push(region);
      } else {
        w.disabledRegions.add(region);
        const at = w.options.regions.indexOf(region);
        if (at >= 0) w.options.regions.splice(at, 1);
      }
    },
    issueWebIdentityToken: (o) => oidc.issue(w, o),
    setKeyPropagationDelay: (ms) => void (w.faults.keyPropagationDelayMs = ms),
    dropTunnelsAfter: (limit) => void (w.faults.tunnelDrop = { ...limit }),
    stopInstance: (id) => setInstanceState(instanceOrThrow(id), 'stopped'),
    startInstance: (id) => setInstanceState(instanceOrThrow(id), 'running'),
    restartSshd: async (id) => {
      await instanceOrThrow(id).sshd?.restart();
    },
    deleteEndpoint: (id) => {
      const e = w.endpoints.get(id);
      if (!e) throw new Error(`No endpoint ${id}`);
      e.state = 'delete-complete';
      closeEndpointTunnels(e);
    },
    setClockSkew: (ms) => void (w.faults.clockSkewMs = ms),
    setSerialConsoleAccess: (on) => void (w.serialConsoleAccess = on),
    setInstanceUnavailable: (id, on) => void (on ? w.unavailable.add(id) : w.unavailable.delete(id)),
    addPrincipal: (p) => {
      principals.push(p);
      addPrincipal(p);
    },
    addInstance: async (spec) => describe(await addInstance(spec)),
    addEndpoint: (spec) => {
      const e = createEndpoint(w, spec);
      w.serviceLinkedRoles.add(EICE_SERVICE);
      return { id: e.id, dnsName: e.dnsName, fipsDnsName: e.fipsDnsName };
    },
    approveDeviceCode: (code) => sso.approve(code),
    pendingUserCodes: () => sso.pendingUserCodes(),
    resetFaults: () => {
      w.faults.reset();
      w.unavailable.clear();
    },
    trail: () => [...w.trail],
    authorizations: (since) => w.authorizations.filter((a) => !since || a.time.getTime() >= since.getTime()),
    setClientPublicIp: (ip) => {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`Not an IPv4 address: ${ip}`);
      w.clientPublicIp = ip;
    },
    setInstanceCondition: (id, c) => {
      const i = instanceOrThrow(id);
      if (c.status) i.status = c.status;
      if (c.metadata) i.metadataEndpoint = c.metadata;
      if (c.instanceConnectPackage !== undefined) i.instanceConnectPackage = c.instanceConnectPackage;
      if (c.cpuPercent !== undefined) i.cpuPercent = c.cpuPercent;
      if (c.cpuCredits !== undefined) i.cpuCredits = c.cpuCredits;
    },
    setPolicies: (accessKeyId, policies) => {
      const identity = w.identities.get(accessKeyId);
      if (!identity) throw new Error(`No principal with access key ${accessKeyId}`);
      identity.policies = policies;
      const spec = principals.find((p) => p.accessKeyId === accessKeyId);
      if (spec) spec.policies = policies;
    },
  };

  const sim: Simulator = {
    endpoint,
    port,
    dir,
    adminUrl: `${endpoint}/__sim/${adminToken}`,
    admin,
    principals,
    writeAwsConfig: (d, o) => writeAwsConfig(d, endpoint, principals, sso, o),
    instances: () => [...w.instances.values()].map(describe),
    endpoints: () => [...w.endpoints.values()].map((e) => ({ id: e.id, region: e.region, vpcId: e.vpcId, subnetId: e.subnetId, state: e.state, dnsName: e.dnsName, fipsDnsName: e.fipsDnsName })),
    tunnelEndpointFor: () => `ws://127.0.0.1:${port}`,
    sshPortFor: (ip) => [...w.instances.values()].find((i) => i.privateIp === ip || i.publicIp === ip)?.sshd?.port,
    publicPortFor: (id) => (publicDoors.get(id)?.address() as { port: number } | null)?.port,
    sshdLog: (id) => w.instances.get(id)?.sshd?.recentLog ?? '',
    openTunnels: () => tunnels.openCount,
    tunnelPeaks: () => Object.fromEntries(tunnels.peaks),
    resetTunnelPeaks: () => tunnels.peaks.clear(),
    stop: async () => {
      tunnels.closeAll();
      for (const s of doorSockets) s.destroy();
      await Promise.all([...publicDoors.values()].map((d) => new Promise((r) => d.close(r))));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await Promise.all([...w.instances.values()].map((i) => i.sshd?.stop(true)));
      await rm(dir, { recursive: true, force: true });
    },
  };

  routing.router = new SimRouter({
    world: w,
    sso,
    oidc,
    ec2Hooks: { setInstanceState, endpointDeleted: closeEndpointTunnels },
    adminToken,
    admin: admin as unknown as Record<string, unknown>,
    snapshot: () => ({ endpoint, regions, instances: sim.instances(), endpoints: sim.endpoints(), principals: principals.map((p) => ({ arn: p.arn, accessKeyId: p.accessKeyId, profile: p.profile })), pendingUserCodes: sso.pendingUserCodes() }),
  });

  try {
    for (const e of fleet.endpoints ?? []) createEndpoint(w, e);
    // An account that has an endpoint already has the service-linked role its creation made.
    if (fleet.endpoints?.length) w.serviceLinkedRoles.add(EICE_SERVICE);
    await Promise.all((fleet.instances ?? []).map(addInstance));
  } catch (e) {
    await sim.stop();
    throw e;
  }
  return sim;
}

function createImageSuffix(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 131 + c.charCodeAt(0)) >>> 0;
  return (h.toString(16) + 'a1b2c3d4e5f60789').slice(0, 16);
}

export type { PolicyDocument as IamPolicy };
export type Policy = PolicyDocument;
