import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ACCOUNT_ID, DEFAULT_FAULT_SEED, demoFleet, startSimulator, type PrincipalSpec, type Simulator } from './index';
import { presignOpenTunnel } from './support';

/**
 * Fault injection is reproducible: which calls a throttle or 5xx ratio hits follows from a seed,
 * per caller, operation and region, not from Math.random or from the order calls arrive in.
 */
const NOBODY: PrincipalSpec = {
  accessKeyId: 'AKIASIMFAULTNOBODY01',
  secretAccessKey: 'sim/fault-nobody/secret/00000000000000000',
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/fault-nobody`,
  policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }] }],
};
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM sdk@test';

describe('the simulator’s fault dice', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: { ...demoFleet(), principals: [...(demoFleet().principals ?? []), NOBODY] }, noSshd: true });
  });
  afterEach(() => {
    sim.admin.resetFaults();
    sim.admin.seedFaults(DEFAULT_FAULT_SEED);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  // One attempt per call, so every answer the dice give shows.
  const ec2 = (p: PrincipalSpec, region = 'us-east-1') => new EC2Client({ region, endpoint: sim.endpoint, credentials: p, maxAttempts: 1 });
  const describeOnce = async (c: EC2Client): Promise<string> => {
    try {
      await c.send(new DescribeInstancesCommand({}));
      return 'ok';
    } catch (e) {
      return (e as Error).name;
    }
  };
  const answers = async (c: EC2Client, n: number) => {
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push(await describeOnce(c));
    return out;
  };
  const admin = () => sim.principals[0]!;

  it('gives one caller the same answers in every run, however other callers’ calls interleave', async () => {
    sim.admin.setThrottle('DescribeInstances', 0.5);
    const alone = await answers(ec2(admin()), 24);
    expect(alone).toContain('RequestLimitExceeded');
    expect(alone).toContain('ok');

    sim.admin.setThrottle('DescribeInstances', 0.5); // every stream starts over
    const other = ec2(NOBODY);
    const mine = ec2(admin());
    const beside: string[] = [];
    for (let k = 0; k < 24; k++) {
      // Another caller's calls (some of them throttled too) between each of this caller's.
      await Promise.all([describeOnce(other), describeOnce(other)]);
      beside.push(await describeOnce(mine));
    }
    expect(beside).toEqual(alone);
    // The same operation in another region is another stream.
    sim.admin.setThrottle('DescribeInstances', 0.5);
    expect(await answers(ec2(admin(), 'us-west-2'), 24)).not.toEqual(alone);
  });

  it('follows the seed: another seed, other calls hit; the same seed again, the same ones', async () => {
    sim.admin.setThrottle('DescribeInstances', 0.5);
    const first = await answers(ec2(admin()), 24);
    sim.admin.seedFaults(7);
    const seven = await answers(ec2(admin()), 24);
    expect(seven).not.toEqual(first);
    sim.admin.seedFaults(7);
    expect(await answers(ec2(admin()), 24)).toEqual(seven);
    // Over the admin HTTP API too (what the demo and the benchmarks use).
    await fetch(`${sim.adminUrl}/seedFaults`, { method: 'POST', body: JSON.stringify([7]) });
    expect(await answers(ec2(admin()), 24)).toEqual(seven);
  });

  it('hits about the share of calls it is given', async () => {
    sim.admin.setErrorRatio('DescribeInstances', 0.25);
    const out = await answers(ec2(admin()), 120);
    const errors = out.filter((a) => a === 'InternalError').length;
    expect(errors).toBeGreaterThan(15);
    expect(errors).toBeLessThan(45);
  });

  it('throttles a caller IAM denies before saying it is denied, on every API', async () => {
    const nobodyEc2 = ec2(NOBODY);
    expect(await describeOnce(nobodyEc2)).toBe('UnauthorizedOperation');
    sim.admin.setThrottle('DescribeInstances', 1);
    expect(await describeOnce(nobodyEc2)).toBe('RequestLimitExceeded');

    const push = async (p: PrincipalSpec) => {
      try {
        await new EC2InstanceConnectClient({ region: 'us-east-1', endpoint: sim.endpoint, credentials: p, maxAttempts: 1 }).send(
          new SendSSHPublicKeyCommand({ InstanceId: 'i-0a1b2c3d4e5f00001', InstanceOSUser: 'ec2-user', SSHPublicKey: PUBLIC_KEY }),
        );
        return 'ok';
      } catch (e) {
        return (e as Error).name;
      }
    };
    expect(await push(NOBODY)).toBe('AccessDeniedException');
    sim.admin.setThrottle('SendSSHPublicKey', 1);
    expect(await push(NOBODY)).toBe('ThrottlingException');
  });

  it('authenticates an EICE tunnel before throttling it, and throttles it before IAM denies it', async () => {
    const endpoint = sim.endpoints().find((e) => e.region === 'us-east-1')!;
    const vpcIp = sim.instances().find((i) => i.vpcId === endpoint.vpcId && i.region === 'us-east-1')!.privateIp;
    const open = async (p: PrincipalSpec, tamper = false) => {
      let url = await presignOpenTunnel(p, 'us-east-1', endpoint.dnsName, { endpointId: endpoint.id, privateIp: vpcIp });
      if (tamper) url = url.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
      const signed = new URL(url);
      return new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${sim.tunnelEndpointFor(signed.hostname)}${signed.pathname}${signed.search}`, { headers: { host: signed.host } });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', reject);
      });
    };
    expect(await open(NOBODY)).toBe(403);
    expect(await open(admin())).toBe(101);
    sim.admin.setThrottle('OpenTunnel', 1);
    // A signature that does not match is refused as such: nobody is rated before AWS knows who calls.
    expect(await open(admin(), true)).toBe(403);
    expect(await open(NOBODY)).toBe(429);
    expect(await open(admin())).toBe(429);
  });

  it('decides no fault with Math.random', () => {
    const dir = new URL('./', import.meta.url);
    const users = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => readFileSync(new URL(f, dir), 'utf8').includes('Math.random'));
    expect(users).toEqual([]);
  });
});
