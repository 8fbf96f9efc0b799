import type { Duplex } from 'node:stream';
import type { ConnectStep, RouteInfo } from '../../contract';
import type { SshConnection } from '../ssh/connection';
import type { KnownHostKey } from '../ssh/known-hosts';
import type { Hop } from './route';

/** Where the steps of a connect go (the tab's progress line). */
export type StepReporter = (step: ConnectStep, status: 'start' | 'done' | 'failed') => void;

/**
 * `report`, remembering whether `step` is still open: a connection the pool lends again never
 * reaches a connector, so the caller that opened the step closes it (else the tab would show it
 * running for ever).
 */
export function trackStep(report: StepReporter, step: ConnectStep): { report: StepReporter; closeIfOpen(): void } {
  let open = false;
  return {
    report: (s, status) => {
      if (s === step) open = status === 'start';
      report(s, status);
    },
    closeIfOpen: () => {
      if (open) report(step, 'done');
      open = false;
    },
  };
}

/** What a connect may need from the person who asked for it, and how to stop it. */
export interface ConnectHooks {
  report: StepReporter;
  signal: AbortSignal;
  /**
   * Asks about a host key nothing vouches for; true: trust it. `known`: the keys of other types on
   * record for the host (it now offers another type), shown as OpenSSH warns of them.
   */
  askHostKey(key: { host: string; port: number; keyType: string; fingerprint: string }, known?: KnownHostKey[]): Promise<boolean>;
  /** Asks for a key file's passphrase; null: the person declined. */
  askPassphrase(keyPath: string, retry: boolean): Promise<string | null>;
}

/**
 * Opens a stream to host:port for the next hop: a TCP connection when the hop is the first, a
 * `direct-tcpip` channel through the previous hop's connection otherwise.
 */
export type Dialer = (host: string, port: number, signal: AbortSignal) => Promise<Duplex>;

/** One authenticated SSH connection and how it was made. */
export interface Connection {
  readonly ssh: SshConnection;
  /** The last hop's route (the pool adds the jump hosts). */
  readonly route: Omit<RouteInfo, 'jumps'>;
  readonly osUser: string;
  /** When the endpoint will cut the tunnel (epoch ms), for EICE connections. */
  readonly tunnelDeadline?: number;
}

/**
 * Makes one hop's connection. One implementation per kind of hop: plain SSH (agent, key file,
 * passphrase) and EC2 with Instance Connect (direct or through an endpoint when dialled first,
 * at the private address through `dial` behind a jump host).
 */
export interface Connector<H extends Hop = Hop> {
  connect(hop: H, dial: Dialer | undefined, hooks: ConnectHooks): Promise<Connection>;
}
