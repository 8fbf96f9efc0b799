import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTree } from '../../../electron/contract';
import { createAuditServices } from '../../../electron/main/audit/audit-handlers';
import { lookupInstanceConnectEvents } from '../../../electron/main/audit/cloudtrail-lookup';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { silentLogger } from '../../../electron/main/base/log';
import { ProfileCredentials } from '../../../electron/main/profiles/profile-credentials';
import { ACCOUNT_ID, demoFleet, startSimulator, type Simulator } from '../../sim/index';
import { awsEnv } from '../../sim/support';
import { fakePeer } from '../profiles/fake-peer';

const AWS_ENV = ['AWS_PROFILE', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_CLOUDTRAIL', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];
const saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM audit@test';
const INSTANCE = 'i-0a1b2c3d4e5f00002';

let sim: Simulator;
let dir: string;
const credentials = new ProfileCredentials({ log: silentLogger });
const tree: HostTree = {
  groups: [{ id: 'g1', name: 'prod', parentId: null, settings: { profile: 'operator', region: 'us-east-1', osUser: 'ec2-user' }, notes: '' }],
  hosts: [
    { kind: 'ec2', id: 'h1', name: 'app-1', groupId: 'g1', instanceId: INSTANCE, port: 22, portForwards: [], tags: [], notes: '', favourite: false, connectionType: 'eice' },
    { kind: 'ec2', id: 'h3', name: 'web-1', groupId: null, instanceId: 'i-0a1b2c3d4e5f00001', profile: 'ghost', region: 'us-east-1', port: 22, portForwards: [], tags: [], notes: '', favourite: false },
    { kind: 'ssh', id: 'h2', name: 'box', groupId: null, host: 'box.example.com', port: 22, user: 'me', auth: { type: 'agent' }, tags: [], notes: '', favourite: false },
  ],
  recents: [],
  smartGroups: [],
};

/** A command line run by bash, as pasted into a terminal. */
function sh(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { env, timeout: 60_000 }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
  });
}

function services() {
  return createAuditServices({
    home: join(dir, 'keyless'),
    log: silentLogger,
    hosts: { tree: async () => tree },
    inventory: async () => null,
    credentials: (p) => credentials.credentials(p),
  });
}

async function pushAs(profile: string, osUser: string): Promise<string> {
  const client = new EC2InstanceConnectClient({ profile, region: 'us-east-1', credentials: () => credentials.credentials(profile) });
  try {
    await client.send(new SendSSHPublicKeyCommand({ InstanceId: INSTANCE, InstanceOSUser: osUser, SSHPublicKey: KEY }));
    return 'ok';
  } catch (err) {
    return (err as Error).name;
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  const fleet = demoFleet();
  // Allowed to push keys, not to read CloudTrail.
  fleet.principals!.push({
    accessKeyId: 'AKIASIMNOTRAIL000001',
    secretAccessKey: 'sim/notrail/secret/key/0000000000000000000',
    arn: `arn:aws:iam::${ACCOUNT_ID}:user/notrail`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2-instance-connect:SendSSHPublicKey', Resource: '*' }] }],
    profile: 'notrail',
  });
  sim = await startSimulator({ fleet, noSshd: true });
  dir = await mkdtemp(join(tmpdir(), 'keyless-audit-'));
  const files = await sim.writeAwsConfig(join(dir, 'aws'));
  for (const k of AWS_ENV) delete process.env[k];
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  await sim?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the audit view’s channels against the AWS simulator', () => {
  it('lists an allowed and a denied key push with who, when, where from, which instance and user, and the outcome', async () => {
    const before = Date.now() - 1000;
    expect(await pushAs('operator', 'ec2-user')).toBe('ok');
    expect(await pushAs('operator', 'ubuntu')).toBe('AccessDeniedException');
    const audit = services();
    const page = await audit.handlers['audit.trail']({ requestId: 't1', profile: 'default', region: 'us-east-1' }, fakePeer().call());
    expect(page.nextToken).toBeNull();
    const pushes = page.events.filter((e) => e.eventName === 'SendSSHPublicKey');
    expect(pushes).toHaveLength(2);
    const [denied, allowed] = pushes; // newest first
    expect(denied).toMatchObject({
      user: `arn:aws:iam::${ACCOUNT_ID}:user/operator`,
      region: 'us-east-1',
      sourceIp: '127.0.0.1',
      instanceId: INSTANCE,
      endpointId: null,
      osUser: 'ubuntu',
      errorCode: 'AccessDeniedException',
    });
    expect(denied!.errorMessage).toMatch(/explicit deny/);
    expect(allowed).toMatchObject({ user: `arn:aws:iam::${ACCOUNT_ID}:user/operator`, osUser: 'ec2-user', instanceId: INSTANCE, errorCode: null, errorMessage: null });
    for (const e of pushes) expect(e.time).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    // Another region's trail is its own.
    const west = await audit.handlers['audit.trail']({ requestId: 't2', profile: 'default', region: 'us-west-2' }, fakePeer().call());
    expect(west.events).toEqual([]);
  });

  it('writes alarm setup commands the AWS CLI runs as written: one request each, the filter patterns intact', async () => {
    const topicArn = `arn:aws:sns:us-east-1:${ACCOUNT_ID}:security-alerts`;
    const setup = await services().handlers['audit.alarmSetup']({ profile: 'default', region: 'us-east-1', topicArn, trailBucket: 'org-trail-logs', threshold: 2 }, fakePeer().call());
    expect(setup.account).toBe(ACCOUNT_ID);
    expect(setup.terraform).toContain(`alarm_actions       = ["${topicArn}"]`);
    const seen: Array<{ op: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(req.headers['content-type']?.includes('x-www-form-urlencoded') ? body : '');
        const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() || /\/operation\/(\w+)/.exec(req.url ?? '')?.[1] || form.get('Action') || '?';
        seen.push({ op, body });
        // An error the CLI reports and exits on: the request is what this test reads.
        if (form.get('Action')) {
          res.writeHead(400, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Type>Sender</Type><Code>Recorded</Code><Message>recorded</Message></Error></ErrorResponse>');
        } else {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'Recorded', message: 'recorded' }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const lines = setup.cli.trim().split('\n');
      for (const line of lines) {
        // A home of its own: bash -c on a socket for stdin (as Node starts it) reads ~/.bashrc.
        const r = await sh(`${line} --endpoint-url ${url}`, { ...awsEnv(sim.principals[0]!), HOME: dir });
        expect(r.code, line).not.toBe(0);
        expect(r.stderr, line).not.toMatch(/usage:|Parameter validation failed|Unknown options|Invalid choice|Error parsing parameter/i);
      }
      expect(seen.map((x) => x.op)).toEqual([
        'CreateLogGroup', 'PutRetentionPolicy', 'CreateRole', 'PutRolePolicy', 'CreateTrail', 'StartLogging',
        'PutMetricFilter', 'PutMetricAlarm', 'PutMetricFilter', 'PutMetricAlarm',
      ]);
      const filters = seen.filter((x) => x.op === 'PutMetricFilter').map((x) => JSON.parse(x.body) as { filterPattern: string; metricTransformations: unknown[] });
      expect(filters.map((f) => f.filterPattern)).toEqual(setup.rules.map((r) => r.pattern));
      expect(setup.rules.map((r) => r.pattern)).toEqual([
        '{ ($.eventSource = "ec2-instance-connect.amazonaws.com") && ($.errorCode = "AccessDenied*") }',
        '{ ($.eventSource = "ec2-instance-connect.amazonaws.com") && ($.requestParameters.instanceOSUser = "root") }',
      ]);
      const trail = JSON.parse(seen.find((x) => x.op === 'CreateTrail')!.body) as Record<string, string>;
      expect(trail).toMatchObject({ S3BucketName: 'org-trail-logs', CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT_ID}:log-group:/keyless/instance-connect:*` });
    } finally {
      server.close();
    }
  }, 120_000);

  it('pages with NextToken, and an earlier window leaves today’s events out', async () => {
    const first = await lookupInstanceConnectEvents(
      { profile: 'default', region: 'us-east-1', startTime: new Date(Date.now() - 3600_000), endTime: new Date(), maxResults: 1 },
      { credentials: (p) => credentials.credentials(p) },
    );
    expect(first.events).toHaveLength(1);
    expect(first.nextToken).toBeTruthy();
    const second = await lookupInstanceConnectEvents(
      { profile: 'default', region: 'us-east-1', startTime: new Date(Date.now() - 3600_000), endTime: new Date(), maxResults: 1, nextToken: first.nextToken! },
      { credentials: (p) => credentials.credentials(p) },
    );
    expect(second.events[0]!.eventId).not.toBe(first.events[0]!.eventId);
    const old = await services().handlers['audit.trail'](
      { requestId: 't3', profile: 'default', region: 'us-east-1', startTime: Date.now() - 3 * 86_400_000, endTime: Date.now() - 2 * 86_400_000 },
      fakePeer().call(),
    );
    expect(old.events).toEqual([]);
  });

  it('honours AWS_ENDPOINT_URL_CLOUDTRAIL like the SDK clients do', async () => {
    const env = { ...process.env, AWS_ENDPOINT_URL_CLOUDTRAIL: 'http://127.0.0.1:9' };
    const err = await lookupInstanceConnectEvents(
      { profile: 'default', region: 'us-east-1', startTime: new Date(Date.now() - 60_000), endTime: new Date() },
      { credentials: (p) => credentials.credentials(p), env },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeylessFailure);
    expect((err as KeylessFailure).code).toBe('NetworkError');
  });

  it('says which statement is missing when the profile may not read CloudTrail', async () => {
    const err = await Promise.resolve(services().handlers['audit.trail']({ requestId: 't4', profile: 'notrail', region: 'us-east-1' }, fakePeer().call())).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeylessFailure);
    expect((err as KeylessFailure).code).toBe('AwsAccessDenied');
    expect((err as KeylessFailure).detail).toMatchObject({ action: 'cloudtrail:LookupEvents', profile: 'notrail' });
    expect(String((err as KeylessFailure).detail?.policy)).toContain('"Action": "cloudtrail:LookupEvents"');
  });

  it('logs Keyless’s own connections, allowed and refused, as JSON lines without keys or tokens', async () => {
    const audit = services();
    const route = (kind: 'ssh' | 'eice', jumps: string[] = []) => ({ kind, jumps, address: '10.0.0.5', port: 22 });
    const wrapped = audit.recordConnections({
      'session.open': async (args) => {
        if (args.hostId === 'h2') return { sessionId: 's1', route: route('ssh', ['bastion']), osUser: 'me' };
        // The same decision AWS makes: the operator may push for ec2-user only.
        const outcome = await pushAs('operator', args.target?.osUser ?? 'ec2-user');
        if (outcome !== 'ok') throw new KeylessFailure('AwsAccessDenied', 'denied', false);
        return { sessionId: 's2', route: route('eice'), osUser: args.target?.osUser ?? 'ec2-user' };
      },
      'forward.open': async () => {
        throw new KeylessFailure('Cancelled', 'cancelled', true);
      },
    });
    const ctx = fakePeer().call();
    await wrapped['session.open']({ requestId: 'o1', hostId: 'h2', cols: 80, rows: 24, reconnect: false }, ctx);
    await wrapped['session.open']({ requestId: 'o2', cols: 80, rows: 24, reconnect: false, hostId: 'h1' }, ctx);
    const target = { profile: 'operator', region: 'us-east-1', instanceId: INSTANCE, osUser: 'ubuntu', connectionType: 'eice' as const, port: 22 };
    await expect(wrapped['session.open']({ requestId: 'o3', cols: 80, rows: 24, reconnect: false, target }, ctx)).rejects.toThrow('denied');
    await expect(wrapped['forward.open']({ requestId: 'o4', kind: 'eice', localPort: 0, remotePort: 22, hostId: 'h1' }, ctx)).rejects.toThrow('cancelled');
    // A terminal's later life: it reconnected after a dropped tunnel, then ended.
    await audit.sessionEvents.reconnected({ sessionId: 's2', ref: { hostId: 'h1' }, route: route('eice'), osUser: 'ec2-user', after: 'TunnelClosed' });
    await audit.sessionEvents.ended({ sessionId: 's2', ref: { hostId: 'h1' }, route: route('eice'), osUser: 'ec2-user', durationMs: 4321 });

    const { file, entries } = await audit.handlers['audit.local']({}, ctx);
    expect(entries.map((e) => [e.kind, e.hostName, e.instanceId, e.osUser, e.connection, e.outcome, e.errorCode])).toEqual([
      ['end', 'app-1', INSTANCE, 'ec2-user', 'eice', 'connected', null],
      ['reconnect', 'app-1', INSTANCE, 'ec2-user', 'eice', 'connected', 'TunnelClosed'],
      ['forward', 'app-1', INSTANCE, 'ec2-user', 'eice', 'cancelled', 'Cancelled'],
      ['terminal', null, INSTANCE, 'ubuntu', 'eice', 'failed', 'AwsAccessDenied'],
      ['terminal', 'app-1', INSTANCE, 'ec2-user', 'eice', 'connected', null],
      // The route actually used, jump hosts included.
      ['terminal', 'box', null, 'me', 'ssh', 'connected', null],
    ]);
    expect(entries[0]).toMatchObject({ sessionId: 's2', durationMs: 4321 });
    expect(entries[5]).toMatchObject({ via: ['bastion'], sessionId: 's1' });
    expect(entries[3]).toMatchObject({ profile: 'operator', region: 'us-east-1' });
    const text = await readFile(file, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(6);
    expect(text).not.toMatch(/ssh-ed25519|AKIA|secret|X-Amz-Signature/);
    // The same denial is in CloudTrail, seen through the audit channel.
    const trail = await audit.handlers['audit.trail']({ requestId: 't5', profile: 'default', region: 'us-east-1' }, ctx);
    expect(trail.events.filter((e) => e.errorCode === 'AccessDeniedException' && e.osUser === 'ubuntu')).toHaveLength(2);
  });

  it('writes a policy for a group’s hosts that the simulator enforces', async () => {
    const r = await services().handlers['policy.generate']({ groupId: 'g1' }, fakePeer().call());
    expect(r.hosts).toBe(1);
    // No inventory yet: the account comes from the profile's STS identity.
    expect(r.notes).toEqual([{ kind: 'endpointUnknown', value: 'us-east-1' }]);
    expect(JSON.parse(r.policyJson).Statement[0]).toEqual({
      Sid: 'SendSSHPublicKey',
      Effect: 'Allow',
      Action: ['ec2-instance-connect:SendSSHPublicKey'],
      Resource: [`arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/${INSTANCE}`],
      Condition: { StringEquals: { 'ec2:osuser': ['ec2-user'] } },
    });
    sim.admin.addPrincipal({
      accessKeyId: 'AKIASIMGENERATED0001',
      secretAccessKey: 'sim/generated/secret/key/00000000000000000',
      arn: `arn:aws:iam::${ACCOUNT_ID}:user/generated`,
      policies: [JSON.parse(r.policyJson)],
      profile: 'generated',
    });
    const client = new EC2InstanceConnectClient({
      region: 'us-east-1',
      endpoint: sim.endpoint,
      credentials: { accessKeyId: 'AKIASIMGENERATED0001', secretAccessKey: 'sim/generated/secret/key/00000000000000000' },
    });
    const push = (InstanceOSUser: string, InstanceId = INSTANCE) =>
      client.send(new SendSSHPublicKeyCommand({ InstanceId, InstanceOSUser, SSHPublicKey: KEY })).then(
        () => 'ok',
        (e: Error) => e.name,
      );
    expect(await push('ec2-user')).toBe('ok');
    expect(await push('root')).toBe('AccessDeniedException');
    expect(await push('ec2-user', 'i-0a1b2c3d4e5f00001')).toBe('AccessDeniedException');
    client.destroy();
  });

  it('writes * for the account of a profile that cannot be identified (no credentials), and says so', async () => {
    const r = await services().handlers['policy.generate']({ hostIds: ['h3', 'h2'] }, fakePeer().call());
    expect(r.hosts).toBe(1);
    expect(r.skipped).toEqual([{ name: 'box', reason: 'notEc2' }]);
    expect(r.notes).toEqual([{ kind: 'accountUnknown', value: 'us-east-1' }]);
    expect(r.policyJson).toContain('arn:aws:ec2:us-east-1:*:instance/i-0a1b2c3d4e5f00001');
  });

  // Last: it adds a denial the tests above count.
  it('marks the events the alarms would count: a refused push, and a push for root even when IAM allowed it', async () => {
    expect(await pushAs('default', 'root')).toBe('ok');
    expect(await pushAs('operator', 'ubuntu')).toBe('AccessDeniedException');
    const page = await services().handlers['audit.trail']({ requestId: 't-alarms', profile: 'default', region: 'us-east-1' }, fakePeer().call());
    const [denied, root] = page.events.filter((e) => e.eventName === 'SendSSHPublicKey');
    expect(denied).toMatchObject({ osUser: 'ubuntu', errorCode: 'AccessDeniedException', alarms: ['denied'] });
    expect(root).toMatchObject({ osUser: 'root', errorCode: null, alarms: ['rootUser'] });
    for (const e of page.events) expect(e.alarms.length > 0, e.eventId).toBe(e.errorCode?.startsWith('AccessDenied') === true || e.osUser === 'root');
  });
});
