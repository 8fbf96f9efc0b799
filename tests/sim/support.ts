// Helpers for the simulator's own tests: real clients (AWS CLI, boto3, OpenSSH) driven as a
// user would drive them.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PrincipalSpec } from './fleet';

const run = promisify(execFile);

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function capture(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

/** Environment for a real AWS client acting as `p`, with no retries so faults show at once. */
export function awsEnv(p: Pick<PrincipalSpec, 'accessKeyId' | 'secretAccessKey'> & { sessionToken?: string }, region = 'us-east-1'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: p.accessKeyId,
    AWS_SECRET_ACCESS_KEY: p.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  if (p.sessionToken) env.AWS_SESSION_TOKEN = p.sessionToken;
  return env;
}

/** The AWS CLI (v1 here), pointed at the simulator. Parses JSON stdout when it can. */
// Parsed CLI and boto3 output: its shape is what each test asserts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export async function aws(endpoint: string, env: NodeJS.ProcessEnv, args: string[]): Promise<Ran & { json?: Json }> {
  const r = await capture('aws', ['--endpoint-url', endpoint, '--region', env.AWS_DEFAULT_REGION ?? 'us-east-1', '--output', 'json', ...args], env);
  let json: unknown;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    /* not JSON */
  }
  return { ...r, json };
}

/** A boto3 script; `out(x)` prints x as the JSON the test reads back. */
export async function boto3(env: NodeJS.ProcessEnv, endpoint: string, script: string): Promise<Json> {
  const prelude = [
    'import json, boto3, botocore, datetime',
    'from botocore.config import Config',
    `ENDPOINT = ${JSON.stringify(endpoint)}`,
    "cfg = Config(retries={'max_attempts': 1, 'mode': 'standard'})",
    "def client(name, region=None): return boto3.client(name, endpoint_url=ENDPOINT, region_name=region or 'us-east-1', config=cfg)",
    'def err(fn):',
    '    try:',
    '        fn()',
    "        return None",
    '    except botocore.exceptions.ClientError as e:',
    "        return {'code': e.response['Error']['Code'], 'message': e.response['Error'].get('Message', ''), 'status': e.response['ResponseMetadata']['HTTPStatusCode']}",
    'def out(x): print(json.dumps(x, default=str))',
  ].join('\n');
  const r = await capture('python3', ['-c', `${prelude}\n${script}`], env, 180_000);
  if (r.code !== 0) throw new Error(`boto3 script failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** A fresh ed25519 key pair in a temp folder. */
export function sshKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { path: string; pub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-simkey-'));
  const path = join(dir, 'id');
  spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'sim-test', '-f', path]);
  return { path, pub: readFileSync(path + '.pub', 'utf8').trim() };
}

/** OpenSSH `ssh … true` as a user would run it, offering only `keyPath`. */
export function sshRun(user: string, keyPath: string, opts: { port?: number; proxyCommand?: string; command?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const args = ['-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10'];
  if (opts.proxyCommand) args.push('-o', `ProxyCommand=${opts.proxyCommand}`);
  if (opts.port) args.push('-p', String(opts.port));
  args.push(`${user}@127.0.0.1`, opts.command ?? 'true');
  return capture('ssh', args, { PATH: process.env.PATH, HOME: process.env.HOME }, opts.timeoutMs ?? 120_000);
}

/**
 * The presigned openTunnel URL as aws-cli signs it (PROTOCOLS.md §3), with the SigV4 signer
 * itself; `at` pins the signing time.
 */
export async function presignOpenTunnel(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
  dnsName: string,
  q: { endpointId: string; privateIp: string; port?: number; maxTunnelDuration?: number },
  opts: { at?: Date; service?: string; expiresIn?: number } = {},
): Promise<string> {
  const query: Record<string, string> = { instanceConnectEndpointId: q.endpointId, remotePort: String(q.port ?? 22), privateIpAddress: q.privateIp };
  if (q.maxTunnelDuration !== undefined) query.maxTunnelDuration = String(q.maxTunnelDuration);
  const signer = new SignatureV4({ credentials: creds, region, service: opts.service ?? 'ec2-instance-connect', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.presign(new HttpRequest({ method: 'GET', protocol: 'wss:', hostname: dnsName, path: '/openTunnel', query, headers: { host: dnsName } }), { signingDate: opts.at ?? new Date(), expiresIn: opts.expiresIn ?? 60 });
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const qs = Object.entries(signed.query ?? {}).map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return `wss://${dnsName}/openTunnel?${qs.join('&')}`;
}

export const EICE_PROXY = fileURLToPath(new URL('./tools/eice-proxy.mjs', import.meta.url));
/** `ProxyCommand` value bridging ssh's stdin/stdout to the tunnel. */
export function proxyCommand(url: string, via: string): string {
  // ssh expands %-tokens in ProxyCommand: the URL's percent-escapes must be doubled.
  return `${process.execPath} ${EICE_PROXY} '${url.replace(/%/g, '%%')}' ${via}`;
}

/** Every sshd process running the given config folder's config. */
export function sshdProcessesUnder(dirPrefix: string): number[] {
  const out = spawnSync('pgrep', ['-f', `sshd .*-f ${dirPrefix}`]).stdout.toString().trim();
  return out ? out.split('\n').map(Number) : [];
}
