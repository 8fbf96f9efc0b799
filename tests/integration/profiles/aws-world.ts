import { execFile } from 'node:child_process';
import { appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { ACCOUNT_ID, startSimulator, type FleetSpec, type PolicyDocument, type Simulator, type SimulatorOptions } from '../../sim/index';

export const run = promisify(execFile);
export const ADMIN_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
export const ROLE = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;

export interface AwsWorld {
  sim: Simulator;
  dir: string;
  home: string;
  configFile: string;
  credentialsFile: string;
  /** What a child process (the AWS CLI, the harness) needs to see the same files. */
  env: Record<string, string>;
  addConfig(text: string): Promise<void>;
  addCredentials(text: string): Promise<void>;
  /** A credentials profile whose session credentials expired a minute ago. */
  addExpiredProfile(name: string): Promise<void>;
  stop(): Promise<void>;
}

const AWS_ENV = ['AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_ENDPOINT_URL_STS', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME'];

/**
 * The simulator plus an AWS config in a temporary HOME, with this process's environment pointed
 * at it (the SDK reads process.env), and a denied user `nobody` besides the sim's admin.
 */
export async function startAwsWorld(opts: SimulatorOptions & { fleet?: FleetSpec } = {}): Promise<AwsWorld> {
  const fleet: FleetSpec = {
    ...opts.fleet,
    principals: [
      ...(opts.fleet?.principals ?? []),
      {
        accessKeyId: 'AKIASIMNOBODY0000001',
        secretAccessKey: 'sim/nobody/secret/key/0000000000000000000',
        arn: `arn:aws:iam::${ACCOUNT_ID}:user/nobody`,
        policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }] }],
        profile: 'nobody',
      },
    ],
    roles: [
      ...(opts.fleet?.roles ?? []),
      ...['Hop1', 'Hop2', 'MfaRole', 'ProcRole'].map((n) => ({ arn: ROLE(n), policies: [ADMIN_POLICY] })),
      // Trusts the simulator's OIDC provider for service-account style subjects.
      { arn: ROLE('WebRole'), policies: [ADMIN_POLICY], webIdentity: { subject: 'system:serviceaccount:*' } },
      // Its trust policy asks for sts:ExternalId = partner-ext.
      { arn: ROLE('PartnerRole'), policies: [ADMIN_POLICY], externalId: 'partner-ext' },
    ],
  };
  const sim = await startSimulator({ noSshd: true, ...opts, fleet });
  const dir = await mkdtemp(join(tmpdir(), 'keyless-aws-'));
  const home = join(dir, 'home');
  await mkdir(join(home, '.aws'), { recursive: true });
  const files = await sim.writeAwsConfig(join(home, '.aws'));
  const env = { HOME: home, AWS_CONFIG_FILE: files.configFile, AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile };
  const saved = Object.fromEntries([...AWS_ENV, 'HOME'].map((k) => [k, process.env[k]]));
  for (const k of AWS_ENV) delete process.env[k];
  Object.assign(process.env, env);
  return {
    sim,
    dir,
    home,
    configFile: files.configFile,
    credentialsFile: files.credentialsFile,
    env,
    addConfig: (text) => appendFile(files.configFile, `\n${text}\n`),
    addCredentials: (text) => appendFile(files.credentialsFile, `\n${text}\n`),
    async addExpiredProfile(name) {
      // Minted 16 minutes in the simulator's past for 15 minutes: expired a minute ago.
      const skew = -16 * 60_000;
      sim.admin.setClockSkew(skew);
      const admin = sim.principals[0]!;
      const sts = new STSClient({
        region: 'us-east-1',
        endpoint: sim.endpoint,
        credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
        systemClockOffset: skew,
      });
      try {
        const out = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE('Hop1'), RoleSessionName: 'expiring', DurationSeconds: 900 }));
        const c = out.Credentials!;
        await appendFile(files.credentialsFile, `\n[${name}]\naws_access_key_id = ${c.AccessKeyId}\naws_secret_access_key = ${c.SecretAccessKey}\naws_session_token = ${c.SessionToken}\n`);
        await appendFile(files.configFile, `\n[profile ${name}]\nregion = us-east-1\nendpoint_url = ${sim.endpoint}\n`);
      } finally {
        sim.admin.setClockSkew(0);
        sts.destroy();
      }
    },
    async stop() {
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

/** A web identity token file (what EKS or a CI system writes), holding a JWT from the simulator's OIDC provider. */
export async function writeWebIdentityToken(world: AwsWorld, name: string, opts: { subject?: string; ttlSeconds?: number } = {}): Promise<string> {
  const file = join(world.dir, `${name}.jwt`);
  await writeFile(file, world.sim.admin.issueWebIdentityToken({ subject: opts.subject ?? 'system:serviceaccount:ops:keyless', ttlSeconds: opts.ttlSeconds }), { mode: 0o600 });
  return file;
}

/** A credential_process program: prints the admin's keys as the process-credentials JSON, expiring in `ttlMs` (default an hour). */
export async function writeCredentialProcess(world: AwsWorld, opts: { name?: string; ttlMs?: number } = {}): Promise<string> {
  const admin = world.sim.principals[0]!;
  const file = join(world.dir, `${opts.name ?? 'creds'}.mjs`);
  const expiry = new Date(Date.now() + (opts.ttlMs ?? 3600_000)).toISOString();
  await writeFile(
    file,
    `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: ${JSON.stringify(admin.accessKeyId)}, SecretAccessKey: ${JSON.stringify(admin.secretAccessKey)}, Expiration: ${JSON.stringify(expiry)} }));\n`,
  );
  await chmod(file, 0o700);
  return `${process.execPath} ${file}`;
}
