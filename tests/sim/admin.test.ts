import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdMissing, startSimulator, type Simulator } from './index';
import { aws, awsEnv, sshKey, sshRun } from './support';

if (sshdMissing) console.warn(`Skipping the admin/sshd fault tests: ${sshdMissing}`);

const SUBNET = 'subnet-0eee0000000000001';
const ID = 'i-0eee0000000000001';

describe.skipIf(!!sshdMissing)('admin API and instance faults', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({
      fleet: {
        vpcs: [{ id: 'vpc-0eee0000000000001', region: 'us-east-1', cidr: '10.4.0.0/16', subnets: [{ id: SUBNET, availabilityZone: 'us-east-1a', cidr: '10.4.1.0/24' }] }],
        instances: [{ id: ID, region: 'us-east-1', subnetId: SUBNET, publicIp: '3.3.3.3' }],
      },
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });
  const env = () => awsEnv(sim.principals[0]!);
  const push = (user: string, pub: string) => aws(sim.endpoint, env(), ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', ID, '--instance-os-user', user, '--ssh-public-key', pub]);

  it('serves the admin API over HTTP behind its token', async () => {
    const state = (await (await fetch(`${sim.adminUrl}/state`)).json()) as { instances: { id: string; sshPort: number }[] };
    expect(state.instances[0]).toMatchObject({ id: ID, sshPort: sim.sshPortFor('3.3.3.3') });
    expect(sim.sshPortFor('10.4.1.10')).toBe(state.instances[0]!.sshPort);
    expect((await fetch(sim.adminUrl.replace(/[0-9a-f]{32}$/, '0'.repeat(32)) + '/state')).status).toBe(403);
    const set = await fetch(`${sim.adminUrl}/setLatency`, { method: 'POST', body: JSON.stringify(['DescribeRegions', 400]) });
    expect(await set.json()).toEqual({ ok: true, result: null });
    const t0 = Date.now();
    expect((await aws(sim.endpoint, env(), ['ec2', 'describe-regions'])).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    await fetch(`${sim.adminUrl}/resetFaults`, { method: 'POST' });
    expect((await (await fetch(`${sim.adminUrl}/nope`, { method: 'POST' })).json()) as object).toMatchObject({ error: 'no admin method nope' });
  });

  it('restarting sshd keeps open sessions and accepts new ones; EC2 stop/start moves sshd with it', async () => {
    const key = sshKey();
    expect((await push('ec2-user', key.pub)).code).toBe(0);
    const port = sim.sshPortFor('10.4.1.10')!;
    // A long session, opened before the restart.
    const long = spawn('ssh', ['-i', key.path, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-p', String(port), 'ec2-user@127.0.0.1', 'echo ready; sleep 3; echo survived'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    long.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((r) => long.stdout.once('data', () => r()));
    await sim.admin.restartSshd(ID);
    expect((await push('ec2-user', key.pub)).code).toBe(0);
    expect((await sshRun('ec2-user', key.path, { port })).code).toBe(0);
    expect(await new Promise((r) => long.once('exit', r))).toBe(0);
    expect(out).toContain('survived');

    const stopped = await aws(sim.endpoint, env(), ['ec2', 'stop-instances', '--instance-ids', ID]);
    expect(stopped.json.StoppingInstances[0]).toMatchObject({ InstanceId: ID, CurrentState: { Name: 'stopped', Code: 80 }, PreviousState: { Name: 'running' } });
    expect(sim.instances()[0]!.sshdRunning).toBe(false);
    expect((await sshRun('ec2-user', key.path, { port })).stderr).toMatch(/Connection refused/);
    const d = await aws(sim.endpoint, env(), ['ec2', 'describe-instances', '--instance-ids', ID]);
    expect(d.json.Reservations[0].Instances[0].PublicIpAddress).toBeUndefined();
    await aws(sim.endpoint, env(), ['ec2', 'start-instances', '--instance-ids', ID]);
    expect(sim.instances()[0]!.sshdRunning).toBe(true);
    expect((await push('ec2-user', key.pub)).code).toBe(0);
    expect((await sshRun('ec2-user', key.path, { port })).code).toBe(0);
  });

  it('answers EC2InstanceUnavailableException and ServiceException when told to', async () => {
    const key = sshKey();
    sim.admin.setInstanceUnavailable(ID, true);
    expect((await push('ec2-user', key.pub)).stderr).toMatch(/EC2InstanceUnavailableException/);
    sim.admin.resetFaults();
    sim.admin.setErrorRatio('SendSSHPublicKey', 1);
    expect((await push('ec2-user', key.pub)).stderr).toMatch(/ServiceException/);
    sim.admin.resetFaults();
    expect((await push('ec2-user', key.pub)).code).toBe(0);
  });
});
