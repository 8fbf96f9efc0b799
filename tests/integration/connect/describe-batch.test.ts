/**
 * What Keyless asks AWS before connecting to many instances at once (a fleet run, a bridge of
 * many ssh): the instances of one profile and region asked for together go as one
 * DescribeInstances call, and an id AWS does not know (which fails such a call for all) fails only
 * its own host. Against the simulator, which records the IAM decision of every call.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { startSimulator, type Simulator } from '../../sim/index';
import { useSimulatorAws } from '../support/simulator-aws';

const REGION = 'eu-west-1';
const SUBNET = 'subnet-0bb0000000000b001';
const ids = Array.from({ length: 30 }, (_, n) => `i-0bb${n.toString(16).padStart(14, '0')}`);

let sim: Simulator;
let awsDir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  sim = await startSimulator({
    regions: [REGION],
    noSshd: true,
    fleet: {
      vpcs: [{ id: 'vpc-0bb0000000000b001', region: REGION, cidr: '10.44.0.0/16', subnets: [{ id: SUBNET, availabilityZone: `${REGION}a`, cidr: '10.44.1.0/24' }] }],
      instances: ids.map((id, n) => ({ id, region: REGION, subnetId: SUBNET, privateIp: `10.44.1.${10 + n}`, amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64', tags: { Name: `batch-${n}` } })),
    },
  });
  awsDir = await useSimulatorAws(sim, REGION);
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  if (awsDir) await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

/** DescribeInstances calls the simulator authorised since `since` (one IAM decision per call). */
const describeCalls = (since: Date) => sim.admin.authorizations(since).filter((a) => a.action === 'ec2:DescribeInstances').length;

describe('instances asked for together', () => {
  it('thirty instances of one region asked at once take one DescribeInstances call, each answered with its own facts', async () => {
    const inventory = new Ec2Inventory(new AwsClients(new SdkCredentialSource()));
    const since = new Date();
    const facts = await Promise.all(ids.map((id) => inventory.instance(undefined, REGION, id)));
    expect(facts.map((f) => f.instanceId)).toEqual(ids);
    expect(facts.map((f) => f.privateIpAddress)).toEqual(ids.map((_, n) => `10.44.1.${10 + n}`));
    expect(inventory.describeCalls).toBe(1);
    expect(describeCalls(since)).toBe(1);
  });

  it('an id AWS does not know fails only its own host; the others still get their facts', async () => {
    const inventory = new Ec2Inventory(new AwsClients(new SdkCredentialSource()));
    const unknown = 'i-0bbffffffffffffff';
    const asked = [...ids.slice(0, 5), unknown, ...ids.slice(5, 10)];
    const results = await Promise.allSettled(asked.map((id) => inventory.instance(undefined, REGION, id)));
    const failed = results.flatMap((r, n) => (r.status === 'rejected' ? [[asked[n], (r.reason as { code?: string }).code]] : []));
    expect(failed).toEqual([[unknown, 'InstanceNotFound']]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ instanceId: string }>).value.instanceId)).toEqual(asked.filter((id) => id !== unknown));
  });
});
