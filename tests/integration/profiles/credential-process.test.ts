/**
 * A credential_process that fails, run for real: the person (and the log) learn its exit status
 * and the first line of what it printed to stderr, cleaned and capped — never its command line,
 * the rest of its output, or the environment it ran in.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessError, ProfileCheck } from '../../../electron/contract';
import { createLogger } from '../../../electron/main/base/log';
import { createAwsServices, type AwsServices } from '../../../electron/main/inventory/aws-handlers';
import { runCredentialProcess } from '../../../electron/main/aws/credential-process';
import { ContractServer, type Handlers } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { Prompts } from '../../../electron/main/rpc/prompts';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorWords } from '../../../electron/contract/i18n/error-words';

/** In the command line (an argument) and in the environment: must never be shown or logged. */
const ARG_SECRET = 'arg-secret-0b5e7d';
const ENV_SECRET = 'env-secret-9c1f3a';
const FIRST_LINE = 'error: the SSO session for corp has expired; run corp-login';

let dir: string;
let aws: AwsServices;
let check: (profile: string) => Promise<ProfileCheck>;
const logLines: string[] = [];
const saved = { ...process.env };

async function script(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, body);
  await chmod(file, 0o700);
  return `${process.execPath} ${file} --token=${ARG_SECRET}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-credproc-'));
  // Fails with status 3: a coloured first line, then lines a helper really prints (a device URL, its environment).
  const fails = await script(
    'fails.mjs',
    `process.stderr.write('\\n  \\u001b[31m${FIRST_LINE}\\u001b[0m\\u0007\\n');\n` +
      `process.stderr.write('open https://device.sso.example/?user_code=SECRET-CODE\\n');\n` +
      `process.stderr.write(JSON.stringify(process.env) + '\\n');\n` +
      `process.exit(3);\n`,
  );
  const silent = await script('silent.mjs', `process.exit(2);\n`);
  const long = await script('long.mjs', `process.stderr.write('x'.repeat(5000) + '${ENV_SECRET}\\n');\nprocess.exit(1);\n`);
  // Waits for a code typed on its input, as an MFA helper does: here its input ends at once.
  const asks = await script('asks.mjs', `process.stdin.resume();\nprocess.stdin.on('end', () => {\n  process.stderr.write('no MFA code was typed\\n');\n  process.exit(4);\n});\n`);
  const garbage = await script('garbage.mjs', `process.stdout.write('not json: ' + process.env.KEYLESS_TEST_SECRET);\n`);
  const config = join(dir, 'config');
  await writeFile(
    config,
    `[profile fails]\ncredential_process = ${fails}\nregion = us-east-1\n\n` +
      `[profile silent]\ncredential_process = ${silent}\nregion = us-east-1\n\n` +
      `[profile long]\ncredential_process = ${long}\nregion = us-east-1\n\n` +
      `[profile garbage]\ncredential_process = ${garbage}\nregion = us-east-1\n\n` +
      `[profile asks]\ncredential_process = ${asks}\nregion = us-east-1\n\n` +
      // A role whose source profile's process fails: the SDK runs that one itself.
      `[profile via-role]\nrole_arn = arn:aws:iam::123456789012:role/Ops\nsource_profile = fails\nregion = us-east-1\n`,
  );
  await writeFile(join(dir, 'credentials'), '');
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  process.env.AWS_CONFIG_FILE = config;
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.KEYLESS_TEST_SECRET = ENV_SECRET;
  aws = createAwsServices({ home: join(dir, 'keyless'), log: createLogger('main', (l) => logLines.push(l), 'debug'), prompts: new Prompts(), backgroundRefreshMs: 0 });
  const { bridge } = connectInMemory(new ContractServer(aws.handlers as Handlers, createLogger('rpc', (l) => logLines.push(l), 'debug')));
  check = async (profile) => {
    const r = await bridge.invoke('aws.profiles.check', { requestId: `check-${profile}`, profile });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value as ProfileCheck;
  };
});

afterAll(async () => {
  aws?.dispose();
  process.env = saved;
  await rm(dir, { recursive: true, force: true });
});

/** Nothing of the command line, the later output or the environment, anywhere the person or the log sees. */
function expectNothingLeaked(error: KeylessError | undefined) {
  const seen = [JSON.stringify(error), errorWords(en, error!), errorWords(ja, error!), ...logLines].join('\n');
  for (const secret of [ARG_SECRET, ENV_SECRET, 'SECRET-CODE', dir, 'Command failed', '\u001b']) expect(seen).not.toContain(secret);
}

describe('a failing credential_process', () => {
  it('shows its exit status and the first line of its error output, cleaned, and nothing else', async () => {
    const c = await check('fails');
    expect(c.state).toBe('error');
    expect(c.error).toMatchObject({ code: 'AwsCredentialsMissing', detail: { profile: 'fails', step: 'credentialProcess', exitStatus: '3', stderr: FIRST_LINE } });
    expect(errorWords(en, c.error!)).toBe(`The credential_process of profile fails failed with exit status 3: ${FIRST_LINE}`);
    expect(errorWords(ja, c.error!)).toContain('終了ステータス 3');
    expect(logLines.some((l) => l.includes('credentials failed to load') && l.includes('exit status 3'))).toBe(true);
    expectNothingLeaked(c.error);
  });

  it('caps a long first line at 200 characters', async () => {
    const c = await check('long');
    expect(c.error?.detail).toMatchObject({ exitStatus: '1' });
    expect(String(c.error?.detail?.stderr)).toHaveLength(200);
    expectNothingLeaked(c.error);
  });

  it('says when it printed no error at all', async () => {
    const c = await check('silent');
    expect(c.error?.detail).toMatchObject({ step: 'credentialProcessSilent', exitStatus: '2', stderr: '' });
    expect(errorWords(en, c.error!)).toMatch(/exit status 2 and printed no error/);
    expectNothingLeaked(c.error);
  });

  it('never quotes output that is not credentials (it may hold secrets)', async () => {
    const c = await check('garbage');
    expect(c.error?.detail).toMatchObject({ step: 'credentialProcessOutput' });
    expectNothingLeaked(c.error);
  });

  it('one that waits for typed input gets the end of its input at once, and fails rather than hanging every call for the profile', async () => {
    const c = await check('asks');
    expect(c.error?.detail).toMatchObject({ step: 'credentialProcess', exitStatus: '4', stderr: 'no MFA code was typed' });
  });

  it('one that never ends is stopped at its time limit, and says so', async () => {
    const started = Date.now();
    const err = await runCredentialProcess('stuck', `${process.execPath} -e "setInterval(() => {}, 1000)"`, undefined, 500).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AwsCredentialsMissing', detail: { profile: 'stuck', step: 'credentialProcessTimeout' } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(errorWords(en, err as KeylessError)).toMatch(/did not finish within 1 seconds/);
  });

  it('as the source of a role (run by the SDK): the first line of its error output, without the command line', async () => {
    const c = await check('via-role');
    expect(c.error).toMatchObject({ code: 'AwsCredentialsMissing', detail: { profile: 'via-role', step: 'credentialProcessSource', stderr: FIRST_LINE } });
    expectNothingLeaked(c.error);
  });
});
