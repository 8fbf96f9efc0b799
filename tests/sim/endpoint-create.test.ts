// CreateInstanceConnectEndpoint as the AWS CLI drives it against the simulator: the subnet and
// security groups it is given, PreserveClientIp, ClientToken idempotency, the state moving from
// create-in-progress to create-complete, and IAM refusing a principal without the action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, startSimulator, type FleetSpec, type Simulator } from './index';
import { aws, awsEnv } from './support';

const VPC = 'vpc-0eee0000000000001';
const A = 'subnet-0eee0000000000001';
const OTHER_VPC = 'vpc-0eee0000000000002';
const READER = { accessKeyId: 'AKIASIMEICEREADER001', secretAccessKey: 'eice/reader/secret/key/00000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/reader` };

function fleet(): FleetSpec {
  return {
    vpcs: [
      { id: VPC, region: 'us-east-1', cidr: '10.7.0.0/16', subnets: [{ id: A, availabilityZone: 'us-east-1a', cidr: '10.7.1.0/24' }] },
      { id: OTHER_VPC, region: 'us-east-1', cidr: '10.8.0.0/16', subnets: [{ id: 'subnet-0eee0000000000002', availabilityZone: 'us-east-1a', cidr: '10.8.1.0/24' }] },
    ],
    instances: [{ id: 'i-0eee0000000000001', region: 'us-east-1', subnetId: A }],
    principals: [{ ...READER, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] }] }],
  };
}

describe('CreateInstanceConnectEndpoint through the AWS CLI', () => {
  let sim: Simulator;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => aws(sim.endpoint, env, args);
  const defaultGroup = async (vpc: string): Promise<string> =>
    (await cli('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${vpc}`, 'Name=group-name,Values=default')).json.SecurityGroups[0].GroupId;

  beforeAll(async () => {
    sim = await startSimulator({ fleet: fleet(), endpointCreateDelayMs: 'held', noSshd: true });
    env = awsEnv(sim.principals[0]!);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('creates with the given group and PreserveClientIp, is create-in-progress, then create-complete; the same ClientToken gives the same endpoint', async () => {
    const sg = await defaultGroup(VPC);
    expect(sg).toMatch(/^sg-0[0-9a-f]+$/);
    const args = ['ec2', 'create-instance-connect-endpoint', '--subnet-id', A, '--security-group-ids', sg, '--preserve-client-ip', '--client-token', 'keyless-test-token-1'];
    const created = await cli(...args);
    expect(created.code, created.stderr).toBe(0);
    const e = created.json.InstanceConnectEndpoint;
    expect(e).toMatchObject({ State: 'create-in-progress', VpcId: VPC, SubnetId: A, SecurityGroupIds: [sg], PreserveClientIp: true });
    expect(created.json.ClientToken).toBe('keyless-test-token-1');

    const again = await cli(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.InstanceConnectEndpoint.InstanceConnectEndpointId).toBe(e.InstanceConnectEndpointId);
    const listed = await cli('ec2', 'describe-instance-connect-endpoints', '--filters', `Name=vpc-id,Values=${VPC}`);
    expect(listed.json.InstanceConnectEndpoints).toHaveLength(1);
    expect(listed.json.InstanceConnectEndpoints[0].State).toBe('create-in-progress');

    const mismatch = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', A, '--client-token', 'keyless-test-token-1');
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr).toMatch(/IdempotentParameterMismatch/);

    // The endpoint stays create-in-progress until the test lets it finish, however slowly the CLI
    // starts on a busy machine; then wait for create-complete as `aws ec2 wait` would.
    sim.admin.finishEndpointChanges();
    let later;
    for (let i = 0; i < 20; i++) {
      later = await cli('ec2', 'describe-instance-connect-endpoints', '--instance-connect-endpoint-ids', e.InstanceConnectEndpointId);
      if (later.json.InstanceConnectEndpoints[0].State !== 'create-in-progress') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(later!.json.InstanceConnectEndpoints[0]).toMatchObject({ State: 'create-complete', SecurityGroupIds: [sg] });

    const deleted = await cli('ec2', 'delete-instance-connect-endpoint', '--instance-connect-endpoint-id', e.InstanceConnectEndpointId);
    expect(deleted.json.InstanceConnectEndpoint.State).toBe('delete-in-progress');
  });

  it('without a group the VPC default is used; a group of another VPC is refused', async () => {
    const created = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', A);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.InstanceConnectEndpoint.SecurityGroupIds).toEqual([await defaultGroup(VPC)]);
    expect(created.json.InstanceConnectEndpoint.PreserveClientIp).toBe(false);
    const foreign = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', A, '--security-group-ids', await defaultGroup(OTHER_VPC));
    expect(foreign.stderr).toMatch(/InvalidParameterValue.*belong to different networks/);
    const missing = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', A, '--security-group-ids', 'sg-0000000000000dead');
    expect(missing.stderr).toMatch(/InvalidGroup\.NotFound/);
  });

  it('IAM: a principal allowed only Describe* is refused with the action named', async () => {
    const denied = await aws(sim.endpoint, awsEnv(READER), ['ec2', 'create-instance-connect-endpoint', '--subnet-id', A]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/UnauthorizedOperation.*user\/reader is not authorized to perform: ec2:CreateInstanceConnectEndpoint/);
  });
});
