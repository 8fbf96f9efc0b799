import type { InventorySnapshot } from '../../../electron/contract';
import { PROFILES, REGIONS, TOTAL } from './inventory-fleet';

/** A 10,000-instance inventory snapshot as the cache holds it, without simulators (the browser halves of the benchmarks). */
export function syntheticSnapshot(): InventorySnapshot {
  const instances = Array.from({ length: TOTAL }, (_, n) => ({
    profile: `account-${n % PROFILES}`, account: String(100000000000 + (n % PROFILES)), region: REGIONS[n % REGIONS.length]!, id: `i-0${n.toString(16).padStart(16, '0')}`,
    name: `a${n % PROFILES}-node-${n}`, state: n % 11 ? 'running' : 'stopped', type: 't3.micro', az: `${REGIONS[n % REGIONS.length]!}a`, vpcId: 'vpc-01', subnetId: 'subnet-01',
    privateIp: `10.0.${(n >> 8) & 255}.${n & 255}`, publicIp: n % 3 ? '' : `54.1.${(n >> 8) & 255}.${n & 255}`, imageId: 'ami-01', imageName: 'al2023-ami', platform: 'Linux/UNIX',
    defaultUser: 'ec2-user', reach: n % 3 ? ('endpoint' as const) : ('public' as const), endpointId: null, launchedAt: null,
    tags: { Name: `a${n % PROFILES}-node-${n}`, env: ['prod', 'staging', 'dev'][n % 3]!, team: `team-${n % 7}` },
  }));
  return { fetchedAt: Date.now(), scopes: [], instances, endpoints: [], vpcs: [], subnets: [] };
}
