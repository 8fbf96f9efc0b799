import { ACCOUNT_ID } from './fleet';
import { wildcardMatch } from './iam';
import { ApiError, endpointArn, hex, instanceArn, intToIp, ipToInt, newId, STATE_CODES, type Endpoint, type Identity, type Instance, type World } from './state';
import { ec2Response, shapeXml, WrittenXml } from './xml';
import { GROUP_ACTIONS, groupArn, handleNetwork, NETWORK_ACTIONS } from './network';

/** An EC2 call after authentication: who, where, and its decoded form parameters. */
export interface Ec2Call {
  identity: Identity;
  region: string;
  requestId: string;
  params: URLSearchParams;
}

export interface Ec2Hooks {
  /** Starting or stopping an instance makes its sshd follow. */
  setInstanceState(instance: Instance, state: 'running' | 'stopped'): Promise<void>;
  /** Ends the tunnels of a deleted endpoint. */
  endpointDeleted(endpoint: Endpoint): void;
}

/** `Prefix.1`, `Prefix.2`, … in order. */
/** Runs `done` once the endpoint change delay has passed; under 'held' the admin API finishes it instead. */
function afterEndpointDelay(w: World, done: () => void): void {
  const delay = w.options.endpointCreateDelayMs;
  if (delay !== 'held') setTimeout(done, delay).unref();
}

function listParam(p: URLSearchParams, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const [k, v] of p) {
    const m = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

interface Filter {
  name: string;
  values: string[];
}
function filters(p: URLSearchParams): Filter[] {
  const byIndex = new Map<number, Filter>();
  for (const [k, v] of p) {
    const m = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(k);
    if (!m) continue;
    const f = byIndex.get(Number(m[1])) ?? { name: '', values: [] };
    if (m[2] === 'Name') f.name = v;
    else f.values.push(v);
    byIndex.set(Number(m[1]), f);
  }
  return [...byIndex.values()];
}

type FilterFields = Record<string, (string | undefined)[] | string | undefined>;

/** EC2 filter semantics: AND across filters, OR across values, `*` and `?` wildcards. */
function applyFilters<T>(items: T[], fs: Filter[], fields: (t: T) => FilterFields, tags: (t: T) => Record<string, string>, known: string[]): T[] {
  for (const f of fs) {
    if (!known.includes(f.name) && !f.name.startsWith('tag:')) throw new ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  }
  return items.filter((item) =>
    fs.every((f) => {
      let have: (string | undefined)[];
      if (f.name.startsWith('tag:')) have = [tags(item)[f.name.slice(4)]];
      else if (f.name === 'tag-key') have = Object.keys(tags(item));
      else if (f.name === 'tag-value') have = Object.values(tags(item));
      else {
        const v = fields(item)[f.name];
        have = Array.isArray(v) ? v : [v];
      }
      return f.values.some((want) => have.some((h) => h !== undefined && wildcardMatch(want, h)));
    }),
  );
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** One page of `items`: NextToken is an opaque offset bound to this operation. */
function page<T>(op: string, items: T[], p: URLSearchParams, limits: { min: number; max: number }): { items: T[]; next?: string } {
  const max = p.get('MaxResults');
  const token = p.get('NextToken');
  let start = 0;
  if (token) {
    try {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { op: string; o: number };
      if (t.op !== op || !Number.isInteger(t.o) || t.o < 0) throw new Error();
      start = t.o;
    } catch {
      throw new ApiError('InvalidParameterValue', `Invalid value '${token}' for nextToken.`);
    }
  }
  if (max === null) return { items: items.slice(start) };
  const n = Number(max);
  if (!Number.isInteger(n) || n < limits.min || n > limits.max) {
    throw new ApiError('InvalidParameterValue', `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value greater than ${limits.min - 1} and less than ${limits.max + 1}.`);
  }
  const end = start + n;
  return { items: items.slice(start, end), next: end < items.length ? Buffer.from(JSON.stringify({ op, o: end, r: hex(8) })).toString('base64url') : undefined };
}

function azId(az: string): string {
  const [geo, dir, rest] = az.split('-');
  const num = rest!.replace(/[a-z]$/, '');
  const letter = az.slice(-1);
  const d = dir!.replace('north', 'n').replace('south', 's').replace('east', 'e').replace('west', 'w').replace('central', 'c');
  return `${geo}${d}${num}-az${letter.charCodeAt(0) - 96}`;
}

export function privateDnsName(region: string, ip: string): string {
  return `ip-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
}
function publicDnsName(region: string, ip: string | undefined): string {
  if (!ip) return '';
  return `ec2-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'compute-1' : `${region}.compute`}.amazonaws.com`;
}

/**
 * Everything an instance's XML is made from, as one string: its own fields (all of them but its
 * sshd, whatever they are, so a field added later is covered too) and its security groups' names.
 */
function instanceFingerprint(w: World, i: Instance): string {
  let key = '';
  for (const [k, v] of Object.entries(i)) {
    if (k === 'sshd') continue;
    key += `${k}\u0000`;
    if (v instanceof Date) key += v.getTime();
    else if (Array.isArray(v)) key += v.join('\u0001');
    else if (v && typeof v === 'object') for (const [tk, tv] of Object.entries(v as Record<string, unknown>)) key += `${tk}\u0001${String(tv)}\u0002`;
    else key += String(v);
    key += '\u0000';
  }
  for (const g of i.securityGroupIds) key += `${w.securityGroups.get(g)?.name ?? ''}\u0001`;
  return key;
}

/** Each instance's XML, kept until anything it is made from changes (a page of a thousand is then mostly copying). */
const writtenInstances = new WeakMap<Instance, { key: string; xml: WrittenXml }>();
function instanceXml(w: World, i: Instance): WrittenXml {
  const key = instanceFingerprint(w, i);
  const kept = writtenInstances.get(i);
  if (kept?.key === key) return kept.xml;
  const text = shapeXml('Instance', instanceShape(w, i));
  // Made flat now (V8 flattens a string to read it as a number): a page of kept instances is then
  // a thousand flat pieces to copy, not a thousand trees of small ones to walk again each time.
  Number(text);
  const xml = new WrittenXml('Instance', text);
  writtenInstances.set(i, { key, xml });
  return xml;
}

function instanceShape(w: World, i: Instance) {
  const groups = i.securityGroupIds.map((id) => ({ GroupId: id, GroupName: w.securityGroups.get(id)?.name ?? 'default' }));
  const association = i.publicIp ? { IpOwnerId: 'amazon', PublicDnsName: publicDnsName(i.region, i.publicIp), PublicIp: i.publicIp } : undefined;
  return {
    InstanceId: i.id,
    ImageId: i.imageId,
    State: { Code: STATE_CODES[i.state], Name: i.state },
    PrivateDnsName: privateDnsName(i.region, i.privateIp),
    PublicDnsName: i.state === 'running' ? publicDnsName(i.region, i.publicIp) : '',
    StateTransitionReason: i.state === 'stopped' ? `User initiated (${i.launchTime.toISOString().replace('T', ' ').slice(0, 19)} GMT)` : '',
    KeyName: i.keyName,
    AmiLaunchIndex: 0,
    ProductCodes: [],
    InstanceType: i.instanceType,
    LaunchTime: i.launchTime,
    Placement: { AvailabilityZone: i.availabilityZone, AvailabilityZoneId: azId(i.availabilityZone), GroupName: '', Tenancy: 'default' },
    Platform: i.platform === 'windows' ? 'windows' : undefined,
    PlatformDetails: i.platform === 'windows' ? 'Windows' : 'Linux/UNIX',
    Monitoring: { State: 'disabled' },
    SubnetId: i.subnetId,
    VpcId: i.vpcId,
    PrivateIpAddress: i.privateIp,
    PublicIpAddress: i.state === 'running' ? i.publicIp : undefined,
    Architecture: 'x86_64',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [],
    VirtualizationType: 'hvm',
    ClientToken: '',
    Tags: Object.keys(i.tags).length ? tagList(i.tags) : undefined,
    SecurityGroups: groups,
    SourceDestCheck: true,
    Hypervisor: 'xen',
    EbsOptimized: false,
    EnaSupport: true,
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: i.launchTime,
    MetadataOptions: { State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: i.metadataEndpoint, HttpProtocolIpv6: 'disabled', InstanceMetadataTags: 'disabled' },
    PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    NetworkInterfaces: [
      {
        Association: i.state === 'running' ? association : undefined,
        Attachment: { AttachTime: i.launchTime, AttachmentId: `eni-attach-0${i.networkInterfaceId.slice(5)}`, DeleteOnTermination: true, DeviceIndex: 0, Status: 'attached', NetworkCardIndex: 0 },
        Description: '',
        Groups: groups,
        Ipv6Addresses: [],
        MacAddress: `0e:${i.id.slice(-10).match(/../g)!.join(':')}`,
        NetworkInterfaceId: i.networkInterfaceId,
        OwnerId: ACCOUNT_ID,
        PrivateDnsName: privateDnsName(i.region, i.privateIp),
        PrivateIpAddress: i.privateIp,
        PrivateIpAddresses: [{ Association: i.state === 'running' ? association : undefined, Primary: true, PrivateDnsName: privateDnsName(i.region, i.privateIp), PrivateIpAddress: i.privateIp }],
        SourceDestCheck: true,
        Status: 'in-use',
        SubnetId: i.subnetId,
        VpcId: i.vpcId,
        InterfaceType: 'interface',
      },
    ],
  };
}

function endpointShape(e: Endpoint) {
  return {
    OwnerId: ACCOUNT_ID,
    InstanceConnectEndpointId: e.id,
    InstanceConnectEndpointArn: endpointArn(e.region, e.id),
    State: e.state,
    StateMessage: '',
    DnsName: e.dnsName,
    FipsDnsName: e.fipsDnsName,
    NetworkInterfaceIds: [e.networkInterfaceId],
    VpcId: e.vpcId,
    AvailabilityZone: e.availabilityZone,
    AvailabilityZoneId: azId(e.availabilityZone),
    CreatedAt: e.createdAt,
    SubnetId: e.subnetId,
    PreserveClientIp: e.preserveClientIp,
    SecurityGroupIds: e.securityGroupIds,
    Tags: tagList(e.tags),
    IpAddressType: 'ipv4',
  };
}

/** The console an Amazon Linux instance prints at boot, with its real host key fingerprints. */
export function consoleOutput(i: Instance): string {
  const host = privateDnsName(i.region, i.privateIp).split('.')[0];
  const keys = i.sshd?.hostKeys ?? [];
  const lines = [
    '[    0.000000] Linux version 6.1.115-126.197.amzn2023.x86_64 (mockbuild@ip-10-0-49-85) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.39-6.amzn2023.0.10) #1 SMP PREEMPT_DYNAMIC Tue Nov  5 17:36:57 UTC 2024',
    '[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-6.1.115-126.197.amzn2023.x86_64 root=UUID=4d4cf6b5-7a7c-4d1d-8b4b-1ba6d1b1e3c0 ro console=tty0 console=ttyS0,115200n8 nvme_core.io_timeout=4294967295 rd.emergency=poweroff rd.shell=0 selinux=1 security=selinux quiet',
    `[    9.120000] cloud-init[1589]: Cloud-init v. 22.2.2 running 'init' at ${i.launchTime.toUTCString()}. Up 8.95 seconds.`,
    '[   10.233000] cloud-init[1589]: Generating public/private ed25519 key pair.',
    '[   10.301000] cloud-init[1589]: Generating public/private ecdsa key pair.',
    `Amazon Linux 2023.6.20241121`,
    `Kernel 6.1.115-126.197.amzn2023.x86_64 on an x86_64 (-)`,
    '',
    `${host} login: [   12.410000] cloud-init[1921]: Cloud-init v. 22.2.2 running 'modules:final'. Up 12.40 seconds.`,
    '[   12.500000] cloud-init[1921]: #############################################################',
    '[   12.500000] cloud-init[1921]: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
    ...keys.map((k) => `[   12.500000] cloud-init[1921]: ${k.bits} ${k.fingerprint} ${k.publicKey.split(' ')[2] ?? 'no comment'} (${k.label})`),
    '[   12.500000] cloud-init[1921]: -----END SSH HOST KEY FINGERPRINTS-----',
    '[   12.500000] cloud-init[1921]: #############################################################',
    '-----BEGIN SSH HOST KEY KEYS-----',
    ...keys.map((k) => k.publicKey),
    '-----END SSH HOST KEY KEYS-----',
    `[   12.600000] cloud-init[1921]: Cloud-init v. 22.2.2 finished. Datasource DataSourceEc2.  Up 12.59 seconds`,
    '',
  ];
  return lines.join('\r\n');
}

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
function instanceOrThrow(w: World, region: string, id: string): Instance {
  if (!INSTANCE_ID.test(id)) throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const i = w.instances.get(id);
  if (!i || i.region !== region) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return i;
}

function required(p: URLSearchParams, name: string): string {
  const v = p.get(name);
  if (!v) throw new ApiError('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

function authorizeEc2(w: World, call: Ec2Call, action: string, resource = '*', context?: Record<string, string>) {
  try {
    w.authorize(call.identity, { action: `ec2:${action}`, resource, context: { 'aws:RequestedRegion': call.region, ...context } });
  } catch (e) {
    if (e instanceof ApiError) throw new ApiError('UnauthorizedOperation', `You are not authorized to perform this operation. ${e.message}`, 403);
    throw e;
  }
}

/** Regions an AWS account must opt in to before use (every region launched since March 2019). */
export const OPT_IN_REGIONS = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'ca-west-1', 'eu-central-2', 'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1',
];

export const EC2_ACTIONS = [
  'DescribeRegions', 'DescribeAvailabilityZones', 'DescribeInstances', 'DescribeVpcs', 'DescribeSubnets', 'DescribeSecurityGroups', 'DescribeImages',
  'DescribeInstanceConnectEndpoints', 'CreateInstanceConnectEndpoint', 'DeleteInstanceConnectEndpoint', 'GetConsoleOutput', 'StartInstances', 'StopInstances',
  ...NETWORK_ACTIONS,
];

/** The service principal of EC2 Instance Connect Endpoints, and the service-linked role it gets in an account. */
export const EICE_SERVICE = 'ec2-instance-connect.amazonaws.com';
export const EICE_SERVICE_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/${EICE_SERVICE}/AWSServiceRoleForEC2InstanceConnect`;

/** CreateInstanceConnectEndpoint's ClientTokens per world: token → the endpoint it made. */
const clientTokens = new WeakMap<World, Map<string, { endpointId: string; params: string }>>();

/** One EC2 query-protocol action; returns the XML body. */
export async function handleEc2(w: World, hooks: Ec2Hooks, action: string, call: Ec2Call): Promise<string> {
  const p = call.params;
  const { region } = call;
  if (p.get('Version') !== '2016-11-15') throw new ApiError('InvalidParameterValue', `Version '${p.get('Version') ?? ''}' is not supported; this endpoint speaks 2016-11-15`);
  if (!EC2_ACTIONS.includes(action)) throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
  const resourceOf = action === 'GetConsoleOutput' ? instanceArn(region, p.get('InstanceId') ?? '') : GROUP_ACTIONS.includes(action) ? groupArn(region, p.get('GroupId') ?? '') : '*';
  authorizeEc2(w, call, action, resourceOf);
  if (p.get('DryRun') === 'true') throw new ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  const ok = (result: Record<string, unknown>) => ec2Response(action, result, call.requestId);
  if (NETWORK_ACTIONS.includes(action)) return handleNetwork(w, action, call);

  switch (action) {
    case 'DescribeRegions': {
      const names = listParam(p, 'RegionName');
      // Regions the account has not opted in to are listed only with AllRegions or by name.
      const all = p.get('AllRegions') === 'true';
      const known = [...w.options.regions, ...[...w.disabledRegions].filter((r) => all || names.includes(r))];
      const regions = known
        .filter((r) => !names.length || names.includes(r))
        .map((r) => ({ RegionName: r, Endpoint: `ec2.${r}.amazonaws.com`, OptInStatus: w.disabledRegions.has(r) ? 'not-opted-in' : OPT_IN_REGIONS.includes(r) ? 'opted-in' : 'opt-in-not-required' }));
      for (const n of names) if (!w.hasRegion(n) && !w.disabledRegions.has(n)) throw new ApiError('InvalidParameterValue', `Invalid region: ${n}`);
      return ok({ Regions: applyFilters(regions, filters(p), (r) => ({ 'region-name': r.RegionName, endpoint: r.Endpoint, 'opt-in-status': r.OptInStatus }), () => ({}), ['region-name', 'endpoint', 'opt-in-status']) });
    }
    case 'DescribeAvailabilityZones': {
      const azs = [...new Set([...w.vpcs.values()].filter((v) => v.region === region).flatMap((v) => v.subnets.map((s) => s.availabilityZone)))].sort();
      return ok({ AvailabilityZones: azs.map((az) => ({ State: 'available', OptInStatus: 'opt-in-not-required', Messages: [], RegionName: region, ZoneName: az, ZoneId: azId(az), GroupName: region, NetworkBorderGroup: region, ZoneType: 'availability-zone' })) });
    }
    case 'DescribeInstances': {
      const ids = listParam(p, 'InstanceId');
      if (ids.length && p.has('MaxResults')) throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
      for (const id of ids) instanceOrThrow(w, region, id);
      let list = [...w.instances.values()].filter((i) => i.region === region && (!ids.length || ids.includes(i.id)));
      list = applyFilters(
        list,
        filters(p),
        (i) => ({
          'instance-id': i.id,
          'instance-state-name': i.state,
          'instance-state-code': String(STATE_CODES[i.state]),
          'vpc-id': i.vpcId,
          'subnet-id': i.subnetId,
          'private-ip-address': i.privateIp,
          'ip-address': i.state === 'running' ? i.publicIp : undefined,
          'availability-zone': i.availabilityZone,
          'instance-type': i.instanceType,
          'image-id': i.imageId,
          'key-name': i.keyName,
          'private-dns-name': privateDnsName(i.region, i.privateIp),
          'network-interface.addresses.private-ip-address': i.privateIp,
          'instance.group-id': i.securityGroupIds,
          'platform-details': i.platform === 'windows' ? 'Windows' : 'Linux/UNIX',
        }),
        (i) => i.tags,
        ['instance-id', 'instance-state-name', 'instance-state-code', 'vpc-id', 'subnet-id', 'private-ip-address', 'ip-address', 'availability-zone', 'instance-type', 'image-id', 'key-name', 'private-dns-name', 'network-interface.addresses.private-ip-address', 'instance.group-id', 'platform-details', 'tag-key', 'tag-value'],
      );
      const { items, next } = page('DescribeInstances', list, p, { min: 5, max: 1000 });
      const reservations = new Map<string, Instance[]>();
      for (const i of items) reservations.set(i.reservationId, [...(reservations.get(i.reservationId) ?? []), i]);
      return ok({
        Reservations: [...reservations].map(([rid, is]) => ({ ReservationId: rid, OwnerId: ACCOUNT_ID, Groups: [], Instances: is.map((i) => instanceXml(w, i)) })),
        NextToken: next,
      });
    }
    case 'DescribeVpcs': {
      const ids = listParam(p, 'VpcId');
      let vpcs = [...w.vpcs.values()].filter((v) => v.region === region);
      for (const id of ids) if (!vpcs.some((v) => v.id === id)) throw new ApiError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`);
      if (ids.length) vpcs = vpcs.filter((v) => ids.includes(v.id));
      vpcs = applyFilters(vpcs, filters(p), (v) => ({ 'vpc-id': v.id, 'cidr-block': v.cidr, cidr: v.cidr, 'is-default': String(v.isDefault), state: 'available' }), (v): Record<string, string> => (v.name ? { Name: v.name } : {}), ['vpc-id', 'cidr-block', 'cidr', 'is-default', 'state']);
      const { items, next } = page('DescribeVpcs', vpcs, p, { min: 5, max: 1000 });
      return ok({
        Vpcs: items.map((v) => ({
          OwnerId: ACCOUNT_ID,
          InstanceTenancy: 'default',
          CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-0${v.id.slice(5)}`, CidrBlock: v.cidr, CidrBlockState: { State: 'associated' } }],
          IsDefault: v.isDefault,
          Tags: v.name ? [{ Key: 'Name', Value: v.name }] : undefined,
          VpcId: v.id,
          State: 'available',
          CidrBlock: v.cidr,
          DhcpOptionsId: 'dopt-0a1b2c3d4e5f60000',
        })),
        NextToken: next,
      });
    }
    case 'DescribeSubnets': {
      const ids = listParam(p, 'SubnetId');
      let subnets = [...w.vpcs.values()].filter((v) => v.region === region).flatMap((v) => v.subnets);
      for (const id of ids) if (!subnets.some((s) => s.id === id)) throw new ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
      if (ids.length) subnets = subnets.filter((s) => ids.includes(s.id));
      subnets = applyFilters(subnets, filters(p), (s) => ({ 'subnet-id': s.id, 'vpc-id': s.vpcId, 'availability-zone': s.availabilityZone, 'cidr-block': s.cidr, state: 'available' }), (s): Record<string, string> => (s.name ? { Name: s.name } : {}), ['subnet-id', 'vpc-id', 'availability-zone', 'cidr-block', 'state']);
      const { items, next } = page('DescribeSubnets', subnets, p, { min: 5, max: 1000 });
      return ok({
        Subnets: items.map((s) => ({
          AvailabilityZoneId: azId(s.availabilityZone),
          MapCustomerOwnedIpOnLaunch: false,
          OwnerId: ACCOUNT_ID,
          AssignIpv6AddressOnCreation: false,
          Ipv6CidrBlockAssociationSet: [],
          Tags: s.name ? [{ Key: 'Name', Value: s.name }] : undefined,
          SubnetArn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:subnet/${s.id}`,
          EnableDns64: false,
          Ipv6Native: false,
          PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
          SubnetId: s.id,
          State: 'available',
          VpcId: s.vpcId,
          CidrBlock: s.cidr,
          AvailableIpAddressCount: 2 ** (32 - Number(s.cidr.split('/')[1])) - 5,
          AvailabilityZone: s.availabilityZone,
          DefaultForAz: false,
          MapPublicIpOnLaunch: false,
        })),
        NextToken: next,
      });
    }
    case 'DescribeImages': {
      const ids = listParam(p, 'ImageId');
      const seen = new Map<string, Instance>();
      for (const i of w.instances.values()) if (i.region === region && !seen.has(i.imageId)) seen.set(i.imageId, i);
      let images = [...seen.values()].filter((i) => !ids.length || ids.includes(i.imageId));
      images = applyFilters(images, filters(p), (i) => ({ 'image-id': i.imageId, name: i.amiName, 'platform-details': i.platform === 'windows' ? 'Windows' : 'Linux/UNIX' }), () => ({}), ['image-id', 'name', 'platform-details']);
      return ok({
        Images: images.map((i) => ({
          ImageId: i.imageId,
          Name: i.amiName,
          Description: i.amiName,
          PlatformDetails: i.platform === 'windows' ? 'Windows' : 'Linux/UNIX',
          UsageOperation: 'RunInstances',
          ImageLocation: `amazon/${i.amiName}`,
          State: 'available',
          OwnerId: i.amiName.startsWith('ubuntu') ? '099720109477' : '137112412989',
          ImageOwnerAlias: i.amiName.startsWith('ubuntu') ? undefined : 'amazon',
          CreationDate: '2024-11-21T00:00:00.000Z',
          Public: true,
          Architecture: 'x86_64',
          ImageType: 'machine',
          RootDeviceType: 'ebs',
          RootDeviceName: '/dev/xvda',
          VirtualizationType: 'hvm',
          Hypervisor: 'xen',
          EnaSupport: true,
          Platform: i.platform === 'windows' ? 'windows' : undefined,
        })),
      });
    }
    case 'DescribeInstanceConnectEndpoints': {
      const ids = listParam(p, 'InstanceConnectEndpointId');
      let eps = [...w.endpoints.values()].filter((e) => e.region === region);
      for (const id of ids) if (!eps.some((e) => e.id === id)) throw new ApiError('InvalidInstanceConnectEndpointId.NotFound', `The instanceConnectEndpoint ID '${id}' does not exist`);
      if (ids.length) eps = eps.filter((e) => ids.includes(e.id));
      eps = applyFilters(eps, filters(p), (e) => ({ state: e.state, 'vpc-id': e.vpcId, 'subnet-id': e.subnetId, 'instance-connect-endpoint-id': e.id, 'availability-zone': e.availabilityZone }), (e) => e.tags, ['state', 'vpc-id', 'subnet-id', 'instance-connect-endpoint-id', 'availability-zone', 'tag-key', 'tag-value']);
      const { items, next } = page('DescribeInstanceConnectEndpoints', eps, p, { min: 1, max: 50 });
      return ok({ InstanceConnectEndpoints: items.map(endpointShape), NextToken: next });
    }
    case 'CreateInstanceConnectEndpoint': {
      const subnetId = required(p, 'SubnetId');
      const subnet = w.subnet(subnetId);
      if (!subnet || subnet.region !== region) throw new ApiError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
      const sgIds = listParam(p, 'SecurityGroupId');
      for (const id of sgIds) {
        const g = w.securityGroups.get(id);
        if (!g || g.region !== region) throw new ApiError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
        if (g.vpcId !== subnet.vpcId) throw new ApiError('InvalidParameterValue', `Security group ${id} and subnet ${subnetId} belong to different networks.`);
      }
      // A repeated ClientToken answers with the endpoint it made (the SDK retries with the same token);
      // the same token with other parameters is refused.
      const token = p.get('ClientToken');
      const tokens = clientTokens.get(w) ?? new Map<string, { endpointId: string; params: string }>();
      clientTokens.set(w, tokens);
      const fingerprint = JSON.stringify([region, subnetId, sgIds, p.get('PreserveClientIp') ?? '']);
      const seen = token ? tokens.get(token) : undefined;
      if (seen) {
        if (seen.params !== fingerprint) throw new ApiError('IdempotentParameterMismatch', `Client token ${token} was used before with different parameters.`);
        const again = w.endpoints.get(seen.endpointId);
        if (again) return ok({ InstanceConnectEndpoint: endpointShape(again), ClientToken: token });
      }
      const tags: Record<string, string> = {};
      for (const [k, v] of p) {
        const m = /^TagSpecification\.\d+\.Tag\.(\d+)\.Key$/.exec(k);
        if (m) tags[v] = p.get(k.replace(/Key$/, 'Value')) ?? '';
      }
      // What AWS also evaluates for the caller (user guide, "Permissions to create an EC2 Instance
      // Connect Endpoint"): the endpoint's network interface in the subnet, its tags, and the
      // service-linked role the first time the account makes one.
      authorizeEc2(w, call, 'CreateNetworkInterface', `arn:aws:ec2:${region}:${ACCOUNT_ID}:subnet/${subnetId}`);
      if (Object.keys(tags).length) {
        authorizeEc2(w, call, 'CreateTags', `arn:aws:ec2:${region}:${ACCOUNT_ID}:instance-connect-endpoint/*`, { 'ec2:CreateAction': 'CreateInstanceConnectEndpoint' });
      }
      if (!w.serviceLinkedRoles.has(EICE_SERVICE)) {
        try {
          w.authorize(call.identity, { action: 'iam:CreateServiceLinkedRole', resource: EICE_SERVICE_ROLE, context: { 'iam:AWSServiceName': EICE_SERVICE } });
        } catch (err) {
          if (err instanceof ApiError) throw new ApiError('UnauthorizedOperation', `You are not authorized to perform this operation. ${err.message}`, 403);
          throw err;
        }
        w.serviceLinkedRoles.add(EICE_SERVICE);
      }
      const e = createEndpoint(w, { region, subnetId, securityGroupIds: sgIds, preserveClientIp: p.get('PreserveClientIp') === 'true', tags, state: 'create-in-progress' });
      if (token) tokens.set(token, { endpointId: e.id, params: fingerprint });
      afterEndpointDelay(w, () => {
        if (e.state === 'create-in-progress') e.state = 'create-complete';
      });
      return ok({ InstanceConnectEndpoint: endpointShape(e), ClientToken: p.get('ClientToken') ?? undefined });
    }
    case 'DeleteInstanceConnectEndpoint': {
      const id = required(p, 'InstanceConnectEndpointId');
      const e = w.endpoints.get(id);
      if (!e || e.region !== region || e.state === 'delete-complete') throw new ApiError('InvalidInstanceConnectEndpointId.NotFound', `The instanceConnectEndpoint ID '${id}' does not exist`);
      e.state = 'delete-in-progress';
      hooks.endpointDeleted(e);
      afterEndpointDelay(w, () => (e.state = 'delete-complete'));
      return ok({ InstanceConnectEndpoint: endpointShape(e) });
    }
    case 'GetConsoleOutput': {
      const i = instanceOrThrow(w, region, required(p, 'InstanceId'));
      return ok({ InstanceId: i.id, Timestamp: w.now(), Output: Buffer.from(consoleOutput(i)).toString('base64') });
    }
    case 'StartInstances':
    case 'StopInstances': {
      const ids = listParam(p, 'InstanceId');
      if (!ids.length) throw new ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
      const is = ids.map((id) => instanceOrThrow(w, region, id));
      const changes = [];
      for (const i of is) {
        const previous = i.state;
        await hooks.setInstanceState(i, action === 'StartInstances' ? 'running' : 'stopped');
        changes.push({ InstanceId: i.id, CurrentState: { Code: STATE_CODES[i.state], Name: i.state }, PreviousState: { Code: STATE_CODES[previous], Name: previous } });
      }
      return ok(action === 'StartInstances' ? { StartingInstances: changes } : { StoppingInstances: changes });
    }
  }
  throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
}

/** A new endpoint in `subnetId`, named and addressed as AWS names them. */
export function createEndpoint(
  w: World,
  spec: { id?: string; region: string; subnetId: string; securityGroupIds?: string[]; preserveClientIp?: boolean; tags?: Record<string, string>; state?: Endpoint['state'] },
): Endpoint {
  const subnet = w.subnet(spec.subnetId);
  if (!subnet) throw new Error(`No subnet ${spec.subnetId}`);
  const id = spec.id ?? newId('eice');
  const label = hex(8);
  const defaultSg = [...w.securityGroups.values()].find((g) => g.vpcId === subnet.vpcId && g.name === 'default');
  const e: Endpoint = {
    id,
    region: spec.region,
    vpcId: subnet.vpcId,
    subnetId: subnet.id,
    availabilityZone: subnet.availabilityZone,
    state: spec.state ?? 'create-complete',
    dnsName: `${id}.${label}.ec2-instance-connect-endpoint.${spec.region}.amazonaws.com`,
    fipsDnsName: `${id}.${label}.fips.ec2-instance-connect-endpoint.${spec.region}.amazonaws.com`,
    createdAt: w.now(),
    securityGroupIds: spec.securityGroupIds?.length ? spec.securityGroupIds : defaultSg ? [defaultSg.id] : [],
    preserveClientIp: spec.preserveClientIp ?? false,
    tags: spec.tags ?? {},
    networkInterfaceId: newId('eni'),
    privateIp: intToIp(ipToInt(subnet.cidr.split('/')[0]!) + subnet.nextHost++),
    tunnels: new Set(),
  };
  w.endpoints.set(id, e);
  return e;
}
