import { errorWords, format } from '../../contract/i18n/error-words';
import type { KeylessError } from '../../contract';
import { fail, KeylessFailure, toKeylessError } from '../base/errors';
import { createLogger, type Logger } from '../base/log';
import { keyTypeOf } from '../ssh/known-hosts';
import { listProfiles } from '../profiles/profile-files';
import { ssoDeviceLogin, type SsoTarget } from '../profiles/sso-login';
import { BridgeContext, bridgePaths } from './bridge-context';
import { openAgentPlace } from './agent-socket';
import { hostBlock, namedHosts, type KeylessCommand } from './ssh-config-block';
import type { Readable, Writable } from 'node:stream';

/** OpenSSH's own exit status for a connection that failed; ssh passes a ProxyCommand's failure on as it. */
export const EXIT_FAILED = 255;

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** How OpenSSH should start this command again (for the printed Host block). */
  command: KeylessCommand;
  hangup: Promise<void>;
}

type Catalogue = Readonly<Record<string, string>>;

/**
 * The person's language from the locale variables, as the terminal has it. Loaded when there is
 * something to say: a successful `keyless proxy` or `keyless known-hosts` says nothing, and each
 * ssh waits for both to start.
 */
async function catalogueFor(env: NodeJS.ProcessEnv): Promise<Catalogue> {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('ja') ? (await import('../../contract/i18n/ja')).ja : (await import('../../contract/i18n/en')).en;
}

/**
 * Text from outside (a saved host's name, an instance's Name tag, an error's detail) as a terminal
 * shows it: control characters, which could move the cursor, retitle the window or rewrite what
 * was printed before, and the bidirectional overrides that reorder a line are shown as `?`. Line
 * breaks and tabs stay (a policy in an error is printed over several lines).
 */
export const forTerminal = (text: string): string => text.replace(/(?![\t\n])[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, '?');

/** The error in the app's words; credentials that need a person say to run `keyless login`. */
export function describeForTerminal(catalogue: Catalogue, err: KeylessError): string {
  const lines = [`keyless: ${forTerminal(errorWords(catalogue, err))}`];
  if (err.code === 'AwsCredentialsExpired' || err.code === 'AwsMfaRequired' || err.code === 'AwsCredentialsMissing') {
    const profile = typeof err.detail?.profile === 'string' ? err.detail.profile : 'default';
    lines.push(`keyless: ${forTerminal(format(catalogue['bridge.runLogin']!, { profile }))}`);
  }
  return lines.join('\n') + '\n';
}

const PORT = /^[0-9]{1,5}$/;

function portOf(s: string | undefined): number {
  const n = Number(s);
  if (!s || !PORT.test(s) || n < 1 || n > 65535) fail('InvalidArguments', `"${s ?? ''}" is not a port number.`, { field: 'port' });
  return n;
}

/** `[host]:port` or `host`, as OpenSSH passes %H. */
function knownHostsName(h: string): { host: string; port: number } {
  const m = /^\[([^\]]{1,253})\]:([0-9]{1,5})$/.exec(h);
  return m ? { host: m[1]!, port: portOf(m[2]) } : { host: h, port: 22 };
}

/** Runs one `keyless` command; resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const log: Logger = io.env.KEYLESS_LOG ? createLogger('keyless', (l) => io.stderr.write(l + '\n')) : silent;
  const [command, ...rest] = argv;
  const catalogue = () => catalogueFor(io.env);
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(format((await catalogue())['bridge.usage']!) + '\n');
    return command ? 0 : 2;
  }
  const ctx = new BridgeContext(bridgePaths(io.env), log);
  try {
    switch (command) {
      case 'proxy': {
        if (rest.length !== 3) fail('InvalidArguments', 'keyless proxy takes three arguments: %r %h %p.', { field: 'arguments' });
        // The connect code (ssh2, the tunnel) only for the command that connects.
        const { runProxy } = await import('./proxy');
        const end = await runProxy(ctx, { user: rest[0]!, host: rest[1]!, port: portOf(rest[2]) }, io);
        if (!end.ok) throw end.error;
        return 0;
      }
      case 'ssh-config': {
        const tree = await ctx.hosts.tree();
        const snapshot = await ctx.snapshot();
        const { place } = await openAgentPlace(ctx.paths.agentDir);
        io.stdout.write(hostBlock({ command: io.command, agents: place, named: namedHosts(tree, (id) => snapshot?.instances.find((i) => i.id === id)?.defaultUser) }));
        return 0;
      }
      case 'hosts': {
        const tree = await ctx.hosts.tree();
        const snapshot = await ctx.snapshot();
        const rows: string[][] = [];
        const saved = (await catalogue())['bridge.hosts.saved']!;
        for (const h of tree.hosts) if (h.kind === 'ec2') rows.push([h.name, h.instanceId, saved]);
        for (const i of snapshot?.instances ?? []) rows.push([i.name || '-', i.id, `${i.profile} ${i.region} ${i.state}`]);
        const width = rows.reduce((w, r) => Math.max(w, r[0]!.length), 4);
        for (const r of rows) io.stdout.write(`${forTerminal(r[0]!.padEnd(width))}  ${forTerminal(r[1]!.padEnd(19))}  ${forTerminal(r[2]!)}\n`);
        return 0;
      }
      case 'known-hosts': {
        if (rest.length !== 1) fail('InvalidArguments', 'keyless known-hosts takes one argument: %H.', { field: 'arguments' });
        const asked = rest[0]!;
        const { host, port } = knownHostsName(asked);
        let target;
        try {
          ({ target } = await ctx.resolve(host, 'x', port));
        } catch {
          // Not an instance Keyless knows: say nothing, and OpenSSH asks as usual.
          return 0;
        }
        const lines = new Set<string>();
        for (const key of await ctx.knownHosts.keysOf(target.instanceId, port)) lines.add(`${asked} ${keyTypeOf(key)} ${key.toString('base64')}`);
        if (lines.size === 0) {
          // The instance's console, as AWS hands it over: remembered under its id, so the next connection needs no call.
          for (const k of await ctx.inventory.consoleHostKeys(target.profile, target.region, target.instanceId)) {
            const blob = Buffer.from(k.blob, 'base64');
            if (keyTypeOf(blob) !== k.keyType) continue;
            await ctx.knownHosts.add(target.instanceId, port, blob, 'console');
            lines.add(`${asked} ${k.keyType} ${k.blob}`);
          }
        }
        io.stdout.write([...lines].map((l) => l + '\n').join(''));
        return 0;
      }
      case 'login': {
        const words = await catalogue();
        return await login(rest, io, (key, params) => format(words[key] ?? key, params));
      }
      default: {
        const words = await catalogue();
        io.stderr.write(format(words['bridge.unknownCommand']!, { command }) + '\n' + format(words['bridge.usage']!) + '\n');
        return 2;
      }
    }
  } catch (err) {
    if (!(err instanceof KeylessFailure)) log.error('unexpected failure', { error: err instanceof Error ? err.message : String(err) });
    io.stderr.write(describeForTerminal(await catalogue(), toKeylessError(err)));
    return EXIT_FAILED;
  } finally {
    ctx.dispose();
  }
}


/** `keyless login [--profile p | --sso-session s]`: the device flow in the terminal, into the AWS CLI's SSO cache. */
async function login(args: readonly string[], io: CliIo, say: (key: string, params?: Record<string, unknown>) => string): Promise<number> {
  let profile = io.env.AWS_PROFILE || 'default';
  let session: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--profile' && args[i + 1]) profile = args[i + 1]!;
    else if (args[i] === '--sso-session' && args[i + 1]) session = args[i + 1];
    else fail('InvalidArguments', `keyless login takes --profile NAME or --sso-session NAME, not "${args[i]}".`, { field: 'arguments' });
  }
  const list = await listProfiles(io.env);
  let target: SsoTarget;
  if (session) {
    const s = list.ssoSessions.find((x) => x.name === session);
    if (!s?.startUrl || !s.region) throw new KeylessFailure('AwsProfileUnknown', `The sso-session "${session}" is not in your AWS config.`, false, { profile: session });
    target = { session: s.name, startUrl: s.startUrl, region: s.region, ...(s.scopes ? { scopes: s.scopes.split(',').map((x) => x.trim()).filter(Boolean) } : {}) };
  } else {
    const p = list.profiles.find((x) => x.name === profile);
    if (!p) throw new KeylessFailure('AwsProfileUnknown', `The AWS profile "${profile}" is not in your AWS config.`, false, { profile });
    if ((p.kind !== 'sso' && p.kind !== 'ssoLegacy') || !p.ssoStartUrl || !p.ssoRegion) {
      io.stdout.write(say('bridge.login.notSso', { profile }) + '\n');
      return 0;
    }
    const s = p.ssoSession ? list.ssoSessions.find((x) => x.name === p.ssoSession) : undefined;
    target = {
      ...(p.ssoSession ? { session: p.ssoSession } : {}),
      startUrl: p.ssoStartUrl,
      region: p.ssoRegion,
      ...(s?.scopes ? { scopes: s.scopes.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
      profile,
    };
  }
  const abort = new AbortController();
  void io.hangup.then(() => abort.abort());
  await ssoDeviceLogin(target, {
    signal: abort.signal,
    onDeviceCode: (c) => io.stderr.write(say('bridge.login.code', { url: c.verificationUriComplete ?? c.verificationUri, code: c.userCode }) + '\n'),
  });
  io.stdout.write(say('bridge.login.done', { profile: session ?? profile }) + '\n');
  return 0;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
