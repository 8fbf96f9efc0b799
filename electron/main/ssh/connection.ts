import type { AuthenticationType, AuthHandlerMiddleware, Client, ClientChannel, ConnectConfig, PseudoTtyOptions } from 'ssh2';
import type { Duplex } from 'node:stream';
import { KeylessFailure } from '../base/errors';
import { openWithWindow } from './channel-window';
import { SHELL_OPEN_WINDOW } from './terminal-channel';
import { SftpSession } from './sftp';
import { loadSsh2 } from './ssh2';
import type { ConnectStep } from '../../contract';

export type SshIdentity = { kind: 'key'; privateKey: Buffer | string; passphrase?: string } | { kind: 'agent'; socket: string };

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  identity: SshIdentity;
  /** An already-open stream to the server (an EICE tunnel); otherwise a TCP connection is made. */
  sock?: Duplex;
  /** Resolves when the presented host key is trusted; throws a KeylessFailure otherwise. */
  verifyHostKey(keyBlob: Buffer): Promise<void>;
  /**
   * Awaited after the key exchange, just before the first authentication request (a pushed key
   * must have reached the instance by then). It overlaps the ssh-userauth service request's
   * round trip; throwing ends the connection with that error.
   */
  beforeAuthenticate?(): Promise<void>;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

export interface StepReporter {
  (step: ConnectStep, status: 'start' | 'done' | 'failed'): void;
}

/** Turns what ssh2 and the socket layer throw into errors a person can act on. */
export function describeSshError(err: unknown, target: Pick<SshTarget, 'host' | 'port' | 'user'>): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const e = err as Partial<NodeJS.ErrnoException> & { level?: string; message?: string };
  const where = { host: target.host, port: target.port, user: target.user };
  switch (e.code) {
    case 'ECONNREFUSED':
      return new KeylessFailure('ConnectionRefused', `Nothing accepts SSH connections on ${target.host} port ${target.port}.`, true, where);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new KeylessFailure('HostNotFound', `The host name ${target.host} could not be resolved.`, true, where);
    case 'ETIMEDOUT':
      return new KeylessFailure('Timeout', `${target.host} port ${target.port} did not answer in time.`, true, { ...where, step: 'connect' });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'EPIPE':
      return new KeylessFailure('NetworkError', `The network connection to ${target.host} failed (${e.code}).`, true, { ...where, errno: e.code, cause: 'socket' });
  }
  if (e.level === 'client-timeout' || /timed out/i.test(e.message ?? '')) {
    return new KeylessFailure('Timeout', `${target.host} accepted the connection but the SSH handshake did not finish in time.`, true, { ...where, step: 'handshake' });
  }
  if (e.level === 'client-authentication') {
    return new KeylessFailure('AuthFailed', `${target.host} refused every key offered for user ${target.user}.`, false, where);
  }
  if (e.level === 'agent') {
    return new KeylessFailure('AgentUnavailable', 'The SSH agent could not be used.', false, where);
  }
  return new KeylessFailure('NetworkError', `The SSH connection to ${target.host} failed: ${e.message ?? 'unknown error'}.`, true, { ...where, cause: 'ssh' });
}

/**
 * One authenticated SSH connection. Its consumers open channels on it; the connection pool
 * (connect/pool.ts) decides when it ends.
 */
export class SshConnection {
  private closed = false;
  private readonly closeListeners = new Set<(reason?: KeylessFailure) => void>();

  private constructor(
    private readonly client: Client,
    readonly target: Pick<SshTarget, 'host' | 'port' | 'user'>,
  ) {
    client.on('error', (err) => this.markClosed(describeSshError(err, target)));
    client.on('close', () => this.markClosed());
  }

  static async open(target: SshTarget, report: StepReporter, signal: AbortSignal): Promise<SshConnection> {
    const { Client } = await loadSsh2();
    return new Promise((resolve, reject) => {
      const client = new Client();
      let step: ConnectStep = 'connect';
      /** Our own reason for ending the handshake (host key refused, the pre-authentication hook failed). */
      let hostKeyFailure: KeylessFailure | undefined;
      let settled = false;
      // Our own handshake timer instead of ssh2's readyTimeout: it stops while the host key is
      // being verified (a person may be reading a fingerprint) and starts again for authentication.
      const phaseMs = target.readyTimeoutMs ?? 20_000;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const what = step === 'authenticate' ? 'authentication' : 'SSH handshake';
          finish(
            new KeylessFailure('Timeout', `${target.host} did not finish the ${what} within ${phaseMs / 1000} s.`, true, {
              host: target.host,
              port: target.port,
              step,
            }),
          );
        }, phaseMs);
      };
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) {
          report(step, 'failed');
          client.removeAllListeners('ready');
          client.on('error', () => {});
          client.end();
          client.destroy();
          reject(hostKeyFailure ?? describeSshError(err, target));
        }
      };
      const onAbort = () => finish(new KeylessFailure('Cancelled', 'The connection was cancelled.', true));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });

      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: 0,
        keepaliveInterval: target.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          clearTimeout(timer);
          report('connect', 'done');
          step = 'hostKey';
          report('hostKey', 'start');
          target.verifyHostKey(key).then(
            () => {
              if (settled) return verify(false);
              report('hostKey', 'done');
              step = 'authenticate';
              report('authenticate', 'start');
              arm();
              verify(true);
            },
            (err: unknown) => {
              hostKeyFailure = describeSshError(err, target);
              verify(false);
            },
          );
        },
      };
      if (target.sock) config.sock = target.sock;
      // One method only: the key (no agent, no keyboard-interactive, so MaxAuthTries is never spent
      // elsewhere, and no 'none' probe first), or the agent. ssh2 always asks whether the server
      // would take a key before signing with it (a publickey query, then the signed request: two
      // round trips); its public API has no way to send the signed request straight away.
      let method: AuthenticationType | undefined;
      if (target.identity.kind === 'key') {
        config.privateKey = target.identity.privateKey;
        if (target.identity.passphrase !== undefined) config.passphrase = target.identity.passphrase;
        method = 'publickey';
      } else {
        config.agent = target.identity.socket;
        method = 'agent';
      }
      const authHandler: AuthHandlerMiddleware = (_left, _partial, next) => {
        const offer = method;
        method = undefined;
        // false: nothing more to try (ssh2 then fails with a client-authentication error).
        if (!offer) return (next as (m: AuthenticationType | false) => void)(false);
        if (!target.beforeAuthenticate) return next(offer);
        target.beforeAuthenticate().then(
          () => {
            if (!settled) next(offer);
          },
          (err: unknown) => {
            hostKeyFailure = describeSshError(err, target);
            finish(err);
          },
        );
      };
      config.authHandler = authHandler;
      client.once('ready', () => {
        if (settled) return;
        report('authenticate', 'done');
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        client.removeAllListeners('error');
        resolve(new SshConnection(client, target));
      });
      client.once('error', finish);
      client.once('close', () => finish(new KeylessFailure('NetworkError', `${target.host} closed the connection during the handshake.`, true, { host: target.host, cause: 'closedInHandshake' })));
      report('connect', 'start');
      arm();
      try {
        client.connect(config);
      } catch (err) {
        finish(err);
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(listener: (reason?: KeylessFailure) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  shell(pty: PseudoTtyOptions): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      // The server may send only a renderer's window of output before Keyless grants more (see
      // TerminalChannel), not ssh2's 2 MiB: a flood from the first second stays interruptible.
      openWithWindow<ClientChannel>(this.client, SHELL_OPEN_WINDOW, (opened) =>
        this.client.shell(pty, (err, channel) => {
          if (err) return reject(describeSshError(err, this.target));
          opened(channel);
          resolve(channel);
        }),
      );
    });
  }

  /** An SFTP session on a channel of its own (the server starts its sftp subsystem for it). */
  sftp(): Promise<SftpSession> {
    return new Promise((resolve, reject) => {
      this.client.subsys('sftp', (err, channel) => {
        if (err) return reject(new KeylessFailure('SftpUnavailable', `${this.target.host} did not start SFTP (${err.message}).`, false, { host: this.target.host }));
        SftpSession.start(channel).then(resolve, (e: unknown) => {
          channel.close();
          reject(new KeylessFailure('SftpUnavailable', `${this.target.host} did not start SFTP (${(e as Error).message}).`, false, { host: this.target.host }));
        });
      });
    });
  }

  /**
   * Runs a command (bytes, so a path in it reaches the shell as the bytes it is) on a channel of
   * its own, without a terminal.
   */
  exec(command: Buffer): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      // ssh2 writes a Buffer command as it is (its types say string only).
      this.client.exec(command as unknown as string, (err, channel) => (err ? reject(describeSshError(err, this.target)) : resolve(channel)));
    });
  }

  /** A direct-tcpip channel: the server connects to dstHost:dstPort (an SSH local forward). */
  forwardOut(srcPort: number, dstHost: string, dstPort: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', srcPort, dstHost, dstPort, (err, channel) =>
        err
          ? reject(new KeylessFailure('ConnectionRefused', `${this.target.host} could not connect to ${dstHost}:${dstPort} (${err.message}).`, true, { host: dstHost, port: dstPort }))
          : resolve(channel),
      );
    });
  }

  end(): void {
    if (this.closed) return;
    this.client.end();
    this.markClosed();
  }

  private markClosed(reason?: KeylessFailure): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.closeListeners]) l(reason);
    this.closeListeners.clear();
  }
}
