import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, demoFleet, startSimulator, type Simulator } from './index';
import { aws, awsEnv, boto3, presignOpenTunnel } from './support';
import WebSocket from 'ws';

describe('IAM Identity Center and CloudTrail through boto3', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: demoFleet(), noSshd: true });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('runs the SSO device flow: pending until approved, then role credentials that work', async () => {
    const env = awsEnv({ accessKeyId: 'unused', secretAccessKey: 'unused' });
    const started = await boto3(
      env,
      sim.endpoint,
      `
oidc = client('sso-oidc')
reg = oidc.register_client(clientName='keyless-test', clientType='public', scopes=['sso:account:access'])
dev = oidc.start_device_authorization(clientId=reg['clientId'], clientSecret=reg['clientSecret'], startUrl='https://d-90670ab1c2.awsapps.com/start')
pending = err(lambda: oidc.create_token(clientId=reg['clientId'], clientSecret=reg['clientSecret'], grantType='urn:ietf:params:oauth:grant-type:device_code', deviceCode=dev['deviceCode']))
badclient = err(lambda: oidc.start_device_authorization(clientId=reg['clientId'], clientSecret='wrong', startUrl='https://x'))
out({'reg': reg['clientId'], 'secret': reg['clientSecret'], 'device': dev['deviceCode'], 'user': dev['userCode'], 'uri': dev['verificationUriComplete'], 'pending': pending, 'badclient': badclient})
`,
    );
    expect(started.pending).toMatchObject({ code: 'AuthorizationPendingException', status: 400 });
    expect(started.badclient).toMatchObject({ code: 'InvalidClientException', status: 401 });
    expect(started.uri).toContain(started.user);
    expect(sim.admin.pendingUserCodes()).toContain(started.user);
    expect(sim.admin.approveDeviceCode(started.user)).toBe(true);
    const done = await boto3(
      env,
      sim.endpoint,
      `
oidc = client('sso-oidc')
tok = oidc.create_token(clientId=${JSON.stringify(started.reg)}, clientSecret=${JSON.stringify(started.secret)}, grantType='urn:ietf:params:oauth:grant-type:device_code', deviceCode=${JSON.stringify(started.device)})
again = err(lambda: oidc.create_token(clientId=${JSON.stringify(started.reg)}, clientSecret=${JSON.stringify(started.secret)}, grantType='urn:ietf:params:oauth:grant-type:device_code', deviceCode=${JSON.stringify(started.device)}))
refreshed = oidc.create_token(clientId=${JSON.stringify(started.reg)}, clientSecret=${JSON.stringify(started.secret)}, grantType='refresh_token', refreshToken=tok['refreshToken'])
sso = client('sso')
accounts = [a for p in sso.get_paginator('list_accounts').paginate(accessToken=tok['accessToken']) for a in p['accountList']]
roles = [r['roleName'] for p in sso.get_paginator('list_account_roles').paginate(accessToken=tok['accessToken'], accountId=accounts[0]['accountId'], PaginationConfig={'PageSize': 1}) for r in p['roleList']]
creds = sso.get_role_credentials(accessToken=tok['accessToken'], accountId=accounts[0]['accountId'], roleName='KeylessOperator')['roleCredentials']
nobody = err(lambda: sso.list_accounts(accessToken='not-a-token'))
sts = boto3.client('sts', endpoint_url=ENDPOINT, region_name='us-east-1', aws_access_key_id=creds['accessKeyId'], aws_secret_access_key=creds['secretAccessKey'], aws_session_token=creds['sessionToken'], config=cfg)
out({'type': tok['tokenType'], 'again': again, 'refreshed': bool(refreshed['accessToken']), 'accounts': accounts, 'roles': roles, 'exp_ms': creds['expiration'], 'arn': sts.get_caller_identity()['Arn'], 'nobody': nobody})
`,
    );
    expect(done.type).toBe('Bearer');
    expect(done.again).toMatchObject({ code: 'InvalidGrantException' });
    expect(done.refreshed).toBe(true);
    expect(done.accounts).toEqual([{ accountId: ACCOUNT_ID, accountName: 'keyless-demo', emailAddress: 'aws+keyless-demo@example.com' }]);
    expect(done.roles).toEqual(['AdministratorAccess', 'KeylessOperator']);
    expect(done.exp_ms).toBeGreaterThan(Date.now());
    expect(done.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/AWSReservedSSO_KeylessOperator_[0-9a-f]{16}/demo\\.user$`));
    expect(done.nobody).toMatchObject({ code: 'UnauthorizedException', status: 401 });
  });

  it('records Instance Connect calls, allowed and denied, as CloudTrail LookupEvents returns them', async () => {
    const operator = sim.principals.find((p) => p.profile === 'operator')!;
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHylV88uZPihkm1htmoONFkow50AkphfU6WtZGyfq6HM trail@test';
    const push = (user: string) => aws(sim.endpoint, awsEnv(operator), ['ec2-instance-connect', 'send-ssh-public-key', '--instance-id', 'i-0a1b2c3d4e5f00002', '--instance-os-user', user, '--ssh-public-key', key]);
    expect((await push('ec2-user')).code).toBe(0);
    expect((await push('ubuntu')).stderr).toMatch(/explicit deny/);
    const e = sim.endpoints().find((x) => x.region === 'us-east-1')!;
    const url = new URL(await presignOpenTunnel(operator, 'us-east-1', e.dnsName, { endpointId: e.id, privateIp: '10.0.2.20' }));
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${sim.tunnelEndpointFor(e.dnsName)}${url.pathname}${url.search}`, { headers: { host: url.host } });
      ws.on('close', () => resolve());
      ws.on('unexpected-response', () => resolve());
      ws.on('error', () => resolve());
    });
    const r = await boto3(
      awsEnv(sim.principals[0]!),
      sim.endpoint,
      `
ct = client('cloudtrail')
pushes = [e for p in ct.get_paginator('lookup_events').paginate(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'SendSSHPublicKey'}], PaginationConfig={'PageSize': 1}) for e in p['Events']]
tunnels = ct.lookup_events(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'OpenTunnel'}])['Events']
two = err(lambda: ct.lookup_events(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'a'}, {'AttributeKey': 'Username', 'AttributeValue': 'b'}]))
out({'pushes': [dict(e, CloudTrailEvent=json.loads(e['CloudTrailEvent'])) for e in pushes], 'tunnels': [json.loads(e['CloudTrailEvent']) for e in tunnels], 'two': two, 'time_ok': isinstance(pushes[0]['EventTime'], datetime.datetime)})
`,
    );
    expect(r.two).toMatchObject({ code: 'InvalidLookupAttributesException' });
    expect(r.time_ok).toBe(true);
    expect(r.pushes).toHaveLength(2);
    const [denied, allowed] = r.pushes; // newest first
    expect(denied.Username).toBe('operator');
    expect(denied.Resources).toEqual([{ ResourceType: 'AWS::EC2::Instance', ResourceName: `arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/i-0a1b2c3d4e5f00002` }]);
    expect(denied.CloudTrailEvent).toMatchObject({ eventSource: 'ec2-instance-connect.amazonaws.com', eventName: 'SendSSHPublicKey', awsRegion: 'us-east-1', sourceIPAddress: '127.0.0.1', errorCode: 'AccessDeniedException', requestParameters: { instanceId: 'i-0a1b2c3d4e5f00002', instanceOSUser: 'ubuntu' }, userIdentity: { type: 'IAMUser', arn: operator.arn, accessKeyId: operator.accessKeyId } });
    expect(denied.CloudTrailEvent.userAgent).toMatch(/aws-cli/);
    expect(allowed.CloudTrailEvent).toMatchObject({ responseElements: { success: true }, requestParameters: { instanceOSUser: 'ec2-user' } });
    expect(allowed.CloudTrailEvent.errorCode).toBeUndefined();
    expect(r.tunnels[0]).toMatchObject({ eventName: 'OpenTunnel', requestParameters: { instanceConnectEndpointId: e.id, remotePort: '22', privateIpAddress: '10.0.2.20' } });
  });
});
