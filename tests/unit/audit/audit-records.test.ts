import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAuditEntry } from '../../../electron/contract';
import { toTrailRecord } from '../../../electron/main/audit/cloudtrail-lookup';
import { ConnectionLog } from '../../../electron/main/audit/connection-log';

describe('CloudTrail records as the audit view shows them', () => {
  it('reads a tunnel: caller, source IP, endpoint, no OS user', () => {
    const r = toTrailRecord(
      {
        EventId: 'e1',
        EventName: 'OpenTunnel',
        EventTime: 1_764_300_000.5,
        Username: 'alice',
        Resources: [{ ResourceType: 'AWS::EC2::InstanceConnectEndpoint', ResourceName: 'arn:aws:ec2:eu-west-1:123456789012:instance-connect-endpoint/eice-0123456789abcdef0' }],
        CloudTrailEvent: JSON.stringify({
          userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/Ops/alice' },
          sourceIPAddress: '203.0.113.7',
          awsRegion: 'eu-west-1',
          requestParameters: { instanceConnectEndpointId: 'eice-0123456789abcdef0', remotePort: '22', privateIpAddress: '10.0.2.20' },
        }),
      },
      'eu-west-1',
    );
    expect(r).toEqual({
      eventId: 'e1',
      time: 1_764_300_000_500,
      eventName: 'OpenTunnel',
      region: 'eu-west-1',
      user: 'arn:aws:sts::123456789012:assumed-role/Ops/alice',
      sourceIp: '203.0.113.7',
      instanceId: null,
      endpointId: 'eice-0123456789abcdef0',
      // The private address the tunnel went to: how the audit finds tunnels to a host.
      targetIp: '10.0.2.20',
      osUser: null,
      errorCode: null,
      errorMessage: null,
      alarms: [],
    });
  });

  it('keeps the summary fields when the event document is unreadable', () => {
    const r = toTrailRecord(
      { EventId: 'e2', EventName: 'SendSSHPublicKey', EventTime: 1, Username: 'bob', Resources: [{ ResourceType: 'AWS::EC2::Instance', ResourceName: 'arn:aws:ec2:us-east-1:1:instance/i-0123456789abcdef0' }], CloudTrailEvent: '{not json' },
      'us-east-1',
    );
    expect(r).toMatchObject({ user: 'bob', instanceId: 'i-0123456789abcdef0', region: 'us-east-1', sourceIp: null, errorCode: null });
  });
});

describe('the local connection log', () => {
  let dir: string;
  const entry = (n: number, outcome: LocalAuditEntry['outcome'] = 'connected'): LocalAuditEntry => ({
    time: n,
    kind: 'terminal',
    hostName: `h${n}`,
    profile: 'prod',
    region: 'us-east-1',
    instanceId: 'i-0123456789abcdef0',
    osUser: 'ec2-user',
    connection: 'eice',
    outcome,
    errorCode: outcome === 'failed' ? 'AuthFailed' : null,
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyless-audit-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends JSON lines in order, readable newest first, private to the user', async () => {
    const log = new ConnectionLog(join(dir, 'audit.jsonl'));
    void log.append(entry(1));
    void log.append(entry(2, 'failed'));
    await log.append(entry(3));
    expect((await log.read()).map((e) => e.time)).toEqual([3, 2, 1]);
    expect((await log.read(2)).map((e) => e.time)).toEqual([3, 2]);
    expect((await readFile(log.file, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as LocalAuditEntry).time)).toEqual([1, 2, 3]);
    if (process.platform !== 'win32') expect((await stat(log.file)).mode & 0o777).toBe(0o600);
  });

  it('skips a torn or hand-edited line, and reads nothing when there is no log yet', async () => {
    const log = new ConnectionLog(join(dir, 'audit.jsonl'));
    expect(await log.read()).toEqual([]);
    await log.append(entry(1));
    await appendFile(log.file, '{"time": 2, "kind": "terminal"\nnot json\n{"time":3}\n');
    await log.append(entry(4));
    expect((await log.read()).map((e) => e.time)).toEqual([4, 1]);
  });

  it('moves a large log aside and starts again', async () => {
    const file = join(dir, 'audit.jsonl');
    await writeFile(file, (JSON.stringify(entry(0)) + '\n').repeat(40_000));
    const log = new ConnectionLog(file);
    await log.append(entry(9));
    expect((await log.read()).map((e) => e.time)).toEqual([9]);
    expect((await stat(`${file}.1`)).size).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('writes only the fields it knows (there is no place for a key or a token)', async () => {
    const log = new ConnectionLog(join(dir, 'audit.jsonl'));
    await log.append({ ...entry(1), ...({ sshPublicKey: 'ssh-ed25519 AAAA' } as object) } as LocalAuditEntry);
    expect(await readFile(log.file, 'utf8')).not.toContain('ssh-ed25519');
  });
});
