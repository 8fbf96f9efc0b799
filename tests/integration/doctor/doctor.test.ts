/**
 * The doctor against the AWS simulator: one host per reason a connection fails. Each really fails
 * to connect (Keyless's own connector, real sshd behind the simulated network); the doctor names
 * exactly that cause; where the fix is one click it is applied through the EC2 API and the
 * connection then succeeds. Then its timing: at 50 ms per AWS call, the whole run takes at most one
 * round trip more than its longest chain of calls that had to wait for each other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorCall, DoctorReport } from '../../../electron/contract';
import { AwsClients } from '../../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { silentLogger } from '../../../electron/main/base/log';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { InstanceConnector, type Ec2Target } from '../../../electron/main/connect/instance-connector';
import { Doctor } from '../../../electron/main/doctor/doctor-service';
import { KnownHosts } from '../../../electron/main/ssh/known-hosts';
import { DOCTOR_HOSTS, DOCTOR_REGION, doctorFleet, type DoctorHostName } from '../../sim/doctor-fleet';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';
import { useSimulatorAws } from '../support/simulator-aws';

let sim: Simulator;
let home: string;
let awsDir: string;
let doctor: Doctor;
let clients: AwsClients;
const savedEnv = { ...process.env };

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({ fleet: doctorFleet(), regions: [DOCTOR_REGION] });
  awsDir = await useSimulatorAws(sim, DOCTOR_REGION);
  home = await mkdtemp(join(tmpdir(), 'keyless-home-'));
  clients = new AwsClients(new SdkCredentialSource());
  const connector = new InstanceConnector({ clients, inventory: new Ec2Inventory(clients), knownHosts: new KnownHosts(join(home, 'known_hosts'), []), log: silentLogger, authRetryDelayMs: 200, handshakeTimeoutMs: 8000 });
  doctor = new Doctor({ clients, connector, log: silentLogger, publicAddress: async () => (await (await fetch(`${sim.endpoint}/__checkip`)).text()).trim() });
}, 240_000);

afterAll(async () => {
  if (sshdMissing) return;
  doctor?.dispose();
  clients?.dispose();
  await sim?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(awsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

function targetOf(name: DoctorHostName): Ec2Target {
  const h = DOCTOR_HOSTS[name];
  return {
    region: DOCTOR_REGION,
    instanceId: h.id,
    connectionType: h.route,
    port: h.route === 'direct' ? sim.publicPortFor(h.id)! : 22,
    ...('profile' in h ? { profile: h.profile } : {}),
    ...('osUser' in h ? { osUser: h.osUser } : {}),
  };
}

/** Connects as a terminal would, with a connector of its own (nothing cached from the doctor's run). */
async function connects(name: DoctorHostName): Promise<true | string> {
  const c = new AwsClients(new SdkCredentialSource());
  const connector = new InstanceConnector({ clients: c, inventory: new Ec2Inventory(c), knownHosts: new KnownHosts(join(home, 'known_hosts'), []), log: silentLogger, authRetryDelayMs: 200, handshakeTimeoutMs: 8000 });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  try {
    const conn = await connector.connect({ kind: 'ec2', label: name, target: targetOf(name) }, undefined, { report() {}, signal: ac.signal, askHostKey: async () => false, askPassphrase: async () => null });
    conn.ssh.end();
    return true;
  } catch (err) {
    return err instanceof KeylessFailure ? `${err.code}: ${err.message}` : String(err);
  } finally {
    clearTimeout(timer);
    c.dispose();
  }
}

const summary = (r: DoctorReport) => r.lines.map((l) => `${l.check}:${l.status}:${l.finding}`).join('\n');

const broken = (Object.keys(DOCTOR_HOSTS) as DoctorHostName[]).filter((n) => DOCTOR_HOSTS[n].cause !== null);

describe.skipIf(!!sshdMissing)('the doctor, one simulated host per cause', { timeout: 180_000 }, () => {
  it('a healthy host: every line passes and the connection opens', async () => {
    const r = await doctor.run(targetOf('healthy'));
    expect(r.cause, summary(r)).toBeNull();
    expect(r.lines.filter((l) => l.status !== 'passed' && l.status !== 'notApplicable'), summary(r)).toEqual([]);
    expect(r.lines.map((l) => l.check)).toEqual(['credentials', 'iamPush', 'iamTunnel', 'instanceState', 'statusChecks', 'metadata', 'osUser', 'route', 'securityGroups', 'networkAcls', 'sshd', 'load']);
    expect(await connects('healthy')).toBe(true);
  });

  it.each(broken)('%s: the connection fails, the doctor names exactly that cause, and the one-click fix lets it connect', async (name) => {
    const host = DOCTOR_HOSTS[name];
    expect(await connects(name)).not.toBe(true);
    const r = await doctor.run(targetOf(name));
    expect(r.cause, summary(r)).toBe(host.cause);
    const line = r.lines.find((l) => l.check === host.cause)!;
    expect(line.status).toBe('failed');
    // Every failed line says how to fix it: an AWS CLI command and a Terraform snippet.
    for (const l of r.lines.filter((x) => x.status === 'failed')) {
      expect(l.fix?.cli, `${l.check}`).toMatch(/^aws /);
      expect(l.fix?.terraform.length, `${l.check}`).toBeGreaterThan(10);
    }
    if (!('oneClick' in host)) {
      expect(line.fix?.change).toBeUndefined();
      return;
    }
    const change = line.fix!.change!;
    expect(JSON.stringify(change)).not.toMatch(/\/0"/);
    expect(line.fix!.sharedWith).toBeDefined();
    expect(await doctor.applyFix(targetOf(name), change)).toMatchObject({ ruleIds: [expect.stringMatching(/^sgr-/)] });
    const again = await doctor.run(targetOf(name));
    expect(again.cause, summary(again)).toBeNull();
    expect(await connects(name)).toBe(true);
  });

  it('names the permission it lacked, and falls back to the key push as the authoritative test', async () => {
    sim.admin.setPolicies('AKIASIMDOCTORLIMITED', [
      { Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*', 'ec2:GetConsoleOutput', 'ec2-instance-connect:*', 'sts:GetCallerIdentity'], Resource: '*' }] },
    ]);
    const r = await doctor.run(targetOf('iamDenied'));
    const push = r.lines.find((l) => l.check === 'iamPush')!;
    expect(push).toMatchObject({ status: 'passed', finding: 'iamPushAllowedByTry', lacking: 'iam:SimulatePrincipalPolicy' });
    expect(r.lines.find((l) => l.check === 'load')).toMatchObject({ status: 'couldNotCheck', lacking: 'cloudwatch:GetMetricData' });
  });

  it('reads in parallel: at 50 ms per call, at most one round trip more than its longest chain of dependent calls', async () => {
    sim.admin.setLatency('*', 50);
    try {
      await doctor.run(targetOf('healthy'));
      const r = await doctor.run(targetOf('healthy'));
      const chain = longestChain(r.calls);
      console.log(`doctor at 50 ms latency: wall ${r.wallMs} ms, longest dependent chain ${chain.ms} ms (${chain.names.join(' → ')}), ${r.calls.length} calls`);
      expect(r.cause).toBeNull();
      expect(r.wallMs).toBeLessThanOrEqual(chain.ms + 50);
    } finally {
      sim.admin.resetFaults();
    }
  });
});

/** The longest path through the calls by their recorded dependencies, summing each call's own duration. */
function longestChain(calls: DoctorCall[]): { ms: number; names: string[] } {
  const memo = new Map<string, { ms: number; names: string[] }>();
  const best = (name: string): { ms: number; names: string[] } => {
    const known = memo.get(name);
    if (known) return known;
    const own = calls.filter((c) => c.name === name);
    const dur = own.length ? Math.max(...own.map((c) => c.endMs - c.startMs)) : 0;
    const deps = [...new Set(own.flatMap((c) => c.after))].map(best).sort((a, b) => b.ms - a.ms)[0] ?? { ms: 0, names: [] };
    const out = { ms: deps.ms + dur, names: [...deps.names, name] };
    memo.set(name, out);
    return out;
  };
  return calls.map((c) => best(c.name)).sort((a, b) => b.ms - a.ms)[0] ?? { ms: 0, names: [] };
}
