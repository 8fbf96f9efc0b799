import { DescribeInstanceConnectEndpointsCommand, EC2Client, GetConsoleOutputCommand, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient, SendSerialConsoleSSHPublicKeyCommand, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import { SSOClient, ListAccountRolesCommand } from '@aws-sdk/client-sso';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { getSSOTokenFilepath } from '@smithy/shared-ini-file-loader';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, demoFleet, startSimulator, type Simulator } from './index';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM sdk@test';

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected a failure');
}

describe('AWS SDK for JavaScript v3 clients against the simulator', () => {
  let sim: Simulator;
  let home: string;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    sim = await startSimulator({ fleet: demoFleet(), noSshd: true });
    home = mkdtempSync(join(tmpdir(), 'keyless-sim-home-'));
    const files = await sim.writeAwsConfig(join(home, '.aws'));
    // The SDK reads these itself: endpoint_url from the config file, keys from credentials.
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, { HOME: home, AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile, AWS_MAX_ATTEMPTS: '1' });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await sim?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('EC2: profiles with endpoint_url, paginators, endpoints, console output', async () => {
    const ec2 = new EC2Client({ profile: 'default' });
    const ids: string[] = [];
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {})) ids.push(...(page.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId!)));
    expect(ids.sort()).toEqual(['i-0a1b2c3d4e5f00001', 'i-0a1b2c3d4e5f00002', 'i-0a1b2c3d4e5f00003', 'i-0a1b2c3d4e5f00004']);
    const eps = await ec2.send(new DescribeInstanceConnectEndpointsCommand({ Filters: [{ Name: 'state', Values: ['create-complete'] }, { Name: 'vpc-id', Values: ['vpc-0a1b2c3d4e5f60001'] }] }));
    expect(eps.InstanceConnectEndpoints?.[0]?.CreatedAt).toBeInstanceOf(Date);
    expect(eps.InstanceConnectEndpoints?.[0]?.DnsName).toMatch(/\.ec2-instance-connect-endpoint\.us-east-1\.amazonaws\.com$/);
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: 'i-0a1b2c3d4e5f00001' }));
    expect(Buffer.from(out.Output!, 'base64').toString()).toContain('Amazon Linux 2023');
    const west = new EC2Client({ profile: 'default', region: 'us-west-2' });
    const westIds = [];
    for await (const page of paginateDescribeInstances({ client: west }, {})) westIds.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
    expect(westIds.map((i) => i.InstanceId)).toEqual(['i-0a1b2c3d4e5f00005']);
  });

  it('Instance Connect: success, each modelled error, the demo operator’s explicit deny, throttling', async () => {
    const admin = new EC2InstanceConnectClient({ profile: 'default' });
    const operator = new EC2InstanceConnectClient({ profile: 'operator' });
    const push = (c: EC2InstanceConnectClient, InstanceId: string, InstanceOSUser = 'ec2-user', SSHPublicKey = PUBLIC_KEY) => c.send(new SendSSHPublicKeyCommand({ InstanceId, InstanceOSUser, SSHPublicKey }));
    expect(await push(admin, 'i-0a1b2c3d4e5f00001')).toMatchObject({ Success: true, RequestId: expect.any(String) });
    expect(await push(operator, 'i-0a1b2c3d4e5f00001')).toMatchObject({ Success: true });
    expect(await failure(push(operator, 'i-0a1b2c3d4e5f00001', 'ubuntu'))).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('with an explicit deny in an identity-based policy') });
    expect(await failure(push(admin, 'i-0a1b2c3d4e5f00099'))).toMatchObject({ name: 'EC2InstanceNotFoundException', status: 404 });
    expect(await failure(push(admin, 'i-0a1b2c3d4e5f00004'))).toMatchObject({ name: 'EC2InstanceStateInvalidException', status: 400 });
    expect(await failure(push(admin, 'i-0a1b2c3d4e5f00001', 'ec2-user', 'sk-ssh-ed25519@openssh.com ' + 'A'.repeat(90)))).toMatchObject({ name: 'InvalidArgsException' });
    expect(await failure(push(admin, 'i-0a1b2c3d4e5f00001', 'ec2-user', 'short'))).toMatchObject({ name: 'ValidationException', message: expect.stringContaining("at 'sSHPublicKey' failed to satisfy constraint: Member must have length between 80 and 4096") });
    const serial = () => admin.send(new SendSerialConsoleSSHPublicKeyCommand({ InstanceId: 'i-0a1b2c3d4e5f00001', SSHPublicKey: PUBLIC_KEY }));
    expect(await failure(serial())).toMatchObject({ name: 'SerialConsoleAccessDisabledException' });
    sim.admin.setSerialConsoleAccess(true);
    expect(await serial()).toMatchObject({ Success: true });
    sim.admin.setThrottle('SendSSHPublicKey', 1);
    try {
      expect(await failure(push(admin, 'i-0a1b2c3d4e5f00001'))).toMatchObject({ name: 'ThrottlingException' });
    } finally {
      sim.admin.resetFaults();
    }
  });

  it('STS: caller identity and AssumeRole credentials usable by another client', async () => {
    const sts = new STSClient({ profile: 'operator' });
    expect(await sts.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: ACCOUNT_ID, Arn: `arn:aws:iam::${ACCOUNT_ID}:user/operator` });
    const { Credentials: c } = await new STSClient({ profile: 'default' }).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/KeylessOperator`, RoleSessionName: 'sdk' }));
    expect(c?.Expiration).toBeInstanceOf(Date);
    const asRole = new STSClient({ region: 'us-east-1', endpoint: sim.endpoint, credentials: { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! } });
    expect((await asRole.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/KeylessOperator/sdk`);
  });

  it('SSO: the device flow with the OIDC client, then the `sso` profile resolves credentials from the token cache', async () => {
    const oidc = new SSOOIDCClient({ region: 'us-east-1', endpoint: sim.endpoint });
    const reg = await oidc.send(new RegisterClientCommand({ clientName: 'keyless-sdk', clientType: 'public', scopes: ['sso:account:access'] }));
    const dev = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: 'https://d-90670ab1c2.awsapps.com/start' }));
    const create = () => oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'urn:ietf:params:oauth:grant-type:device_code', deviceCode: dev.deviceCode }));
    expect(await failure(create())).toMatchObject({ name: 'AuthorizationPendingException', status: 400 });
    sim.admin.approveDeviceCode(dev.userCode!);
    const tok = await create();
    const roles = await new SSOClient({ region: 'us-east-1', endpoint: sim.endpoint }).send(new ListAccountRolesCommand({ accessToken: tok.accessToken, accountId: ACCOUNT_ID }));
    expect(roles.roleList?.map((r) => r.roleName)).toEqual(['AdministratorAccess', 'KeylessOperator']);

    // What `aws sso login` leaves behind, keyed by the sso-session name.
    const cache = getSSOTokenFilepath('sim');
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache, JSON.stringify({ startUrl: 'https://d-90670ab1c2.awsapps.com/start', region: 'us-east-1', accessToken: tok.accessToken, expiresAt: new Date(Date.now() + 3600_000).toISOString(), clientId: reg.clientId, clientSecret: reg.clientSecret, registrationExpiresAt: new Date(Date.now() + 86400_000).toISOString(), refreshToken: tok.refreshToken }));
    const viaProfile = new STSClient({ profile: 'sso' });
    expect((await viaProfile.send(new GetCallerIdentityCommand({}))).Arn).toMatch(/assumed-role\/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}\/demo\.user$/);
  });
});
