/**
 * The inventory benchmark's world: 10 accounts (one simulator each) × 17 regions, 10,000
 * instances, the first account holding the heaviest region (2,500 instances: three pages of
 * DescribeInstances at MaxResults 1000).
 */
import type { InstanceSpec, VpcSpec } from '../../sim/index';

export const REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1',
  'eu-north-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1', 'sa-east-1',
];
export const PROFILES = 10;
export const TOTAL = 10_000;
/** The heaviest scope: three pages of DescribeInstances at MaxResults 1000. */
export const HEAVY = 2_500;

export function fleetFor(account: number, count: number, heavy: number) {
  const vpcs: VpcSpec[] = REGIONS.map((r, k) => ({
    id: `vpc-0${(account * 100 + k).toString(16).padStart(16, '0')}`,
    region: r,
    cidr: '10.0.0.0/16',
    subnets: [{ id: `subnet-0${(account * 100 + k).toString(16).padStart(16, '0')}`, availabilityZone: `${r}a`, cidr: '10.0.0.0/18' }],
  }));
  const instances: InstanceSpec[] = [];
  for (let n = 0; n < count; n++) {
    const k = n < heavy ? 0 : 1 + ((n - heavy) % (REGIONS.length - 1));
    instances.push({
      region: REGIONS[k]!,
      subnetId: vpcs[k]!.subnets[0]!.id,
      ...(n % 3 ? {} : { publicIp: `54.${account}.${(n >> 8) & 255}.${n & 255}` }),
      tags: { Name: `a${account}-node-${n}`, env: ['prod', 'staging', 'dev'][n % 3]!, team: `team-${n % 7}` },
    });
  }
  return { vpcs, instances, endpoints: [{ region: REGIONS[0]!, subnetId: vpcs[0]!.subnets[0]!.id, state: 'create-complete' as const }] };
}

/** How many instances account `a` holds: the first holds the heavy region plus 200 more, the rest share what is left. */
export function countFor(a: number): number {
  const rest = TOTAL - HEAVY - 200;
  return a === 0 ? HEAVY + 200 : Math.floor(rest / (PROFILES - 1)) + (a <= rest % (PROFILES - 1) ? 1 : 0);
}
