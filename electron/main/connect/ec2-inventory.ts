import type { Ec2InstanceConnectEndpoint, Instance } from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { KeylessFailure } from '../base/errors';
import { USABLE_ENDPOINT_STATES, type EndpointFacts, type InstanceFacts } from './plan';
import type { AwsClients } from '../aws/clients';
import { describeAwsError, partitionOf } from '../aws/errors';
import { sdk } from '../aws/sdk';

const TTL_MS = 10 * 60_000;
/** How long asks for instances wait to go as one DescribeInstances call, and at most how many go in one. */
const BATCH_WINDOW_MS = 3;
const MAX_BATCH = 200;

type Waiter = { resolve(facts: InstanceFacts): void; reject(err: unknown): void };
/** Instance ids asked for in one profile and region, each with who waits for it. */
type Batch = Map<string, Waiter[]> & { flushed?: boolean };

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/**
 * What Keyless knows about instances and endpoints, from DescribeInstances and
 * DescribeInstanceConnectEndpoints, cached so a repeat connection makes no Describe call.
 */
export class Ec2Inventory {
  private readonly instances = new Map<string, Entry<InstanceFacts>>();
  private readonly endpointsByVpc = new Map<string, Entry<EndpointFacts[]>>();
  private readonly images = new Map<string, Promise<string | undefined>>();
  private readonly consoleKeys = new Map<string, string[]>();
  /** Instance asks gathering for one DescribeInstances call, by profile and region. */
  private readonly batches = new Map<string, Batch>();
  /** Describe calls made, for tests and the benchmark. */
  describeCalls = 0;

  constructor(private readonly clients: AwsClients) {}

  private cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const value = load();
    map.set(key, { at: Date.now(), value });
    value.catch(() => {
      if (map.get(key)?.value === value) map.delete(key);
    });
    return value;
  }

  /** Drops what is known about an instance (after a connection failed in a way stale data explains). */
  forget(profile: string | undefined, region: string, instanceId: string): void {
    this.instances.delete(`${profile ?? ''}\n${region}\n${instanceId}`);
  }

  /** Drops the cached endpoints of a VPC (after one was created there). */
  forgetEndpoints(profile: string | undefined, region: string, vpcId: string): void {
    this.endpointsByVpc.delete(`${profile ?? ''}\n${region}\n${vpcId}`);
  }

  /**
   * What a fleet inventory refresh read of one profile × region, read at `at`: every instance, and
   * (when the endpoints could be listed) each VPC's usable endpoints, a VPC without one included.
   * A connection right after the refresh then makes no Describe call. Newer entries are kept.
   */
  seed(profile: string, region: string, read: { at: number; instances: InstanceFacts[]; endpoints?: EndpointFacts[] }): void {
    const put = <T>(map: Map<string, Entry<T>>, key: string, value: T) => {
      const hit = map.get(key);
      if (!hit || hit.at <= read.at) map.set(key, { at: read.at, value: Promise.resolve(value) });
    };
    for (const i of read.instances) put(this.instances, `${profile}\n${region}\n${i.instanceId}`, i);
    if (!read.endpoints) return;
    const byVpc = new Map<string, EndpointFacts[]>();
    for (const i of read.instances) if (i.vpcId) byVpc.set(i.vpcId, []);
    for (const e of read.endpoints) {
      if (!(USABLE_ENDPOINT_STATES as readonly string[]).includes(e.state)) continue;
      byVpc.set(e.vpcId, [...(byVpc.get(e.vpcId) ?? []), e]);
    }
    for (const [vpcId, list] of byVpc) put(this.endpointsByVpc, `${profile}\n${region}\n${vpcId}`, list);
  }

  instance(profile: string | undefined, region: string, instanceId: string): Promise<InstanceFacts> {
    return this.cached(this.instances, `${profile ?? ''}\n${region}\n${instanceId}`, () => this.described(profile, region, instanceId));
  }

  /**
   * One instance from DescribeInstances. Asks made within BATCH_WINDOW_MS for one profile and
   * region go as one call (a fleet run's hundred hosts are planned with one or two calls, not a
   * hundred, and AWS throttles less); if AWS refuses the batch because one id is unknown or
   * malformed (it answers for all of them at once), each id is asked alone so only that host fails.
   */
  private described(profile: string | undefined, region: string, instanceId: string): Promise<InstanceFacts> {
    const scope = `${profile ?? ''}\n${region}`;
    let batch = this.batches.get(scope);
    if (!batch) {
      const fresh: Batch = new Map();
      batch = fresh;
      this.batches.set(scope, fresh);
      setTimeout(() => this.flushNow(profile, region, scope, fresh), BATCH_WINDOW_MS);
    }
    const waiting = batch.get(instanceId) ?? [];
    batch.set(instanceId, waiting);
    const answer = new Promise<InstanceFacts>((resolve, reject) => waiting.push({ resolve, reject }));
    if (batch.size >= MAX_BATCH) this.flushNow(profile, region, scope, batch);
    return answer;
  }

  private flushNow(profile: string | undefined, region: string, scope: string, batch: Batch): void {
    if (this.batches.get(scope) === batch) this.batches.delete(scope);
    void this.describeBatch(profile, region, batch);
  }

  private async describeBatch(profile: string | undefined, region: string, batch: Batch): Promise<void> {
    if (batch.flushed) return;
    batch.flushed = true;
    const ids = [...batch.keys()];
    const settle = (id: string, result: { facts: InstanceFacts } | { err: unknown }) => {
      for (const w of batch.get(id) ?? []) {
        if ('facts' in result) w.resolve(result.facts);
        else w.reject(result.err);
      }
    };
    try {
      const found = await this.describeInstances(profile, region, ids);
      await Promise.all(
        ids.map(async (id) => {
          const i = found.get(id);
          if (!i) settle(id, { err: new KeylessFailure('InstanceNotFound', `The instance ${id} was not found in ${region}.`, false, { instanceId: id, region }) });
          else await this.factsOf(profile, region, i).then((facts) => settle(id, { facts }), (err: unknown) => settle(id, { err }));
        }),
      );
    } catch (err) {
      if (ids.length > 1 && err instanceof KeylessFailure && err.code === 'InstanceNotFound') {
        // One bad id fails the whole call: ask each alone.
        await Promise.all(ids.map((id) => this.describeBatch(profile, region, new Map([[id, batch.get(id)!]]))));
        return;
      }
      for (const id of ids) settle(id, { err });
    }
  }

  /** DescribeInstances for these ids, by id; an unknown or malformed id fails the call as InstanceNotFound. */
  private async describeInstances(profile: string | undefined, region: string, ids: string[]): Promise<Map<string, Instance>> {
    this.describeCalls++;
    let out;
    try {
      const [ec2, { DescribeInstancesCommand }] = await Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()]);
      out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    } catch (err) {
      if ((err as { name?: string }).name?.startsWith('InvalidInstanceID')) {
        const instanceId = ids.length === 1 ? ids[0]! : ids.join(', ');
        throw new KeylessFailure('InstanceNotFound', `The instance ${instanceId} was not found in ${region}. Check the region and that it was not terminated.`, false, {
          instanceId,
          region,
        });
      }
      throw describeAwsError(err, { action: 'ec2:DescribeInstances', region, profile, resource: '*' });
    }
    const byId = new Map<string, Instance>();
    for (const i of out.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) if (i.InstanceId) byId.set(i.InstanceId, i);
    return byId;
  }

  private async factsOf(profile: string | undefined, region: string, i: Instance): Promise<InstanceFacts> {
    return instanceFacts(i, i.ImageId ? await this.imageName(profile, region, i.ImageId) : undefined);
  }

  /** The AMI's name for the default OS user; a denial of DescribeImages just leaves it unknown. */
  private imageName(profile: string | undefined, region: string, imageId: string): Promise<string | undefined> {
    const key = `${profile ?? ''}\n${region}\n${imageId}`;
    let p = this.images.get(key);
    if (!p) {
      p = Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()])
        .then(([c, { DescribeImagesCommand }]) => c.send(new DescribeImagesCommand({ ImageIds: [imageId] })))
        .then((o) => o.Images?.[0]?.Name, () => undefined);
      this.images.set(key, p);
    }
    return p;
  }

  /** The usable endpoints of a VPC (the AWS CLI's filters), every page. */
  endpoints(profile: string | undefined, region: string, vpcId: string): Promise<EndpointFacts[]> {
    return this.cached(this.endpointsByVpc, `${profile ?? ''}\n${region}\n${vpcId}`, async () => {
      this.describeCalls++;
      const out: EndpointFacts[] = [];
      try {
        const [client, { paginateDescribeInstanceConnectEndpoints }] = await Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()]);
        const pages = paginateDescribeInstanceConnectEndpoints(
          { client },
          {
            Filters: [
              { Name: 'state', Values: ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'] },
              { Name: 'vpc-id', Values: [vpcId] },
            ],
          },
        );
        for await (const page of pages) {
          for (const e of page.InstanceConnectEndpoints ?? []) {
            const facts = endpointFacts({ ...e, VpcId: e.VpcId ?? vpcId });
            if (facts) out.push(facts);
          }
        }
      } catch (err) {
        throw describeAwsError(err, {
          action: 'ec2:DescribeInstanceConnectEndpoints',
          region,
          profile,
          resource: `arn:${partitionOf(region)}:ec2:${region}:*:instance-connect-endpoint/*`,
        });
      }
      return out;
    });
  }

  /** One endpoint by id (for a pinned endpoint whose VPC is not known yet). */
  async endpointById(profile: string | undefined, region: string, endpointId: string): Promise<EndpointFacts[]> {
    const out = await Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()])
      .then(([c, { DescribeInstanceConnectEndpointsCommand }]) => c.send(new DescribeInstanceConnectEndpointsCommand({ InstanceConnectEndpointIds: [endpointId] })))
      .catch((err: unknown) => {
        throw describeAwsError(err, { action: 'ec2:DescribeInstanceConnectEndpoints', region, profile });
      });
    return (out.InstanceConnectEndpoints ?? []).map((e) => ({
      endpointId: e.InstanceConnectEndpointId ?? endpointId,
      state: e.State ?? 'unknown',
      vpcId: e.VpcId ?? '',
      ...(e.SubnetId ? { subnetId: e.SubnetId } : {}),
      dnsName: e.DnsName ?? '',
      securityGroupIds: e.SecurityGroupIds ?? [],
    }));
  }

  /** The host keys (type and base64 blob) the instance printed to its console's `SSH HOST KEY KEYS` block; empty when none or not allowed. */
  async consoleHostKeys(profile: string | undefined, region: string, instanceId: string): Promise<Array<{ keyType: string; blob: string }>> {
    try {
      const [ec2, { GetConsoleOutputCommand }] = await Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()]);
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
      return parseConsoleHostKeyLines(out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : '');
    } catch {
      return [];
    }
  }

  /**
   * The SHA256 host key fingerprints the instance printed to its console at boot (empty when the
   * console has none or GetConsoleOutput is not allowed). Only a non-empty answer is cached.
   */
  async consoleHostKeyFingerprints(profile: string | undefined, region: string, instanceId: string): Promise<string[]> {
    const key = `${profile ?? ''}\n${region}\n${instanceId}`;
    const hit = this.consoleKeys.get(key);
    if (hit) return hit;
    let text: string;
    try {
      const [ec2, { GetConsoleOutputCommand }] = await Promise.all([this.clients.ec2Client(profile, region), sdk.ec2()]);
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
      text = out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : '';
    } catch {
      return [];
    }
    const fps = parseConsoleHostKeys(text);
    if (fps.length) this.consoleKeys.set(key, fps);
    return fps;
  }
}

/** What the connect planner needs of a DescribeInstances instance. */
export function instanceFacts(i: Instance, imageName?: string): InstanceFacts {
  const ipv6 = i.Ipv6Address ?? i.NetworkInterfaces?.flatMap((n) => n.Ipv6Addresses ?? []).find((a) => a.Ipv6Address)?.Ipv6Address;
  return {
    instanceId: i.InstanceId ?? '',
    state: i.State?.Name ?? 'unknown',
    ...(i.Placement?.AvailabilityZone ? { availabilityZone: i.Placement.AvailabilityZone } : {}),
    ...(i.VpcId ? { vpcId: i.VpcId } : {}),
    ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
    ...(i.PrivateIpAddress ? { privateIpAddress: i.PrivateIpAddress } : {}),
    ...(i.PublicIpAddress ? { publicIpAddress: i.PublicIpAddress } : {}),
    ...(ipv6 ? { ipv6Address: ipv6 } : {}),
    ...(imageName ? { imageName } : {}),
    ...(i.PlatformDetails ? { platformDetails: i.PlatformDetails } : {}),
    ...(i.SecurityGroups ? { securityGroupIds: i.SecurityGroups.map((g) => g.GroupId ?? '').filter(Boolean) } : {}),
  };
}

/** What the connect planner needs of a DescribeInstanceConnectEndpoints endpoint (none without an id, VPC or DNS name). */
export function endpointFacts(e: Ec2InstanceConnectEndpoint): EndpointFacts | undefined {
  if (!e.InstanceConnectEndpointId || !e.VpcId || !e.DnsName) return undefined;
  return {
    endpointId: e.InstanceConnectEndpointId,
    state: e.State ?? 'unknown',
    vpcId: e.VpcId,
    ...(e.SubnetId ? { subnetId: e.SubnetId } : {}),
    dnsName: e.DnsName,
    ...(e.FipsDnsName ? { fipsDnsName: e.FipsDnsName } : {}),
    securityGroupIds: e.SecurityGroupIds ?? [],
  };
}

/**
 * The host key fingerprints in a console log: the `SSH HOST KEY FINGERPRINTS` block cloud-init
 * prints (lines like `256 SHA256:… root@ip (ED25519)`) and the fingerprints of the keys in the
 * `SSH HOST KEY KEYS` block. Only the last boot's blocks count.
 */
/** The last boot's `-----BEGIN SSH HOST KEY <name>-----` block of a console log, found without a pattern over the whole text. */
function consoleBlock(console: string, name: string): string {
  const begin = `-----BEGIN SSH HOST KEY ${name}-----`;
  const end = `-----END SSH HOST KEY ${name}-----`;
  let last: string | undefined;
  for (let at = console.indexOf(begin); at >= 0; ) {
    const stop = console.indexOf(end, at + begin.length);
    if (stop < 0) break;
    last = console.slice(at + begin.length, stop);
    at = console.indexOf(begin, stop + end.length);
  }
  return last ?? '';
}

const CONSOLE_KEY_LINE = /^[ \t\r]*(?:\S+:[ \t]+)?(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+)[ \t]+([A-Za-z0-9+/=]+)/;

/** The keys of the console's `SSH HOST KEY KEYS` block, one a line, read a line at a time. */
export function parseConsoleHostKeyLines(console: string): Array<{ keyType: string; blob: string }> {
  const out: Array<{ keyType: string; blob: string }> = [];
  for (const line of consoleBlock(console, 'KEYS').split('\n')) {
    const m = CONSOLE_KEY_LINE.exec(line);
    if (m && Buffer.from(m[2]!, 'base64').length > 0) out.push({ keyType: m[1]!, blob: m[2]! });
  }
  return out;
}

export function parseConsoleHostKeys(console: string): string[] {
  // The instance writes its console: blocks are found with indexOf and keys read a line at a
  // time, so no pattern can span the text and backtrack over it (a `^\s*` across 64 KB of blank
  // lines took seconds, with main waiting).
  const out = new Set<string>();
  for (const m of consoleBlock(console, 'FINGERPRINTS').matchAll(/SHA256:([A-Za-z0-9+/]{43})/g)) out.add(`SHA256:${m[1]}`);
  for (const k of parseConsoleHostKeyLines(console)) out.add('SHA256:' + createHash('sha256').update(Buffer.from(k.blob, 'base64')).digest('base64').replace(/=+$/, ''));
  return [...out];
}
