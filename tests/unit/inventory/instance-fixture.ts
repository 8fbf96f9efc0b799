import type { InventoryInstance } from '../../../electron/contract';

/** An inventory instance with every field filled; tests override what they are about. */
export function inst(over: Partial<InventoryInstance> & { id: string }): InventoryInstance {
  return {
    profile: 'dev',
    account: '123456789012',
    region: 'eu-west-1',
    name: '',
    state: 'running',
    type: 't3.micro',
    az: 'eu-west-1a',
    vpcId: 'vpc-1',
    subnetId: 'subnet-1',
    privateIp: '10.0.0.1',
    publicIp: '',
    imageId: 'ami-1',
    imageName: '',
    platform: 'Linux/UNIX',
    defaultUser: 'ec2-user',
    reach: 'endpoint',
    endpointId: 'eice-1',
    launchedAt: null,
    tags: {},
    ...over,
  };
}
