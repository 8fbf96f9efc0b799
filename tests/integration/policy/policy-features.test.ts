/**
 * The least-privilege policy Keyless writes, judged by the simulator's IAM evaluator: for each
 * feature, the policy generated for it is the only one the caller has, the feature runs through
 * the whole backend against the simulator, and every action the simulator was asked for must have
 * been allowed. A denied call Keyless shrugs off (no console fingerprints: ask the person; no AMI:
 * guess ec2-user) would otherwise go unnoticed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyFeature, Prompt } from '../../../electron/contract';
import { createBackend, type Backend as MainBackend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Backend } from '../../../renderer/lib/backend/backend';
import type { PolicyDocument } from '../../sim/iam';
import { ACCOUNT_ID, sshdMissing, startSimulator, type Simulator } from '../../sim/index';

if (sshdMissing) console.warn(`Skipping the per-feature policy tests: ${sshdMissing}`);

const REGION = 'us-west-2';
const PUBLIC = 'i-0a11c4000000b0001';
const PRIVATE = 'i-0a11c4000000b0002';
const SUBNET = 'subnet-0a11c400000b0011';
const SCOPED = { accessKeyId: 'AKIASIMSCOPEDUSER001', secretAccessKey: 'sim/scoped/secret/key/000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/scoped`, profile: 'scoped' };
const AL2023 = 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64';

let sim: Simulator;
let dir: string;
const opened: MainBackend[] = [];
const saved = { ...process.env };

/** A fresh app (empty caches, empty known_hosts) holding the two saved hosts, as a person would start it. */
async function app(): Promise<{ backend: Backend; prompts: Prompt[]; hostIds: { public: string; private: string } }> {
  const main = await createBackend({ home: await mkdtemp(join(dir, 'home-')), transport: 'web', version: 't', systemLocale: 'en', log: silentLogger, userKnownHosts: [], inventoryRefreshMs: 0 });
  opened.push(main);
  const backend = new Backend(connectInMemory(new ContractServer(main.handlers, silentLogger)).bridge);
  const prompts: Prompt[] = [];
  backend.on('prompt', (p) => {
    prompts.push(p);
    if (p.kind === 'hostKeyUnknown') void backend.invoke('prompt.answer', { promptId: p.promptId, value: true });
  });
  const port = sim.instances().find((i) => i.id === PUBLIC)!.sshPort!;
  const save = (name: string, instanceId: string, extra: object) =>
    backend.invoke('hosts.save', { host: { kind: 'ec2', name, groupId: null, instanceId, profile: 'scoped', region: REGION, ...extra } as never });
  const hostIds = {
    public: (await save('public one', PUBLIC, { port, connectionType: 'direct' })).id,
    private: (await save('private one', PRIVATE, { port: 22, connectionType: 'eice' })).id,
  };
  return { backend, prompts, hostIds };
}

let setup: Backend;
let hostIds: { public: string; private: string };
beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    endpointCreateDelayMs: 200,
    fleet: {
      vpcs: [{ id: 'vpc-0a11c4000000b0001', region: REGION, cidr: '10.44.0.0/16', subnets: [{ id: SUBNET, availabilityZone: `${REGION}a`, cidr: '10.44.1.0/24' }] }],
      instances: [
        // The simulated public address is loopback, so a direct connection reaches the instance's sshd.
        { id: PUBLIC, region: REGION, subnetId: SUBNET, publicIp: '127.0.0.1', amiName: AL2023 },
        { id: PRIVATE, region: REGION, subnetId: SUBNET, amiName: AL2023 },
      ],
      // No endpoint yet, and so no service-linked role: creating the first one is a feature under test.
      principals: [{ ...SCOPED, policies: [] }],
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'keyless-policy-'));
  const files = await sim.writeAwsConfig(join(dir, 'aws'), { region: REGION, sso: false });
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
  ({ backend: setup, hostIds } = await app());
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  for (const m of opened) await m.close();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
  process.env = saved;
});

/** Generates the policy for the two hosts and `features`, and makes it the caller's only policy. */
async function attachPolicyFor(features: PolicyFeature[]): Promise<PolicyDocument> {
  const r = await setup.invoke('policy.generate', { hostIds: [hostIds.public, hostIds.private], features });
  const policy = JSON.parse(r.policyJson) as PolicyDocument;
  expect(r.statements.map((s) => s.sid)).toEqual((policy.Statement as { Sid: string }[]).map((s) => s.Sid));
  sim.admin.setPolicies(SCOPED.accessKeyId, [policy]);
  return policy;
}

/** Runs `feature` and returns every action the caller asked the simulator for meanwhile, with IAM's answer. */
async function judged(run: () => Promise<void>): Promise<Array<{ action: string; resource: string; decision: string }>> {
  const since = new Date();
  await run();
  return sim.admin
    .authorizations(since)
    .filter((a) => a.accessKeyId === SCOPED.accessKeyId)
    .map(({ action, resource, decision }) => ({ action, resource, decision }));
}

function expectAllAllowed(records: Array<{ action: string; decision: string }>, mustInclude: string[]): void {
  expect(records.filter((r) => r.decision !== 'allow')).toEqual([]);
  for (const action of mustInclude) expect(records.map((r) => r.action), `${action} was never asked for`).toContain(action);
}

describe.skipIf(!!sshdMissing)('the generated policy allows every AWS action each feature calls', () => {
  // First: the VPC has no endpoint, and the account has never made one.
  it('creating an endpoint (the offer, the creation, waiting for it) — the service-linked role included', async () => {
    await attachPolicyFor(['endpointCreate']);
    const { backend, hostIds } = await app();
    const records = await judged(async () => {
      const proposal = await backend.invoke('endpoint.propose', { hostId: hostIds.private });
      const made = await backend.invoke('endpoint.create', { requestId: 'eice-1', subnetId: proposal.subnetId, securityGroupIds: [proposal.securityGroupId], hostId: hostIds.private });
      expect(made.state).toBe('create-complete');
    });
    expectAllAllowed(records, ['ec2:DescribeSecurityGroups', 'ec2:CreateInstanceConnectEndpoint', 'ec2:CreateNetworkInterface', 'ec2:CreateTags', 'iam:CreateServiceLinkedRole', 'ec2:DescribeInstanceConnectEndpoints']);
  });

  it('connecting, direct and through the endpoint: host keys confirmed from the console, the OS user from the AMI', async () => {
    await attachPolicyFor([]);
    const { backend, prompts, hostIds } = await app();
    const records = await judged(async () => {
      for (const hostId of [hostIds.public, hostIds.private]) {
        const { sessionId } = await backend.invoke('session.open', { requestId: `open-${hostId}`, hostId, cols: 80, rows: 24 });
        await backend.invoke('session.close', { sessionId });
      }
    });
    // The console vouched for both host keys: nobody was asked.
    expect(prompts.filter((p) => p.kind === 'hostKeyUnknown')).toEqual([]);
    expectAllAllowed(records, [
      'ec2:DescribeInstances',
      'ec2:DescribeImages',
      'ec2:DescribeInstanceConnectEndpoints',
      'ec2:GetConsoleOutput',
      'ec2-instance-connect:SendSSHPublicKey',
      'ec2-instance-connect:OpenTunnel',
    ]);
  });

  it('the inventory of every region the account has', async () => {
    await attachPolicyFor(['inventory']);
    const { backend } = await app();
    const records = await judged(async () => {
      const snapshot = await backend.invoke('inventory.refresh', { requestId: 'inv-1', profiles: ['scoped'] });
      expect(snapshot.scopes.map((s) => [s.region, s.status, s.error?.code, s.warning?.code])).toEqual([[REGION, 'ok', undefined, undefined]]);
      expect(snapshot.instances.map((i) => i.id).sort()).toEqual([PUBLIC, PRIVATE]);
    });
    expectAllAllowed(records, ['ec2:DescribeRegions', 'ec2:DescribeInstances', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets', 'ec2:DescribeInstanceConnectEndpoints', 'ec2:DescribeImages']);
  });

  it("the audit view's CloudTrail events", async () => {
    await attachPolicyFor(['audit']);
    const { backend } = await app();
    const records = await judged(async () => {
      const page = await backend.invoke('audit.trail', { requestId: 'trail-1', profile: 'scoped', region: REGION });
      expect(page.events.some((e) => e.eventName === 'SendSSHPublicKey')).toBe(true);
    });
    expectAllAllowed(records, ['cloudtrail:LookupEvents']);
  });

  it('a feature left out is not allowed: the connect-only policy refuses the inventory', async () => {
    await attachPolicyFor([]);
    const { backend } = await app();
    const records = await judged(async () => {
      await backend.invoke('inventory.refresh', { requestId: 'inv-2', profiles: ['scoped'], regions: [REGION] });
    });
    expect(records.filter((r) => r.decision !== 'allow').map((r) => r.action)).toContain('ec2:DescribeVpcs');
  });
});
