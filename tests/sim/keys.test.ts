import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, seedPolicy, sshdMissing, startSimulator, type Simulator } from './index';
import { aws, awsEnv, sshKey, sshRun } from './support';

if (sshdMissing) console.warn(`Skipping the pushed-key tests: ${sshdMissing}`);

const SUBNET = 'subnet-0aaa0000000000001';
const ID = 'i-0aaa0000000000001';
const OTHER = 'i-0aaa0000000000002';

describe.skipIf(!!sshdMissing)('pushed keys reach a real sshd (OpenSSH client)', () => {
  let sim: Simulator;
  const seed = { accessKeyId: 'AKIASEEDPOLICYUSER01', secretAccessKey: 'seed-secret-key-0000000000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/seed`, policies: [seedPolicy('us-east-1', ID)] };

  beforeAll(async () => {
    sim = await startSimulator({
      // Short enough to outwait, long enough for a slow-propagation key to become usable first.
      keyTtlSeconds: 5,
      fleet: {
        vpcs: [{ id: 'vpc-0aaa0000000000001', region: 'us-east-1', cidr: '10.9.0.0/16', subnets: [{ id: SUBNET, availabilityZone: 'us-east-1a', cidr: '10.9.1.0/24' }] }],
        instances: [
          { id: ID, region: 'us-east-1', subnetId: SUBNET, tags: { Name: 'keys-1' } },
          { id: OTHER, region: 'us-east-1', subnetId: SUBNET, tags: { Name: 'keys-2' } },
        ],
        principals: [seed],
      },
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const port = (id: string) => sim.instances().find((i) => i.id === id)!.sshPort!;
  const admin = () => awsEnv(sim.principals[0]!);
  const push = (env: NodeJS.ProcessEnv, id: string, user: string, pub: string) =>
    aws(sim.endpoint, env, ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', id, '--instance-os-user', user, '--ssh-public-key', pub]);

  it('lets the pushed key in within its lifetime, and never after it', async () => {
    const key = sshKey();
    const before = await sshRun('ec2-user', key.path, { port: port(ID) });
    expect(before.stderr).toMatch(/Permission denied \(publickey\)/);
    const pushed = await push(admin(), ID, 'ec2-user', key.pub);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.json).toMatchObject({ Success: true });
    const inside = await sshRun('ec2-user', key.path, { port: port(ID), command: 'id -un' });
    expect(inside.code, inside.stderr).toBe(0);
    expect(inside.stdout.trim()).toBe('ec2-user');
    await new Promise((r) => setTimeout(r, 5500));
    const after = await sshRun('ec2-user', key.path, { port: port(ID) });
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('keeps a key to its user and instance; two users can hold keys at once', async () => {
    const a = sshKey();
    const b = sshKey();
    expect((await push(admin(), ID, 'ec2-user', a.pub)).code).toBe(0);
    expect((await push(admin(), ID, 'ubuntu', b.pub)).code).toBe(0);
    const [ra, rb, wrongUser, wrongInstance] = await Promise.all([
      sshRun('ec2-user', a.path, { port: port(ID), command: 'id -un' }),
      sshRun('ubuntu', b.path, { port: port(ID), command: 'id -un' }),
      sshRun('ubuntu', a.path, { port: port(ID) }),
      sshRun('ec2-user', a.path, { port: port(OTHER) }),
    ]);
    expect([ra.code, ra.stdout.trim()], ra.stderr).toEqual([0, 'ec2-user']);
    expect([rb.code, rb.stdout.trim()], rb.stderr).toEqual([0, 'ubuntu']);
    expect(wrongUser.stderr).toMatch(/Permission denied/);
    expect(wrongInstance.stderr).toMatch(/Permission denied/);
  });

  it('applies the seed article policy as written: ec2-user and ubuntu yes, root no, other instances no', async () => {
    const key = sshKey();
    const env = awsEnv(seed);
    expect((await push(env, ID, 'ec2-user', key.pub)).code).toBe(0);
    expect((await push(env, ID, 'ubuntu', key.pub)).code).toBe(0);
    const root = await push(env, ID, 'root', key.pub);
    expect(root.code).not.toBe(0);
    expect(root.stderr).toMatch(/\(AccessDeniedException\) when calling the SendSSHPublicKey operation/);
    expect(root.stderr).toContain(
      `User: ${seed.arn} is not authorized to perform: ec2-instance-connect:SendSSHPublicKey on resource: arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/${ID} because no identity-based policy allows the ec2-instance-connect:SendSSHPublicKey action`,
    );
    const other = await push(env, OTHER, 'ec2-user', key.pub);
    expect(other.stderr).toMatch(/AccessDeniedException/);
    const listed = await aws(sim.endpoint, env, ['ec2', 'describe-instances']);
    expect(listed.code, listed.stderr).toBe(0);
    const vpcs = await aws(sim.endpoint, env, ['ec2', 'describe-vpcs']);
    expect(vpcs.stderr).toMatch(/UnauthorizedOperation.*not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows/);
  });

  it('delays keys while propagation is slow, and a stopped instance refuses pushes and connections', async () => {
    const key = sshKey();
    const delayMs = 1500;
    sim.admin.setKeyPropagationDelay(delayMs);
    expect((await push(admin(), ID, 'ec2-user', key.pub)).code).toBe(0);
    const pushed = Date.now();
    const early = await sshRun('ec2-user', key.path, { port: port(ID) });
    expect(early.stderr).toMatch(/Permission denied/);
    // Past the delay, which the simulator counts from before its answer, with room for the file
    // write; the key (5 s) is still valid then.
    await new Promise((r) => setTimeout(r, Math.max(0, pushed + delayMs + 300 - Date.now())));
    const later = await sshRun('ec2-user', key.path, { port: port(ID) });
    expect(later.code, later.stderr).toBe(0);
    sim.admin.setKeyPropagationDelay(0);

    await sim.admin.stopInstance(OTHER);
    const refused = await push(admin(), OTHER, 'ec2-user', key.pub);
    expect(refused.stderr).toMatch(/EC2InstanceStateInvalidException/);
    const down = await sshRun('ec2-user', key.path, { port: port(OTHER) });
    expect(down.stderr).toMatch(/Connection refused/);
    await sim.admin.startInstance(OTHER);
    expect((await push(admin(), OTHER, 'ec2-user', key.pub)).code).toBe(0);
    expect((await sshRun('ec2-user', key.path, { port: port(OTHER) })).code).toBe(0);
  });

  it('validates pushes as the service model does', async () => {
    const key = sshKey();
    const notFound = await push(admin(), 'i-0fffffffffffffff0', 'ec2-user', key.pub);
    expect(notFound.stderr).toMatch(/EC2InstanceNotFoundException/);
    const badKey = await push(admin(), ID, 'ec2-user', 'ssh-ed25519 AAAAnotakey' + 'A'.repeat(80));
    expect(badKey.stderr).toMatch(/InvalidArgsException.*SSH Public key is invalid/);
    const ecdsa = sshKey('ecdsa');
    expect((await push(admin(), ID, 'ec2-user', ecdsa.pub)).code).toBe(0);
    // The on-instance script only takes lines starting with "ssh": ECDSA never authenticates.
    expect((await sshRun('ec2-user', ecdsa.path, { port: port(ID) })).stderr).toMatch(/Permission denied/);
  });
});

describe.skipIf(!!sshdMissing)('the instance metadata the AuthorizedKeysCommand reads', () => {
  it('serves IMDSv2 tokens and the managed-ssh-keys blob format of PROTOCOLS.md §2', async () => {
    const sim = await startSimulator({
      fleet: {
        vpcs: [{ id: 'vpc-0aaa0000000000009', region: 'us-east-1', cidr: '10.3.0.0/16', subnets: [{ id: 'subnet-0aaa0000000000009', availabilityZone: 'us-east-1a', cidr: '10.3.1.0/24' }] }],
        instances: [{ id: ID, region: 'us-east-1', subnetId: 'subnet-0aaa0000000000009' }],
      },
    });
    try {
      const key = sshKey();
      expect((await aws(sim.endpoint, awsEnv(sim.principals[0]!), ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', ID, '--instance-os-user', 'ec2-user', '--ssh-public-key', key.pub])).code).toBe(0);
      const base = `${sim.endpoint}/__imds/${ID}/latest`;
      expect((await fetch(`${base}/meta-data/managed-ssh-keys/active-keys/ec2-user/`)).status).toBe(401);
      const token = await (await fetch(`${base}/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '30' } })).text();
      const blob = await (await fetch(`${base}/meta-data/managed-ssh-keys/active-keys/ec2-user/`, { headers: { 'X-aws-ec2-metadata-token': token } })).text();
      const lines = blob.trim().split('\n');
      expect(lines[0]).toMatch(/^#Timestamp=\d{10}$/);
      expect(Number(lines[0]!.slice(11))).toBeGreaterThan(Date.now() / 1000);
      expect(lines.slice(1, 4)).toEqual([`#Instance=${ID}`, `#Caller=${sim.principals[0]!.arn}`, expect.stringMatching(/^#Request=[0-9a-f-]{36}$/)]);
      expect(lines[4]).toBe(key.pub);
      expect(Buffer.from(lines[5]!, 'base64')).toHaveLength(256);
      expect((await fetch(`${base}/meta-data/managed-ssh-keys/active-keys/ubuntu/`, { headers: { 'X-aws-ec2-metadata-token': token } })).status).toBe(404);
    } finally {
      await sim.stop();
    }
  });
});
