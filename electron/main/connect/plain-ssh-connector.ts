import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeylessFailure, fail } from '../base/errors';
import { FileRefusal, READ_LIMITS, readRegularFile } from '../base/safe-read';
import { SshConnection, type SshIdentity } from '../ssh/connection';
import { loadSsh2 } from '../ssh/ssh2';
import { fingerprintSha256, keyTypeOf, type KnownHosts } from '../ssh/known-hosts';
import type { Connection, ConnectHooks, Connector, Dialer } from './connector';
import { refuseBadHostKey } from './host-keys';
import type { Hop } from './route';

type SshHop = Extract<Hop, { kind: 'ssh' }>;

const MAX_PASSPHRASE_TRIES = 3;

/** Plain SSH hosts: the agent or a key file (asking for its passphrase), host keys from known_hosts or the person. */
export class PlainSshConnector implements Connector<SshHop> {
  constructor(
    private readonly deps: {
      knownHosts: KnownHosts;
      agentSocket: string | undefined;
    },
  ) {}

  async connect(hop: SshHop, dial: Dialer | undefined, hooks: ConnectHooks): Promise<Connection> {
    const { report, signal } = hooks;
    report('resolve', 'start');
    let identity: SshIdentity;
    try {
      identity = await this.identityFor(hop, hooks);
      report('resolve', 'done');
    } catch (err) {
      report('resolve', 'failed');
      throw err;
    }
    const sock = dial ? await dial(hop.host, hop.port, signal) : undefined;
    const ssh = await SshConnection.open(
      {
        host: hop.host,
        port: hop.port,
        user: hop.user,
        identity,
        ...(sock ? { sock } : {}),
        verifyHostKey: (blob) => this.verifyHostKey(hop, blob, hooks),
      },
      report,
      signal,
    ).catch((err: unknown) => {
      sock?.destroy();
      throw err;
    });
    return { ssh, route: { kind: 'ssh', address: hop.host, port: hop.port }, osUser: hop.user };
  }

  private async identityFor(hop: SshHop, hooks: ConnectHooks): Promise<SshIdentity> {
    if (hop.auth.type === 'agent') {
      if (!this.deps.agentSocket) {
        fail('AgentUnavailable', 'No SSH agent is running (SSH_AUTH_SOCK is not set). Start one and add your key, or use a key file.');
      }
      return { kind: 'agent', socket: this.deps.agentSocket };
    }
    const path = hop.auth.path.startsWith('~/') ? join(homedir(), hop.auth.path.slice(2)) : hop.auth.path;
    let data: Buffer;
    try {
      data = await readRegularFile(path, READ_LIMITS.keyFile);
    } catch (err) {
      // A FIFO, a device, a folder or a huge file: refused with its own words, never read.
      if (err instanceof FileRefusal) throw err;
      fail('KeyFileUnreadable', `The key file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { path });
    }
    const { utils } = await loadSsh2();
    const plain = utils.parseKey(data);
    if (!(plain instanceof Error)) return { kind: 'key', privateKey: data };
    if (!/encrypted|passphrase/i.test(plain.message)) {
      fail('KeyFileUnreadable', `${path} is not a private key Keyless can use: ${plain.message}.`, { path });
    }
    for (let attempt = 0; attempt < MAX_PASSPHRASE_TRIES; attempt++) {
      const answer = await hooks.askPassphrase(path, attempt > 0);
      if (typeof answer !== 'string') fail('Cancelled', 'No passphrase was given.');
      if (!(utils.parseKey(data, answer) instanceof Error)) return { kind: 'key', privateKey: data, passphrase: answer };
    }
    fail('PassphraseWrong', `The passphrase for ${path} was wrong ${MAX_PASSPHRASE_TRIES} times.`, { path });
  }

  private async verifyHostKey(hop: SshHop, blob: Buffer, hooks: ConnectHooks): Promise<void> {
    const { knownHosts } = this.deps;
    const verdict = await knownHosts.verify(hop.host, hop.port, blob);
    const fingerprint = fingerprintSha256(blob);
    const keyType = keyTypeOf(blob);
    refuseBadHostKey(verdict, hop.host, hop.port, blob);
    if (verdict.kind === 'known') return;
    // A new key type beside known ones is never asked as a first meeting: the question names the keys on record.
    const known = verdict.kind === 'otherType' ? verdict.known : undefined;
    if ((await hooks.askHostKey({ host: hop.host, port: hop.port, keyType, fingerprint }, known)) !== true) {
      throw new KeylessFailure('HostKeyRejected', `The host key of ${hop.host} (${fingerprint}) was not accepted.`, false, { host: hop.host, fingerprint });
    }
    await knownHosts.add(hop.host, hop.port, blob);
  }
}
