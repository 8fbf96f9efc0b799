import { describe, expect, it } from 'vitest';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { proposeEndpointPlacement } from '../../../electron/main/connect/endpoint-offer';

const base = { instanceId: 'i-0123456789abcdef0', vpcId: 'vpc-0aaa', subnetId: 'subnet-0bbb', privateIpAddress: '10.0.2.20' };
const DEFAULT = 'sg-0default00000000';
const APP = 'sg-0app0000000000000';

function failure(fn: () => unknown): KeylessFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof KeylessFailure) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('where a new Instance Connect Endpoint goes', () => {
  it("always the instance's own subnet and VPC", () => {
    const p = proposeEndpointPlacement({ ...base, securityGroupIds: [APP] }, DEFAULT);
    expect(p).toMatchObject({ vpcId: 'vpc-0aaa', subnetId: 'subnet-0bbb' });
  });

  it("the VPC's default group when the instance is in it (its members reach each other), even when it is not the instance's first", () => {
    expect(proposeEndpointPlacement({ ...base, securityGroupIds: [APP, DEFAULT] }, DEFAULT)).toMatchObject({ securityGroupId: DEFAULT, securityGroupReason: 'instanceInDefault' });
  });

  it("the instance's first group when it is not in the default group, or when the default group is not known", () => {
    expect(proposeEndpointPlacement({ ...base, securityGroupIds: [APP, 'sg-0other000000000'] }, DEFAULT)).toMatchObject({ securityGroupId: APP, securityGroupReason: 'instanceGroup' });
    expect(proposeEndpointPlacement({ ...base, securityGroupIds: [APP] }, undefined)).toMatchObject({ securityGroupId: APP, securityGroupReason: 'instanceGroup' });
  });

  it("the VPC's default group when the instance's groups are unknown", () => {
    expect(proposeEndpointPlacement({ ...base, securityGroupIds: [] }, DEFAULT)).toMatchObject({ securityGroupId: DEFAULT, securityGroupReason: 'vpcDefault' });
    expect(proposeEndpointPlacement(base, DEFAULT)).toMatchObject({ securityGroupId: DEFAULT, securityGroupReason: 'vpcDefault' });
  });

  it('refuses, saying why, when no endpoint could help: no VPC, no private address, no group at all', () => {
    expect(failure(() => proposeEndpointPlacement({ ...base, vpcId: undefined }, DEFAULT)).message).toMatch(/not in a VPC/);
    expect(failure(() => proposeEndpointPlacement({ ...base, privateIpAddress: undefined }, DEFAULT)).message).toMatch(/no private IPv4 address/);
    const none = failure(() => proposeEndpointPlacement({ ...base, securityGroupIds: [] }, undefined));
    expect(none.code).toBe('NoEndpoint');
    expect(none.message).toMatch(/No security group is known for i-0123456789abcdef0 or its VPC vpc-0aaa/);
  });
});
