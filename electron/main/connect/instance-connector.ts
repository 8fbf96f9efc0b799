import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AwsClients } from '../aws/clients';
import { endpointOverride } from '../aws/endpoints';
import type { Ec2Inventory } from './ec2-inventory';
import { KeylessFailure } from '../base/errors';
import type { Logger } from '../base/log';
import { sleep } from '../base/sleep';
import { SshConnection } from '../ssh/connection';
import type { KnownHosts } from '../ssh/known-hosts';
import { EndpointTunnel } from '../tunnel/endpoint-tunnel';
import { presignOpenTunnelUrl } from '../tunnel/presign';
import type { Connection, ConnectHooks, Connector, Dialer } from './connector';
import type { EndpointBudget } from './endpoint-budget';
import type { Ec2Target, Hop } from './route';

export type { Ec2Target } from './route';
import { generateEphemeralKey } from './ephemeral-key';
import { verifyInstanceHostKey, type HostKeyTrust } from './host-keys';
import { REPUSH_AFTER_MS, pushKey, type KeyPushTarget } from './key-push';
import { defaultOsUser, planConnection, type ConnectionPlan, type EndpointFacts, type InstanceFacts } from './plan';


type Ec2Hop = Extract<Hop, { kind: 'ec2' }>;

/** One authenticated connection to an instance, and how it was made. */
export interface Ec2Connection extends Connection {
  readonly plan: ConnectionPlan;
  readonly instance: InstanceFacts;
  readonly hostKeyTrust: HostKeyTrust;
  /** How many times a key was pushed for this authentication (2 when the first grew too old). */
  readonly pushes: number;
}

export interface InstanceConnectorDeps {
  clients: AwsClients;
  inventory: Ec2Inventory;
  knownHosts: KnownHosts;
  log: Logger;
  /** At most 20 tunnels per endpoint, shared by everything that opens them; none: no limit kept here. */
  budget?: EndpointBudget;
  /** How long a tunnel waits for an endpoint that other people's tunnels fill (default 2 minutes). */
  endpointBusyWaitMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Tests shorten this to see the re-push. */
  repushAfterMs?: number;
  /** Wait before the one retry of a refused pushed key (default 2 s). */
  authRetryDelayMs?: number;
  handshakeTimeoutMs?: number;
}

/** The endpoint's own limit and default for one tunnel. */
export const DEFAULT_MAX_TUNNEL_SECONDS = 3600;
/** How long to keep asking an endpoint that is full because of other people's tunnels, and how often. */
export const ENDPOINT_BUSY_WAIT_MS = 120_000;
const ENDPOINT_BUSY_BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

function cancelled(): KeylessFailure {
  return new KeylessFailure('Cancelled', 'The connection was cancelled.', true);
}

/**
 * Connects to EC2 instances with Instance Connect. The hot path, with a warm cache:
 * credentials and plan from memory → a fresh Ed25519 key generated, its push started ‖ the tunnel
 * (or TCP connection) opened and the SSH key exchange run over it → host key verified → the
 * ssh-userauth service request sent ‖ wait for the push (pushing again if it is more than 45 s
 * old) → authenticate with that key only. Round trips through an EICE tunnel with nothing
 * cached but credentials and plan (tests/bench/connect.ts measures them): openTunnel 1, key
 * exchange 2 (identification, then ECDH), service request 1, publickey query 1, signed request 1;
 * then a shell: channel open 1, pty-req 1, shell 1 (ssh2 waits for each reply).
 */
export class InstanceConnector implements Connector<Ec2Hop> {
  constructor(private readonly deps: InstanceConnectorDeps) {}

  /** Instance facts and, for a tunnel, the endpoint: both cached after the first call. */
  async plan(target: Ec2Target, throughJump = false): Promise<{ plan: ConnectionPlan; instance: InstanceFacts; osUser: string }> {
    const { inventory } = this.deps;
    const instance = await inventory.instance(target.profile, target.region, target.instanceId);
    let endpoints: EndpointFacts[] = [];
    const wantsTunnel = target.connectionType === 'eice' || target.endpointId !== undefined || (target.connectionType === 'auto' && !instance.publicIpAddress);
    if (!throughJump && wantsTunnel && instance.state === 'running' && instance.vpcId) {
      endpoints = await inventory.endpoints(target.profile, target.region, instance.vpcId);
    }
    const plan = planConnection(instance, endpoints, {
      connectionType: target.connectionType,
      port: target.port,
      ...(target.endpointId ? { endpointId: target.endpointId } : {}),
      throughJump,
    });
    return { plan, instance, osUser: target.osUser ?? defaultOsUser(instance.imageName, instance.platformDetails) };
  }

  /**
   * Opens an EICE tunnel to `port` on the planned address, with a freshly presigned URL dated by
   * AWS's clock (learned from the answers Keyless already gets). A URL refused for its date (this
   * computer's clock changed, or nothing had been heard from AWS yet) teaches the clock by the
   * refusal's own `Date`, and is signed and tried once more.
   */
  async openTunnel(
    target: Pick<Ec2Target, 'profile' | 'region' | 'maxTunnelDuration'>,
    plan: Extract<ConnectionPlan, { kind: 'eice' }>,
    port: number,
    signal?: AbortSignal,
  ): Promise<EndpointTunnel> {
    const giveUpAt = Date.now() + (this.deps.endpointBusyWaitMs ?? ENDPOINT_BUSY_WAIT_MS);
    for (let attempt = 0; ; attempt++) {
      // A slot first: the endpoint refuses a 21st tunnel, so Keyless's own 21st waits here for one to close.
      const slot = await this.deps.budget?.acquire(plan.endpoint.endpointId, signal);
      try {
        const tunnel = await this.openTunnelNow(target, plan, port, signal);
        // Given back when the WebSocket has closed, not when this side lets go: the endpoint counts it till then.
        if (slot) void tunnel.wireClosed.then(() => slot.dispose());
        return tunnel;
      } catch (err) {
        slot?.dispose();
        // Refused as full although Keyless holds fewer: colleagues hold the rest. Their tunnels end;
        // wait and try again rather than fail.
        const busy = err instanceof KeylessFailure && err.code === 'TunnelRefused' && err.detail?.limit !== undefined;
        if (!busy || Date.now() >= giveUpAt || signal?.aborted) throw err;
        const wait = ENDPOINT_BUSY_BACKOFF_MS[Math.min(attempt, ENDPOINT_BUSY_BACKOFF_MS.length - 1)]!;
        this.deps.log.info('endpoint full, waiting for a slot', { endpoint: plan.endpoint.endpointId, attempt: attempt + 1, retryInMs: wait });
        await sleep(wait, signal, 'The connection was cancelled.');
      }
    }
  }

  private async openTunnelNow(
    target: Pick<Ec2Target, 'profile' | 'region' | 'maxTunnelDuration'>,
    plan: Extract<ConnectionPlan, { kind: 'eice' }>,
    port: number,
    signal?: AbortSignal,
  ): Promise<EndpointTunnel> {
    const { clients } = this.deps;
    const dialVia = await endpointOverride('EC2 Instance Connect', target.profile, this.deps.env);
    for (let attempt = 1; ; attempt++) {
      const credentials = await clients.credentials.credentials(target.profile);
      const url = await presignOpenTunnelUrl(
        {
          dnsName: plan.endpoint.dnsName,
          endpointId: plan.endpoint.endpointId,
          privateIpAddress: plan.address,
          remotePort: port,
          region: target.region,
          // Always sent (3600 s is the service's own default), so a policy that bounds
          // ec2-instance-connect:maxTunnelDuration finds the key in every request.
          maxTunnelDuration: target.maxTunnelDuration ?? DEFAULT_MAX_TUNNEL_SECONDS,
        },
        credentials,
        clients.clock.now(),
      );
      try {
        return await EndpointTunnel.open({
          url,
          ...(dialVia ? { dialVia } : {}),
          ...(signal ? { signal } : {}),
          label: `${plan.endpoint.endpointId} to ${plan.address}:${port}`,
          clock: clients.clock,
        });
      } catch (err) {
        if (attempt === 1 && err instanceof KeylessFailure && err.detail?.signedTime === true && !signal?.aborted) {
          this.deps.log.info('tunnel URL refused for its date; signing again by the corrected clock', { endpoint: plan.endpoint.endpointId, offsetMs: clients.clock.offsetMs });
          continue;
        }
        throw this.explainTunnelFailure(err, plan, port);
      }
    }
  }

  /**
   * Connects to the hop's instance: directly or through its endpoint as planned, or, behind a
   * jump host, at its private address through `dial`.
   */
  async connect(hop: Ec2Hop, dial: Dialer | undefined, hooks: ConnectHooks): Promise<Ec2Connection> {
    const { target } = hop;
    const { report, signal } = hooks;
    const t0 = performance.now();
    report('resolve', 'start');
    let planned: Awaited<ReturnType<InstanceConnector['plan']>>;
    try {
      // Credentials are needed by the presign and the push; loading them here surfaces a profile problem first.
      await this.deps.clients.credentials.credentials(target.profile);
      planned = await this.plan(target, dial !== undefined);
      report('resolve', 'done');
    } catch (err) {
      if (err instanceof KeylessFailure && (err.code === 'InstanceNotRunning' || err.code === 'InstanceNotFound')) {
        // The credentials were fine: what failed is the instance's state, which Instance Connect's
        // key push checks (and refuses a stopped instance for); the tab marks that step, not this one.
        report('resolve', 'done');
        report('keyPush', 'failed');
      } else {
        report('resolve', 'failed');
      }
      throw err;
    }
    if (signal.aborted) throw cancelled();
    const { plan, instance, osUser } = planned;
    const pushTarget: KeyPushTarget = {
      profile: target.profile,
      region: target.region,
      instanceId: target.instanceId,
      osUser,
      ...(instance.availabilityZone ? { availabilityZone: instance.availabilityZone } : {}),
    };

    const key = generateEphemeralKey();
    let pushes = 0;
    const push = async () => {
      report('keyPush', 'start');
      try {
        pushes++;
        const at = await pushKey(this.deps.clients, pushTarget, key.publicKey, signal);
        report('keyPush', 'done');
        return at;
      } catch (err) {
        report('keyPush', 'failed');
        throw err;
      }
    };
    // Started now, awaited only just before authentication: the push overlaps the tunnel and key exchange.
    let pushed = push();
    pushed.catch(() => {});

    const attempt = async (): Promise<Ec2Connection> => {
      let sock: Duplex | undefined;
      let tunnelDeadline: number | undefined;
      let hostKeyTrust: HostKeyTrust = 'known';
      // Only an endpoint opens a tunnel; a direct or jumped connection is part of "connecting".
      const opening = plan.kind === 'eice' && !dial ? 'tunnel' : 'connect';
      try {
        report(opening, 'start');
        try {
          if (dial) {
            sock = await dial(plan.address, plan.port, signal);
          } else if (plan.kind === 'eice') {
            const tunnel = await this.openTunnel(target, plan, plan.port, signal);
            sock = tunnel;
            // Every tunnel has a maximum duration (an hour unless the host asks for less): the pool
            // lends no new work to a connection near its cut, and the tab is warned before it.
            const seconds = target.maxTunnelDuration ?? DEFAULT_MAX_TUNNEL_SECONDS;
            const deadline = (tunnelDeadline = Date.now() + seconds * 1000);
            // The endpoint ends the tunnel cleanly at its maximum duration; say so, so the tab knows to reconnect.
            tunnel.once('end', () => {
              if (Date.now() < deadline - 2000) return;
              tunnel.destroy(
                new KeylessFailure('TunnelClosed', `The tunnel to ${target.instanceId} reached its maximum duration of ${seconds} s and the endpoint closed it. Reconnect to continue.`, true, {
                  reason: 'maxTunnelDuration',
                  seconds,
                }),
              );
            });
          } else {
            sock = await this.tcp(plan.address, plan.port, signal);
          }
          if (opening === 'tunnel') report('tunnel', 'done');
        } catch (err) {
          report(opening, 'failed');
          // A failed push says more (denied, stopped) than the tunnel that raced it.
          const pushFailure = await Promise.race([pushed.then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(r, 2000, undefined))]);
          throw pushFailure ?? err;
        }

        const ssh = await SshConnection.open(
          {
            host: plan.address,
            port: plan.port,
            user: osUser,
            identity: { kind: 'key', privateKey: key.privateKey },
            sock,
            readyTimeoutMs: this.deps.handshakeTimeoutMs ?? 30_000,
            verifyHostKey: async (blob) => {
              hostKeyTrust = await verifyInstanceHostKey({
                knownHosts: this.deps.knownHosts,
                instanceId: target.instanceId,
                address: plan.address,
                port: plan.port,
                keyBlob: blob,
                consoleFingerprints: () => this.deps.inventory.consoleHostKeyFingerprints(target.profile, target.region, target.instanceId),
                ask: hooks.askHostKey,
              });
            },
            // Awaited only now, while ssh2's ssh-userauth service request is on the wire: a slow push
            // hides behind that round trip too.
            beforeAuthenticate: async () => {
              const pushedAt = await pushed;
              // The key lives 60 s from the push; an old one (a slow tunnel, a long host-key question) is pushed again.
              if (Date.now() - pushedAt > (this.deps.repushAfterMs ?? REPUSH_AFTER_MS)) await push();
            },
          },
          (step, status) => report(step, status),
          signal,
        ).catch((err: unknown) => {
          const said = plan.kind === 'direct' && !dial ? this.explainDirectFailure(err, instance, plan.address, plan.port) : err;
          throw this.explainAuthFailure(said, instance, osUser, target);
        });
        this.deps.log.info('instance connected', {
          instance: target.instanceId,
          via: dial ? 'jump' : plan.kind,
          user: osUser,
          hostKey: hostKeyTrust,
          pushes,
          ms: Math.round(performance.now() - t0),
        });
        const route = { kind: plan.kind, address: plan.address, port: plan.port, ...(plan.kind === 'eice' ? { endpointId: plan.endpoint.endpointId } : {}) };
        return { ssh, route, plan, osUser, instance, hostKeyTrust, pushes, ...(tunnelDeadline ? { tunnelDeadline } : {}) };
      } catch (err) {
        sock?.destroy();
        if (err instanceof KeylessFailure && ['TunnelClosed', 'NetworkError', 'Timeout', 'InstanceNotRunning', 'InstanceNotFound'].includes(err.code)) {
          // Stale addresses or endpoints explain these: look again next time.
          this.deps.inventory.forget(target.profile, target.region, target.instanceId);
        }
        throw err;
      }
    };

    try {
      try {
        return await attempt();
      } catch (err) {
        // Refused right after an accepted push: the key may not have reached the instance's
        // metadata yet (propagation can lag). Once more with the same key, pushed again.
        if (!(err instanceof KeylessFailure) || err.code !== 'PushedKeyRefused' || signal.aborted) throw err;
        this.deps.log.info('pushed key refused, trying once more', { instance: target.instanceId, user: osUser });
        await new Promise((r) => setTimeout(r, this.deps.authRetryDelayMs ?? 2000));
        if (signal.aborted) throw cancelled();
        pushed = push();
        pushed.catch(() => {});
        return await attempt();
      }
    } finally {
      // ssh2 has parsed the key; Keyless's copy goes now.
      key.dispose();
    }
  }

  private tcp(host: string, port: number, signal: AbortSignal): Promise<Socket> {
    return new Promise((resolve, reject) => {
      // No Nagle: every SSH handshake message is small and waits for an answer.
      const s = tcpConnect({ host, port, noDelay: true });
      const onAbort = () => {
        s.destroy();
        reject(cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      s.setTimeout(15_000, () => s.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      s.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        s.setTimeout(0);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', onAbort);
        const where = { host, port, step: 'connect' };
        if (err.code === 'ECONNREFUSED') {
          reject(new KeylessFailure('ConnectionRefused', `Nothing accepts SSH connections on ${host} port ${port}. Check the instance's security group allows port ${port} from your address.`, true, where));
        } else if (err.code === 'ETIMEDOUT') {
          reject(new KeylessFailure('Timeout', `${host} port ${port} did not answer in time. Check the instance's security group and network ACL allow port ${port} from your address.`, true, where));
        } else {
          reject(new KeylessFailure('NetworkError', `The network connection to ${host} failed (${err.code ?? err.message}).`, true, { ...where, errno: err.code ?? 'error', cause: 'socket' }));
        }
      });
    });
  }

  private explainTunnelFailure(err: unknown, plan: Extract<ConnectionPlan, { kind: 'eice' }>, port: number): unknown {
    if (!(err instanceof KeylessFailure)) return err;
    const reason = String(err.detail?.reason ?? '');
    if (/unable to connect to target/i.test(reason)) {
      const eiceGroups = plan.endpoint.securityGroupIds?.join(', ') || '(none listed)';
      return new KeylessFailure(
        'TunnelClosed',
        `The endpoint ${plan.endpoint.endpointId} could not reach ${plan.address} port ${port}: "${reason}". ` +
          `Allow inbound TCP ${port} on the instance's security group from the endpoint's security group (${eiceGroups}), ` +
          `allow outbound TCP ${port} on the endpoint's security group, and check that sshd is running.`,
        true,
        { ...err.detail, endpointId: plan.endpoint.endpointId, endpointSecurityGroups: eiceGroups, address: plan.address, port, cause: 'targetUnreachable' },
      );
    }
    if (/concurrent|maximum number|limit/i.test(reason)) {
      return new KeylessFailure(
        'TunnelRefused',
        `The endpoint ${plan.endpoint.endpointId} refused another tunnel: "${reason}". An Instance Connect Endpoint carries at most 20 connections at once; close some tabs or port forwards, or add an endpoint.`,
        true,
        { ...err.detail, endpointId: plan.endpoint.endpointId, limit: 20, cause: 'tooMany' },
      );
    }
    return err;
  }

  /**
   * A direct (public IP) connection that ended before the SSH handshake, worded from the route the
   * inventory knows: the instance's public address and security groups, and whether an endpoint
   * route exists (a private address) to use instead.
   */
  private explainDirectFailure(err: unknown, instance: InstanceFacts, address: string, port: number): unknown {
    if (!(err instanceof KeylessFailure) || !(err.code === 'NetworkError' && (err.detail?.cause === 'ssh' || err.detail?.cause === 'closedInHandshake' || err.detail?.cause === 'socket'))) return err;
    const groups = instance.securityGroupIds?.join(', ') || '-';
    const endpointRoute = !!instance.privateIpAddress && !!instance.vpcId;
    return new KeylessFailure(
      'NetworkError',
      `${address} port ${port} (the public IP of ${instance.instanceId}) closed the connection before the SSH handshake. ` +
        `Check that its security groups (${groups}) allow inbound TCP ${port} from your address and that no firewall on the way blocks it` +
        (endpointRoute ? ', or connect through an EC2 Instance Connect Endpoint (the host\'s connection: Endpoint).' : '.'),
      true,
      { ...err.detail, host: address, port, instanceId: instance.instanceId, securityGroups: groups, cause: endpointRoute ? 'directLostOrEndpoint' : 'directLost' },
    );
  }

  private explainAuthFailure(err: unknown, instance: InstanceFacts, osUser: string, target: Ec2Target): unknown {
    if (!(err instanceof KeylessFailure) || err.code !== 'AuthFailed') return err;
    const suggested = defaultOsUser(instance.imageName, instance.platformDetails);
    const image = instance.imageName ?? instance.platformDetails ?? 'unknown image';
    const likely =
      suggested !== osUser
        ? `The AMI (${image}) usually logs in as "${suggested}", not "${osUser}": try that user.`
        : `Check that the instance runs the EC2 Instance Connect agent (package ec2-instance-connect; sshd_config has AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys), and that its clock is right (a pushed key lives 60 s).`;
    return new KeylessFailure(
      'PushedKeyRefused',
      `${target.instanceId} refused the key pushed for "${osUser}" (Permission denied after a successful push). ${likely}`,
      false,
      { host: target.instanceId, user: osUser, suggestedUser: suggested, image },
    );
  }
}
