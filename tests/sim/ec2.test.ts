import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdMissing, startSimulator, type FleetSpec, type Simulator } from './index';
import { aws, awsEnv, boto3 } from './support';

const VPC = 'vpc-0ddd0000000000001';
const A = 'subnet-0ddd0000000000001';
const B = 'subnet-0ddd0000000000002';

function fleet(): FleetSpec {
  return {
    vpcs: [
      { id: VPC, region: 'us-east-1', cidr: '10.6.0.0/16', name: 'conformance', subnets: [{ id: A, availabilityZone: 'us-east-1a', cidr: '10.6.1.0/24', name: 'a' }, { id: B, availabilityZone: 'us-east-1b', cidr: '10.6.2.0/24', name: 'b' }] },
      { id: 'vpc-0ddd0000000000002', region: 'us-west-2', cidr: '10.5.0.0/16', subnets: [{ id: 'subnet-0ddd0000000000003', availabilityZone: 'us-west-2a', cidr: '10.5.1.0/24' }] },
    ],
    instances: [
      ...Array.from({ length: 12 }, (_, n) => ({
        id: `i-0ddd00000000000${(n + 10).toString(16).padStart(2, '0')}`,
        region: 'us-east-1',
        subnetId: n % 2 ? B : A,
        state: n === 11 ? ('stopped' as const) : ('running' as const),
        publicIp: n === 0 ? '54.1.2.3' : undefined,
        tags: { Name: `node-${n}`, env: n < 6 ? 'prod' : 'dev', ...(n === 3 ? { owner: 'ops' } : {}) },
      })),
      { id: 'i-0ddd00000000000ff', region: 'us-west-2', subnetId: 'subnet-0ddd0000000000003', tags: { Name: 'west' } },
    ],
    endpoints: [
      { id: 'eice-0ddd0000000000001', region: 'us-east-1', subnetId: A },
      { id: 'eice-0ddd0000000000002', region: 'us-east-1', subnetId: B, state: 'create-failed' },
      { id: 'eice-0ddd0000000000003', region: 'us-west-2', subnetId: 'subnet-0ddd0000000000003' },
    ],
  };
}

describe('EC2 query API through the AWS CLI and boto3', () => {
  let sim: Simulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: fleet(), endpointCreateDelayMs: 300 });
    env = awsEnv(sim.principals[0]!);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('AWS CLI: regions, filters, paging, reservations and errors', async () => {
    const cli = (...args: string[]) => aws(sim.endpoint, env, args);
    const [regions, prod, paged, limited, byTagKey, byIp, missing, malformed, both] = await Promise.all([
      cli('ec2', 'describe-regions'),
      cli('ec2', 'describe-instances', '--filters', 'Name=tag:env,Values=prod', 'Name=instance-state-name,Values=running'),
      cli('ec2', 'describe-instances', '--page-size', '5'),
      cli('ec2', 'describe-instances', '--max-items', '7', '--page-size', '5'),
      cli('ec2', 'describe-instances', '--filters', 'Name=tag-key,Values=owner'),
      cli('ec2', 'describe-instances', '--filters', 'Name=private-ip-address,Values=10.6.2.*', 'Name=subnet-id,Values=' + B, 'Name=vpc-id,Values=' + VPC),
      cli('ec2', 'describe-instances', '--instance-ids', 'i-0ddd000000000dead'),
      cli('ec2', 'describe-instances', '--instance-ids', 'i-nothex'),
      cli('ec2', 'describe-instances', '--instance-ids', 'i-0ddd0000000000010', '--max-results', '5'),
    ]);
    expect(regions.json.Regions.map((r: { RegionName: string }) => r.RegionName)).toEqual(['us-east-1', 'us-west-2']);
    const ids = (r: { json?: { Reservations: { Instances: { InstanceId: string }[] }[] } }) => r.json!.Reservations.flatMap((x) => x.Instances.map((i) => i.InstanceId));
    expect(ids(prod)).toHaveLength(6);
    expect(prod.json.Reservations[0]).toMatchObject({ OwnerId: '123456789012', ReservationId: expect.stringMatching(/^r-0[0-9a-f]{16}$/) });
    const first = prod.json.Reservations[0].Instances[0];
    expect(first).toMatchObject({ State: { Code: 16, Name: 'running' }, PublicIpAddress: '54.1.2.3', PublicDnsName: 'ec2-54-1-2-3.compute-1.amazonaws.com', VpcId: VPC, SubnetId: A, Placement: { AvailabilityZone: 'us-east-1a' } });
    // The subnet's next free address (an endpoint's interface in the subnet takes one too), named as AWS names it.
    expect(first.PrivateIpAddress).toMatch(/^10\.6\.1\.\d+$/);
    expect(first.PrivateDnsName).toBe(`ip-${first.PrivateIpAddress.replaceAll('.', '-')}.ec2.internal`);
    expect(first.Tags).toContainEqual({ Key: 'env', Value: 'prod' });
    expect(first.LaunchTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(new Set(ids(paged)).size).toBe(12);
    expect(ids(limited)).toHaveLength(7);
    expect(limited.json.NextToken).toBeTruthy();
    expect(ids(byTagKey)).toEqual(['i-0ddd000000000000d']);
    expect(ids(byIp)).toHaveLength(6);
    expect(missing.stderr).toMatch(/\(InvalidInstanceID\.NotFound\).*The instance ID 'i-0ddd000000000dead' does not exist/);
    expect(malformed.stderr).toMatch(/InvalidInstanceID\.Malformed/);
    expect(both.stderr).toMatch(/InvalidParameterCombination/);
  });

  it('AWS CLI: VPCs, subnets, security groups, endpoints (paged), create and delete', async () => {
    const cli = (...args: string[]) => aws(sim.endpoint, env, args);
    const [vpcs, subnets, sgs, eps, complete] = await Promise.all([
      cli('ec2', 'describe-vpcs', '--filters', `Name=vpc-id,Values=${VPC}`),
      cli('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${VPC}`),
      cli('ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${VPC}`),
      cli('ec2', 'describe-instance-connect-endpoints', '--page-size', '1'),
      cli('ec2', 'describe-instance-connect-endpoints', '--filters', 'Name=state,Values=create-complete,update-complete', `Name=vpc-id,Values=${VPC}`),
    ]);
    expect(vpcs.json.Vpcs).toEqual([expect.objectContaining({ VpcId: VPC, CidrBlock: '10.6.0.0/16', State: 'available', Tags: [{ Key: 'Name', Value: 'conformance' }] })]);
    expect(subnets.json.Subnets.map((s: { SubnetId: string }) => s.SubnetId).sort()).toEqual([A, B]);
    expect(sgs.json.SecurityGroups[0]).toMatchObject({ GroupName: 'default', VpcId: VPC });
    expect(eps.json.InstanceConnectEndpoints.map((e: { InstanceConnectEndpointId: string }) => e.InstanceConnectEndpointId)).toEqual(['eice-0ddd0000000000001', 'eice-0ddd0000000000002']);
    expect(complete.json.InstanceConnectEndpoints).toHaveLength(1);

    const created = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', B, '--tag-specifications', 'ResourceType=instance-connect-endpoint,Tags=[{Key=Name,Value=made}]');
    expect(created.code, created.stderr).toBe(0);
    const e = created.json.InstanceConnectEndpoint;
    expect(e).toMatchObject({ State: 'create-in-progress', VpcId: VPC, SubnetId: B, Tags: [{ Key: 'Name', Value: 'made' }] });
    expect(e.DnsName).toMatch(/^eice-0[0-9a-f]{16}\.[0-9a-f]{8}\.ec2-instance-connect-endpoint\.us-east-1\.amazonaws\.com$/);
    expect(e.FipsDnsName).toMatch(/\.fips\.ec2-instance-connect-endpoint\.us-east-1\.amazonaws\.com$/);
    await new Promise((r) => setTimeout(r, 400));
    const later = await cli('ec2', 'describe-instance-connect-endpoints', '--instance-connect-endpoint-ids', e.InstanceConnectEndpointId);
    expect(later.json.InstanceConnectEndpoints[0].State).toBe('create-complete');
    const deleted = await cli('ec2', 'delete-instance-connect-endpoint', '--instance-connect-endpoint-id', e.InstanceConnectEndpointId);
    expect(deleted.json.InstanceConnectEndpoint.State).toBe('delete-in-progress');
    const noSubnet = await cli('ec2', 'create-instance-connect-endpoint', '--subnet-id', 'subnet-0000000000000dead');
    expect(noSubnet.stderr).toMatch(/InvalidSubnetID\.NotFound/);
  });

  it('regions are separate worlds', async () => {
    const west = await aws(sim.endpoint, awsEnv(sim.principals[0]!, 'us-west-2'), ['ec2', 'describe-instances', '--query', 'Reservations[].Instances[].InstanceId']);
    expect(west.json).toEqual(['i-0ddd00000000000ff']);
    const cross = await aws(sim.endpoint, awsEnv(sim.principals[0]!, 'us-west-2'), ['ec2', 'describe-instances', '--instance-ids', 'i-0ddd0000000000010']);
    expect(cross.stderr).toMatch(/InvalidInstanceID\.NotFound/);
    const nowhere = await aws(sim.endpoint, awsEnv(sim.principals[0]!, 'eu-north-1'), ['ec2', 'describe-instances']);
    expect(nowhere.stderr).toMatch(/AuthFailure.*Credential should be scoped to a valid region/);
  });

  it.skipIf(!!sshdMissing)('GetConsoleOutput prints the fingerprints the instance sshd really serves', async () => {
    const id = 'i-0ddd0000000000010';
    const out = await aws(sim.endpoint, env, ['ec2', 'get-console-output', '--instance-id', id]);
    expect(out.code, out.stderr).toBe(0);
    const text: string = out.json.Output; // the CLI decodes the base64 for us
    const block = /-----BEGIN SSH HOST KEY FINGERPRINTS-----\r?\n([\s\S]*?)-----END SSH HOST KEY FINGERPRINTS-----/.exec(text)![1]!;
    const shown = [...block.matchAll(/(SHA256:[A-Za-z0-9+/]+)/g)].map((m) => m[1]).sort();
    const port = sim.instances().find((i) => i.id === id)!.sshPort!;
    const scanned = execFileSync('sh', ['-c', `ssh-keyscan -p ${port} -t ed25519,ecdsa 127.0.0.1 2>/dev/null | ssh-keygen -lf -`]).toString();
    const served = [...scanned.matchAll(/(SHA256:[A-Za-z0-9+/]+)/g)].map((m) => m[1]).sort();
    expect(shown).toHaveLength(2);
    expect(shown).toEqual(served);
    expect(text).toMatch(/-----BEGIN SSH HOST KEY KEYS-----\r?\necdsa-sha2-nistp256 AAAA/);
  });

  it('boto3 (botocore models parse every answer): paginators, waiters, errors', async () => {
    const r = await boto3(
      env,
      sim.endpoint,
      `
ec2 = client('ec2')
res = {}
pages = list(ec2.get_paginator('describe_instances').paginate(PaginationConfig={'PageSize': 5}))
res['pages'] = len(pages)
res['instances'] = sorted(i['InstanceId'] for p in pages for r in p['Reservations'] for i in r['Instances'])
res['launch_is_datetime'] = isinstance(pages[0]['Reservations'][0]['Instances'][0]['LaunchTime'], datetime.datetime)
eps = list(ec2.get_paginator('describe_instance_connect_endpoints').paginate(PaginationConfig={'PageSize': 1}))
res['endpoint_pages'] = len(eps)
res['endpoint_created'] = isinstance(eps[0]['InstanceConnectEndpoints'][0]['CreatedAt'], datetime.datetime)
ec2.get_waiter('instance_running').wait(InstanceIds=['i-0ddd0000000000010'], WaiterConfig={'Delay': 1, 'MaxAttempts': 2})
res['stopped'] = ec2.describe_instances(Filters=[{'Name': 'instance-state-name', 'Values': ['stopped']}])['Reservations'][0]['Instances'][0]['State']
res['subnets'] = len(ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': ['${VPC}']}])['Subnets'])
res['sg'] = ec2.describe_security_groups()['SecurityGroups'][0]['GroupName']
res['vpc_default'] = ec2.describe_vpcs()['Vpcs'][0]['IsDefault']
res['console'] = '-----BEGIN SSH HOST KEY FINGERPRINTS-----' in ec2.get_console_output(InstanceId='i-0ddd0000000000010')['Output']  # botocore decodes the base64
res['notfound'] = err(lambda: ec2.describe_instances(InstanceIds=['i-0ddd000000000dead']))
res['badfilter'] = err(lambda: ec2.describe_instances(Filters=[{'Name': 'no-such-filter', 'Values': ['x']}]))
res['badtoken'] = err(lambda: ec2.describe_instances(MaxResults=5, NextToken='garbage'))
res['dryrun'] = err(lambda: ec2.describe_instances(DryRun=True))
out(res)
`,
    );
    expect(r.pages).toBe(3);
    expect(r.instances).toHaveLength(12);
    expect(r.launch_is_datetime).toBe(true);
    expect(r.endpoint_pages).toBeGreaterThanOrEqual(2); // one page per us-east-1 endpoint, including any the CLI test made
    expect(r.endpoint_created).toBe(true);
    expect(r.stopped).toEqual({ Code: 80, Name: 'stopped' });
    expect(r.subnets).toBe(2);
    expect(r.sg).toBe('default');
    expect(r.console).toBe(!sshdMissing);
    expect(r.notfound).toMatchObject({ code: 'InvalidInstanceID.NotFound', status: 400 });
    expect(r.badfilter).toMatchObject({ code: 'InvalidParameterValue', message: "The filter 'no-such-filter' is invalid" });
    expect(r.badtoken).toMatchObject({ code: 'InvalidParameterValue' });
    expect(r.dryrun).toMatchObject({ code: 'DryRunOperation', status: 412 });
  });

  it('faults: latency, throttling and 5xx as EC2 answers them', async () => {
    sim.admin.setThrottle('DescribeVpcs', 1);
    sim.admin.setErrorRatio('DescribeSubnets', 1);
    sim.admin.setLatency('DescribeSecurityGroups', 700);
    try {
      const t0 = Date.now();
      const [throttled, failed, slow] = await Promise.all([
        aws(sim.endpoint, env, ['ec2', 'describe-vpcs']),
        aws(sim.endpoint, env, ['ec2', 'describe-subnets']),
        aws(sim.endpoint, env, ['ec2', 'describe-security-groups']),
      ]);
      expect(throttled.stderr).toMatch(/RequestLimitExceeded/);
      expect(failed.stderr).toMatch(/InternalError/);
      expect(slow.code).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    } finally {
      sim.admin.resetFaults();
    }
  });
});
