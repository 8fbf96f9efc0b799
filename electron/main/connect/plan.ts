import { KeylessFailure, fail } from '../base/errors';

export type ConnectionType = 'auto' | 'direct' | 'eice';

/** What Keyless knows about an instance from DescribeInstances (and DescribeImages for the AMI name). */
export interface InstanceFacts {
  instanceId: string;
  state: string;
  availabilityZone?: string;
  vpcId?: string;
  subnetId?: string;
  privateIpAddress?: string;
  publicIpAddress?: string;
  ipv6Address?: string;
  /** The AMI's name, e.g. `al2023-ami-2023.5…` or `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04…`. */
  imageName?: string;
  /** DescribeInstances `PlatformDetails`, e.g. `Linux/UNIX`, `Red Hat Enterprise Linux`, `Windows`. */
  platformDetails?: string;
  securityGroupIds?: string[];
}

/** An EC2 Instance Connect Endpoint as DescribeInstanceConnectEndpoints returns it. */
export interface EndpointFacts {
  endpointId: string;
  state: string;
  vpcId: string;
  subnetId?: string;
  dnsName: string;
  fipsDnsName?: string;
  securityGroupIds?: string[];
}

/** How one connection reaches the instance's sshd (or RDP for a port forward). */
export type ConnectionPlan =
  | { kind: 'direct'; address: string; port: number }
  | { kind: 'eice'; address: string; port: number; endpoint: EndpointFacts };

/** The endpoint states the AWS CLI will open a tunnel through. */
export const USABLE_ENDPOINT_STATES = ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'] as const;

/** Ports an Instance Connect Endpoint tunnels to (the service refuses any other). */
export const EICE_PORTS: readonly number[] = [22, 3389];

/** Refuses, before anything is tried, a port an endpoint would not tunnel. */
export function assertEicePort(port: number): void {
  if (!EICE_PORTS.includes(port)) {
    fail('PortNotAllowed', `EC2 Instance Connect Endpoints tunnel to ports 22 and 3389 only, not ${port}.`, { port });
  }
}

/**
 * The address to reach, by the AWS CLI's `--connection-type` rules (PROTOCOLS.md §3):
 * auto: public IPv4 → direct, else private IPv4 → EICE, else IPv6 → direct;
 * direct: public IPv4, then IPv6, then private IPv4; eice: private IPv4.
 */
export function chooseRoute(type: ConnectionType, i: InstanceFacts): { kind: 'direct' | 'eice'; address: string } {
  switch (type) {
    case 'auto':
      if (i.publicIpAddress) return { kind: 'direct', address: i.publicIpAddress };
      if (i.privateIpAddress) return { kind: 'eice', address: i.privateIpAddress };
      if (i.ipv6Address) return { kind: 'direct', address: i.ipv6Address };
      break;
    case 'direct': {
      const address = i.publicIpAddress ?? i.ipv6Address ?? i.privateIpAddress;
      if (address) return { kind: 'direct', address };
      break;
    }
    case 'eice':
      if (i.privateIpAddress) return { kind: 'eice', address: i.privateIpAddress };
      fail('NoEndpoint', `${i.instanceId} has no private IPv4 address, so an Instance Connect Endpoint cannot reach it.`, { instanceId: i.instanceId, cause: 'noPrivateIp' });
  }
  fail('InstanceNotRunning', `${i.instanceId} has no IP address to connect to (is it running?).`, { instanceId: i.instanceId, state: i.state });
}

/**
 * The endpoint for an instance: the pinned one if given (it must be usable and in the instance's
 * VPC), else a usable endpoint in the instance's VPC, preferring its subnet, else the first.
 */
export function chooseEndpoint(instance: InstanceFacts, endpoints: readonly EndpointFacts[], pinnedId?: string): EndpointFacts {
  const usable = (e: EndpointFacts) => (USABLE_ENDPOINT_STATES as readonly string[]).includes(e.state);
  if (pinnedId) {
    const e = endpoints.find((x) => x.endpointId === pinnedId);
    if (!e) fail('NoEndpoint', `The Instance Connect Endpoint ${pinnedId} was not found.`, { instanceId: instance.instanceId, endpointId: pinnedId, cause: 'notFound' });
    if (!usable(e)) fail('NoEndpoint', `The Instance Connect Endpoint ${pinnedId} is ${e.state}, not ready for tunnels.`, { instanceId: instance.instanceId, endpointId: pinnedId, state: e.state, cause: 'notReady' });
    if (instance.vpcId && e.vpcId !== instance.vpcId) {
      fail('NoEndpoint', `The Instance Connect Endpoint ${pinnedId} is in ${e.vpcId}, but ${instance.instanceId} is in ${instance.vpcId}.`, {
        instanceId: instance.instanceId,
        endpointId: pinnedId,
        vpcId: instance.vpcId,
        endpointVpcId: e.vpcId,
        cause: 'otherVpc',
      });
    }
    return e;
  }
  const inVpc = endpoints.filter((e) => usable(e) && e.vpcId === instance.vpcId);
  const chosen = inVpc.find((e) => e.subnetId === instance.subnetId) ?? inVpc[0];
  if (!chosen) {
    throw new KeylessFailure('NoEndpoint', `No EC2 Instance Connect Endpoint is ready in ${instance.vpcId ?? 'the VPC'} of ${instance.instanceId}. Create one in subnet ${instance.subnetId ?? '(the instance subnet)'} (CreateInstanceConnectEndpoint) and allow port 22 from its security group to the instance.`, false, {
      instanceId: instance.instanceId,
      vpcId: instance.vpcId ?? null,
      subnetId: instance.subnetId ?? null,
      // The renderer offers to create one (endpoint.propose / endpoint.create).
      canCreate: !!instance.vpcId && !!instance.subnetId,
      cause: 'noneReady',
    });
  }
  return chosen;
}

/**
 * The whole plan: refuses a stopped instance and a port EICE would not carry before anything is
 * tried. Behind a jump host (`throughJump`) the instance is dialled at its private address from
 * the jump host, as a bastion reaches it, whatever its connection type says.
 */
export function planConnection(
  instance: InstanceFacts,
  endpoints: readonly EndpointFacts[],
  opts: { connectionType: ConnectionType; port: number; endpointId?: string; throughJump?: boolean },
): ConnectionPlan {
  if (instance.state !== 'running') {
    fail('InstanceNotRunning', `${instance.instanceId} is ${instance.state}; start it first.`, { instanceId: instance.instanceId, state: instance.state });
  }
  if (opts.throughJump) {
    const address = instance.privateIpAddress ?? instance.ipv6Address ?? instance.publicIpAddress;
    if (!address) fail('InstanceNotRunning', `${instance.instanceId} has no IP address to connect to (is it running?).`, { instanceId: instance.instanceId, state: instance.state });
    return { kind: 'direct', address, port: opts.port };
  }
  // A pinned endpoint means the person wants the tunnel whatever the instance's addresses say.
  const type: ConnectionType = opts.endpointId && opts.connectionType === 'auto' ? 'eice' : opts.connectionType;
  if (type === 'eice') assertEicePort(opts.port);
  const route = chooseRoute(type, instance);
  if (route.kind === 'direct') return { kind: 'direct', address: route.address, port: opts.port };
  assertEicePort(opts.port);
  return { kind: 'eice', address: route.address, port: opts.port, endpoint: chooseEndpoint(instance, endpoints, opts.endpointId) };
}

const OS_USERS: Array<[RegExp, string]> = [
  // Bitnami first: its AMI names also name the distribution underneath (bitnami-…-debian-12).
  [/bitnami/i, 'bitnami'],
  [/ubuntu/i, 'ubuntu'],
  [/debian/i, 'admin'],
  [/fedora/i, 'fedora'],
  [/centos/i, 'centos'],
  [/\brhel\b|red ?hat/i, 'ec2-user'],
  [/suse|sles/i, 'ec2-user'],
  [/amzn|amazon|al20\d\d/i, 'ec2-user'],
];

/** The AMI's usual login user (AWS's "default user names" list); always editable by the person. */
export function defaultOsUser(imageName?: string, platformDetails?: string): string {
  for (const text of [imageName, platformDetails]) {
    if (!text) continue;
    for (const [pattern, user] of OS_USERS) if (pattern.test(text)) return user;
  }
  return 'ec2-user';
}
