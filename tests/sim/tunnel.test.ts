import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ACCOUNT_ID, sshdMissing, startSimulator, type Simulator } from './index';
import { aws, awsEnv, presignOpenTunnel, proxyCommand, sshKey, sshRun } from './support';

if (sshdMissing) console.warn(`Skipping the EICE tunnel tests: ${sshdMissing}`);

const SUBNET = 'subnet-0bbb0000000000001';
const ID = 'i-0bbb0000000000001';
const IP = '10.8.1.10';
const EICE = 'eice-0bbb0000000000001';

/** Opens a tunnel WebSocket; resolves with how it ended (or opened, with `keep`). */
function openWs(sim: Simulator, url: string, keep = false): Promise<{ ws?: WebSocket; status?: number; body?: string; code?: number; reason?: string }> {
  const signed = new URL(url);
  return new Promise((resolve) => {
    const ws = new WebSocket(`${sim.tunnelEndpointFor(signed.hostname)}${signed.pathname}${signed.search}`, { headers: { host: signed.host } });
    ws.on('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('open', () => keep && resolve({ ws }));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => {});
  });
}

describe.skipIf(!!sshdMissing)('EICE openTunnel WebSocket', () => {
  let sim: Simulator;
  let dns: string;
  const limited = { accessKeyId: 'AKIATUNNELLIMITED001', secretAccessKey: 'tunnel-limited-secret-000000000000000000', arn: `arn:aws:iam::${ACCOUNT_ID}:user/limited` };

  beforeAll(async () => {
    sim = await startSimulator({
      fleet: {
        vpcs: [{ id: 'vpc-0bbb0000000000001', region: 'us-east-1', cidr: '10.8.0.0/16', subnets: [{ id: SUBNET, availabilityZone: 'us-east-1a', cidr: '10.8.1.0/24' }] }],
        instances: [{ id: ID, region: 'us-east-1', subnetId: SUBNET, privateIp: IP }],
        endpoints: [{ id: EICE, region: 'us-east-1', subnetId: SUBNET }],
        principals: [
          {
            ...limited,
            policies: [
              {
                Statement: [
                  { Effect: 'Allow', Action: 'ec2-instance-connect:OpenTunnel', Resource: '*', Condition: { NumericEquals: { 'ec2-instance-connect:remotePort': 22 }, IpAddress: { 'ec2-instance-connect:privateIpAddress': '10.8.1.0/28' }, NumericLessThanEquals: { 'ec2-instance-connect:maxTunnelDuration': 600 } } },
                  { Effect: 'Deny', Action: 'ec2-instance-connect:OpenTunnel', Resource: '*', Condition: { IpAddress: { 'ec2-instance-connect:privateIpAddress': '10.8.1.11/32' } } },
                ],
              },
            ],
          },
        ],
      },
    });
    dns = sim.endpoints()[0]!.dnsName;
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const admin = () => sim.principals[0]!;
  const url = (q: Partial<{ port: number; maxTunnelDuration: number; privateIp: string }> = {}, who: { accessKeyId: string; secretAccessKey: string } = admin(), opts = {}) =>
    presignOpenTunnel(who, 'us-east-1', dns, { endpointId: EICE, privateIp: q.privateIp ?? IP, port: q.port, maxTunnelDuration: q.maxTunnelDuration }, opts);

  it('carries OpenSSH to the private instance through a ProxyCommand', async () => {
    const d = await aws(sim.endpoint, awsEnv(admin()), ['ec2', 'describe-instance-connect-endpoints', '--filters', 'Name=state,Values=create-complete', 'Name=vpc-id,Values=vpc-0bbb0000000000001']);
    expect(d.json.InstanceConnectEndpoints[0].DnsName).toBe(dns);
    expect(dns).toMatch(new RegExp(`^${EICE}\\.[0-9a-f]{8}\\.ec2-instance-connect-endpoint\\.us-east-1\\.amazonaws\\.com$`));
    const key = sshKey();
    expect((await aws(sim.endpoint, awsEnv(admin()), ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', ID, '--instance-os-user', 'ec2-user', '--ssh-public-key', key.pub])).code).toBe(0);
    const r = await sshRun('ec2-user', key.path, { proxyCommand: proxyCommand(await url(), sim.endpoint), command: 'echo through-the-tunnel; head -c 300000 /dev/zero | wc -c' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['through-the-tunnel', '300000']);
  });

  it('refuses bad signatures, expired URLs, the wrong service and unknown endpoints before upgrading', async () => {
    const good = await url();
    const tampered = good.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    const bad = await openWs(sim, tampered);
    expect(bad.status).toBe(403);
    expect(bad.body).toMatch(/InvalidSignatureException.*signature we calculated does not match/);
    const old = await openWs(sim, await url({}, admin(), { at: new Date(Date.now() - 61_000) }));
    expect(old.status).toBe(403);
    expect(old.body).toMatch(/Request has expired/);
    const wrongService = await openWs(sim, await url({}, admin(), { service: 'ec2' }));
    expect(wrongService.body).toMatch(/Credential should be scoped to correct service: 'ec2-instance-connect'/);
    const unknown = await openWs(sim, (await url()).replace(EICE, 'eice-0bbb000000000dead'));
    expect(unknown.status).toBe(403); // the id is signed: changing it breaks the signature first
    const stranger = await openWs(sim, await url({}, { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' }));
    expect(stranger.body).toMatch(/UnrecognizedClientException/);
  });

  it('holds a presigned URL to its dates as AWS does: not before X-Amz-Date (a second allowed), not after X-Amz-Expires; answers are dated by its clock', async () => {
    const at = (ms: number) => url({}, admin(), { at: new Date(Date.now() + ms) });
    const early = await openWs(sim, await at(2 * 60_000));
    expect(early.status).toBe(403);
    expect(early.body).toMatch(/InvalidSignatureException.*Signature not yet current: \d{8}T\d{6}Z is still later than/);
    const late = await openWs(sim, await at(-2 * 60_000));
    expect([late.status, late.body]).toEqual([403, expect.stringMatching(/InvalidSignatureException.*Request has expired/)]);
    // 58 s old is still good (X-Amz-Date drops the milliseconds, and opening takes a moment on a
    // busy machine: signed at -59 s it once arrived past 60 s); so is header auth two minutes out,
    // which AWS gives 15 minutes.
    const ok = await openWs(sim, await at(-58_000), true);
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
    const header = await aws(sim.endpoint, awsEnv(admin()), ['ec2', 'describe-regions']);
    expect(header.code).toBe(0);
    // The service's clock dates the refusal and the upgrade alike, so a client can correct its own.
    const answerDate = (u: string) =>
      new Promise<{ status: number; date: string | undefined }>((resolve) => {
        const s = new URL(u);
        const ws = new WebSocket(`${sim.tunnelEndpointFor(s.hostname)}${s.pathname}${s.search}`, { headers: { host: s.host } });
        ws.on('upgrade', (res) => resolve({ status: 101, date: res.headers.date }));
        ws.on('open', () => ws.close());
        ws.on('unexpected-response', (_q, res) => (res.resume(), resolve({ status: res.statusCode ?? 0, date: res.headers.date })));
        ws.on('error', () => {});
      });
    const serviceNow = () => Date.now() + 20 * 60_000;
    sim.admin.setClockSkew(20 * 60_000);
    try {
      const upgraded = await answerDate(await at(20 * 60_000));
      expect(upgraded.status).toBe(101);
      expect(Math.abs(Date.parse(upgraded.date!) - serviceNow())).toBeLessThan(5000);
      const refused = await answerDate(await at(0));
      expect(refused.status).toBe(403);
      expect(Math.abs(Date.parse(refused.date!) - serviceNow())).toBeLessThan(5000);
    } finally {
      sim.admin.setClockSkew(0);
    }
  });

  it('only ports 22 and 3389 inside the VPC; nothing listening closes with "Unable to connect to target"', async () => {
    expect((await openWs(sim, await url({ port: 80 }))).status).toBe(400);
    expect((await openWs(sim, await url({ privateIp: '192.168.1.1' }))).status).toBe(400);
    const rdp = await openWs(sim, await url({ port: 3389 }));
    expect([rdp.code, rdp.reason]).toEqual([1011, 'Unable to connect to target']);
    const empty = await openWs(sim, await url({ privateIp: '10.8.1.99' }));
    expect([empty.code, empty.reason]).toEqual([1011, 'Unable to connect to target']);
  });

  it('evaluates OpenTunnel conditions: port, address range, duration; explicit deny wins', async () => {
    const ok = await openWs(sim, await url({ maxTunnelDuration: 300 }, limited), true);
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
    const long = await openWs(sim, await url({ maxTunnelDuration: 3600 }, limited));
    expect(long.status).toBe(403);
    expect(long.body).toContain(`User: ${limited.arn} is not authorized to perform: ec2-instance-connect:OpenTunnel on resource: arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance-connect-endpoint/${EICE} because no identity-based policy allows`);
    const denied = await openWs(sim, await url({ maxTunnelDuration: 300, privateIp: '10.8.1.11' }, limited));
    expect(denied.body).toMatch(/with an explicit deny in an identity-based policy/);
  });

  it('allows 20 concurrent tunnels per endpoint and refuses the 21st', async () => {
    const open = await Promise.all(Array.from({ length: 20 }, async () => (await openWs(sim, await url(), true)).ws!));
    expect(open.every((w) => w.readyState === WebSocket.OPEN)).toBe(true);
    const extra = await openWs(sim, await url());
    expect(extra.status).toBe(429);
    open.forEach((w) => w.close());
    await new Promise((r) => setTimeout(r, 200));
    const again = await openWs(sim, await url(), true);
    expect(again.ws).toBeDefined();
    again.ws!.close();
  });

  it('cuts the tunnel at maxTunnelDuration, on a text frame, on a drop fault, and on endpoint deletion', async () => {
    const t0 = Date.now();
    const cut = await openWs(sim, await url({ maxTunnelDuration: 1 }));
    expect(cut.code).toBe(1000);
    expect(cut.reason).toMatch(/max duration/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);

    const text = await openWs(sim, await url(), true);
    const closed = new Promise<number>((r) => text.ws!.on('close', (c) => r(c)));
    text.ws!.send('hello', { binary: false });
    expect(await closed).toBe(1003);

    sim.admin.dropTunnelsAfter({ bytes: 10 });
    const dropped = await openWs(sim, await url()); // sshd's banner alone passes 10 bytes
    expect(dropped.code).toBe(1006);
    sim.admin.dropTunnelsAfter({ seconds: 0.5 });
    const t1 = Date.now();
    const timedOut = await openWs(sim, await url());
    expect(timedOut.code).toBe(1006);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(450);
    sim.admin.dropTunnelsAfter({});

    const live = await openWs(sim, await url(), true);
    const ended = new Promise<[number, string]>((r) => live.ws!.on('close', (c, why) => r([c, why.toString()])));
    sim.admin.deleteEndpoint(EICE);
    expect((await ended)[0]).not.toBe(1000);
    expect((await openWs(sim, await url())).status).toBe(404);
  });
});
