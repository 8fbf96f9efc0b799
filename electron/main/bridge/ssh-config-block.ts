import { fail } from '../base/errors';
import { osUserSchema, type HostTree } from '../../contract';
import { ec2TargetOfHost } from '../connect/route';
import type { AgentPlace } from './agent-socket';

/** How OpenSSH should start the `keyless` command: the Node binary and the script, absolute paths. */
export interface KeylessCommand {
  node: string;
  script: string;
}

/**
 * A path OpenSSH's config (and the shell that runs ProxyCommand) takes inside double quotes as it
 * is. A Windows path (`C:\…`) is written with forward slashes, which Windows takes as well: OpenSSH
 * reads a backslash before a quote, a space or another backslash as an escape.
 */
export function quoted(path: string): string {
  if (/^[A-Za-z]:\\/.test(path)) path = path.replace(/\\/g, '/');
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/["\\$`%\x00-\x1f\x7f]/.test(path)) fail('InvalidArguments', `The path ${JSON.stringify(path)} has a character an ssh config cannot carry; move Keyless or its data folder.`, { field: 'path' });
  return `"${path}"`;
}

function pipePrefix(base: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(base)) fail('InvalidArguments', `The agent pipe prefix ${JSON.stringify(base)} is not one Keyless makes.`, { field: 'path' });
  return base;
}

/**
 * A saved host's name that a `Host` line names as itself: no pattern characters or spaces, and no
 * name the network already has. A dotted name (`github.com`, `10.0.0.5`, `db.corp`) or `localhost`
 * would send every ssh, git or scp to that name through Keyless to the instance, its host key
 * vouched for by KnownHostsCommand, so no warning: such a host is reached by its instance id.
 */
export const hostPatternSafe = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_-]{0,252}$/.test(name) && !name.startsWith('i-') && name.toLowerCase() !== 'localhost';

/** A user name the Host block may carry (anything else, e.g. from a stale cache, is left out). */
const userSafe = (user: string): boolean => osUserSchema.safeParse(user).success;

/** The host key types the Host block lets OpenSSH accept, in ssh2's order of preference. */
export const HOST_KEY_ALGORITHMS = 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256';

/**
 * The saved EC2 hosts a Host block names, each with the OS user its connection would use (when
 * known: from the host or its group, else `defaultUser` of its instance, e.g. the inventory's).
 */
export function namedHosts(tree: HostTree, defaultUser: (instanceId: string) => string | undefined = () => undefined): HostBlockInput['named'] {
  return tree.hosts.flatMap((h) => {
    if (h.kind !== 'ec2' || !hostPatternSafe(h.name)) return [];
    let user: string | undefined;
    try {
      user = ec2TargetOfHost(h, tree.groups).osUser;
    } catch {
      /* no region yet: listed without a user */
    }
    user ??= defaultUser(h.instanceId);
    return [{ name: h.name, ...(user ? { user } : {}) }];
  });
}

export interface HostBlockInput {
  command: KeylessCommand;
  /** Where the proxies' agents are (`openAgentPlace`). */
  agents: AgentPlace;
  /** Saved EC2 hosts reached by name, with the OS user OpenSSH should log in as (when known). */
  named: Array<{ name: string; user?: string }>;
}

/**
 * The Host blocks `keyless ssh-config` prints and "Set up OpenSSH" writes: instance ids and saved
 * hosts' names go through `keyless proxy`, authenticate with the key its agent serves
 * (IdentitiesOnly no, or a common `IdentitiesOnly yes` would hide it), and learn host keys from
 * Keyless (KnownHostsCommand). Host key checking stays as the person has it: never
 * `StrictHostKeyChecking no`.
 */
export function hostBlock(input: HostBlockInput): string {
  const run = `${quoted(input.command.node)} ${quoted(input.command.script)}`;
  const common = [
    `    ProxyCommand ${run} proxy %r %h %p`,
    // The tokens are OpenSSH's: it expands them to the same user, host and port the proxy is given.
    // OpenSSH for Windows (8.9 and later) takes a named pipe written with forward slashes.
    input.agents.pipes ? `    IdentityAgent "//./pipe/${pipePrefix(input.agents.base)}.%r@%h:%p"` : `    IdentityAgent ${quoted(input.agents.base).slice(0, -1)}/%r@%h:%p"`,
    '    IdentitiesOnly no',
    `    KnownHostsCommand ${run} known-hosts %H`,
    // A whole list (not +/-) stops OpenSSH from running KnownHostsCommand a first time, before the
    // key exchange, only to reorder its preferences: one `keyless` start less on each ssh's path.
    // The order is ssh2's (the app's), so OpenSSH picks the key type the app has stored; certificate
    // types and SHA-1 ssh-rsa are left out, as Instance Connect hosts use neither.
    `    HostKeyAlgorithms ${HOST_KEY_ALGORITHMS}`,
  ];
  const lines = ['# Keyless: EC2 instances through EC2 Instance Connect, keys held in memory (keyless ssh-config)'];
  for (const h of input.named.filter((n) => hostPatternSafe(n.name))) {
    lines.push(`Host ${h.name}`);
    if (h.user && userSafe(h.user)) lines.push(`    User ${h.user}`);
    lines.push(...common, '');
  }
  lines.push('Host i-*', ...common, '');
  return lines.join('\n');
}
