import type { Ec2InstanceConnectEndpoint as InstanceConnectEndpoint, Instance, Subnet, Tag, Vpc } from '@aws-sdk/client-ec2';
import { osUserSchema, tagRecord, type InventoryEndpoint, type InventoryInstance, type InventoryNetwork, type Reach } from '../../contract';
import { USABLE_ENDPOINT_STATES, defaultOsUser } from '../connect/plan';
import type { ReadPlan } from './ec2-xml';

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return tagRecord((tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? ''] as const] : [])));
}

export function endpointRecord(profile: string, region: string, e: InstanceConnectEndpoint): InventoryEndpoint | undefined {
  if (!e.InstanceConnectEndpointId || !e.VpcId) return undefined;
  return {
    profile,
    region,
    id: e.InstanceConnectEndpointId,
    vpcId: e.VpcId,
    subnetId: e.SubnetId ?? '',
    state: e.State ?? '',
    dnsName: e.DnsName ?? '',
    fipsDnsName: e.FipsDnsName ?? null,
  };
}

export function vpcRecord(profile: string, region: string, v: Vpc): InventoryNetwork | undefined {
  if (!v.VpcId) return undefined;
  return { profile, region, id: v.VpcId, vpcId: null, cidr: v.CidrBlock ?? '', name: tagMap(v.Tags).Name ?? '', az: null };
}

export function subnetRecord(profile: string, region: string, s: Subnet): InventoryNetwork | undefined {
  if (!s.SubnetId) return undefined;
  return { profile, region, id: s.SubnetId, vpcId: s.VpcId ?? null, cidr: s.CidrBlock ?? '', name: tagMap(s.Tags).Name ?? '', az: s.AvailabilityZone ?? null };
}

/**
 * The DescribeInstances elements `instanceRecord` and the refresh read (XML names), at any depth
 * below the kept ones: everything else in a page (network interfaces, block devices, metadata
 * options, …, most of its bytes) is skipped unread. Keep in step with `instanceRecord` and the
 * connect planner's `instanceFacts` (its IPv6 address is the instance's primary one).
 */
export const INSTANCE_RECORD_XML: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [
    'DescribeInstancesResponse',
    new Set([
      'requestId', 'nextToken', 'reservationSet', 'item', 'ownerId', 'instancesSet',
      'instanceId', 'imageId', 'instanceState', 'name', 'instanceType', 'placement', 'availabilityZone',
      'vpcId', 'subnetId', 'privateIpAddress', 'ipAddress', 'ipv6Address', 'platform', 'platformDetails', 'launchTime',
      'tagSet', 'key', 'value',
    ]),
  ],
]);

/**
 * The same, by the SDK's member names: DescribeInstances pages (and the small answers the
 * refresh reads beside them) are read straight into these output members in one pass
 * (`fastEc2Protocol`), the rest skipped unread. Keep in step with the records below.
 */
export const INSTANCE_RECORD_PLAN: ReadonlyMap<string, ReadPlan> = new Map<string, ReadPlan>([
  [
    'DescribeInstancesResponse',
    {
      Reservations: {
        OwnerId: true,
        Instances: {
          InstanceId: true, ImageId: true, State: { Name: true }, InstanceType: true, Placement: { AvailabilityZone: true },
          VpcId: true, SubnetId: true, PrivateIpAddress: true, PublicIpAddress: true, Ipv6Address: true, Platform: true, PlatformDetails: true, LaunchTime: true,
          Tags: { Key: true, Value: true },
        },
      },
      NextToken: true,
    },
  ],
  // What endpointRecord, vpcRecord, subnetRecord, the connect planner's facts and the refresh read of the other answers.
  [
    'DescribeInstanceConnectEndpointsResponse',
    {
      InstanceConnectEndpoints: { InstanceConnectEndpointId: true, VpcId: true, SubnetId: true, State: true, DnsName: true, FipsDnsName: true, SecurityGroupIds: true },
      NextToken: true,
    },
  ],
  ['DescribeVpcsResponse', { Vpcs: { OwnerId: true, VpcId: true, CidrBlock: true, Tags: { Key: true, Value: true } }, NextToken: true }],
  ['DescribeSubnetsResponse', { Subnets: { SubnetId: true, VpcId: true, CidrBlock: true, AvailabilityZone: true, Tags: { Key: true, Value: true } }, NextToken: true }],
]);

/** The endpoint the connect planner would pick (usable, same VPC, same subnet first), as `chooseEndpoint` does. */
function endpointFor(i: Instance, endpoints: readonly InventoryEndpoint[]): InventoryEndpoint | undefined {
  const usable = endpoints.filter((e) => e.vpcId === i.VpcId && (USABLE_ENDPOINT_STATES as readonly string[]).includes(e.state));
  return usable.find((e) => e.subnetId === i.SubnetId) ?? usable[0];
}

/**
 * One row of the inventory. Reachability follows the CLI's `auto` connection type: a public
 * IPv4 address is reached directly, a private one through an Instance Connect Endpoint of its VPC.
 * The OS user is a hint: a `keyless:os-user` tag, else the AMI's name, else the platform.
 */
export function instanceRecord(
  profile: string,
  account: string,
  region: string,
  i: Instance,
  endpoints: readonly InventoryEndpoint[],
  /** The AMI's name from DescribeImages, when it could be read. */
  imageName?: string,
): InventoryInstance | undefined {
  if (!i.InstanceId) return undefined;
  const tags = tagMap(i.Tags);
  const endpoint = i.PrivateIpAddress ? endpointFor(i, endpoints) : undefined;
  const reach: Reach = i.PublicIpAddress ? 'public' : endpoint ? 'endpoint' : 'none';
  const platform = i.PlatformDetails ?? (i.Platform ? 'Windows' : 'Linux/UNIX');
  const imageHint = imageName ?? tags['ami-name'] ?? tags.os ?? tags.OS;
  return {
    profile,
    account,
    region,
    id: i.InstanceId,
    name: tags.Name ?? '',
    state: i.State?.Name ?? 'unknown',
    type: i.InstanceType ?? '',
    az: i.Placement?.AvailabilityZone ?? '',
    vpcId: i.VpcId ?? '',
    subnetId: i.SubnetId ?? '',
    privateIp: i.PrivateIpAddress ?? '',
    publicIp: i.PublicIpAddress ?? '',
    imageId: i.ImageId ?? '',
    imageName: imageName ?? '',
    platform,
    // The tag is anyone's with ec2:CreateTags: a value that is not a user name is not used (it would reach
    // SendSSHPublicKey, ssh's command line and the Host blocks).
    defaultUser: osUserTag(tags['keyless:os-user']) ?? (/windows/i.test(platform) ? 'Administrator' : defaultOsUser(imageHint, platform)),
    reach,
    endpointId: endpoint?.id ?? null,
    launchedAt: i.LaunchTime ? i.LaunchTime.getTime() : null,
    tags,
  };
}

/** The `keyless:os-user` tag's value when it is a user name (as a saved host's OS user must be). */
export const osUserTag = (value: string | undefined): string | undefined => (value !== undefined && osUserSchema.safeParse(value).success ? value : undefined);
