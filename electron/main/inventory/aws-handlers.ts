import { join } from 'node:path';
import type { awsRequests, ProfileSummary } from '../../contract';
import { AwsClock } from '../aws/clock';
import { KeylessFailure } from '../base/errors';
import { toDisposable, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { CallContext, Handlers, PeerContext } from '../rpc/contract-server';
import type { Prompts } from '../rpc/prompts';
import { checkProfile } from '../profiles/profile-check';
import { ProfileCredentials, type MfaAsker } from '../profiles/profile-credentials';
import { listProfiles } from '../profiles/profile-files';
import { addSsoProfile, checkNewSession } from '../profiles/sso-config';
import { listSsoAccounts, ssoDeviceLogin, type SsoTarget } from '../profiles/sso-login';
import { FleetInventory } from './fleet-inventory';
import { InventoryCache } from './inventory-cache';

export type AwsHandlers = Pick<Handlers, keyof typeof awsRequests>;

export interface AwsHandlerOptions {
  /** Keyless's data folder: the inventory cache lives there. */
  home: string;
  log: Logger;
  prompts: Prompts;
  /** Opens the SSO verification page in the system browser (Electron only). */
  openExternal?: (url: string) => Promise<void>;
  /** Background refresh of the last inventory; 0 turns it off. */
  backgroundRefreshMs?: number;
  maxConcurrentCalls?: number;
}

export interface AwsServices extends Disposable {
  readonly handlers: AwsHandlers;
  /** Credentials per profile, cached: what the connect engine should use (`CredentialSource`). */
  readonly credentials: ProfileCredentials;
  readonly inventory: FleetInventory;
  /** AWS's clock, learned from every answer the inventory gets; the connect engine signs tunnels by it. */
  readonly clock: AwsClock;
}

/** The MFA question, asked of the peer that started the operation, up to three times. */
function mfaAsker(prompts: Prompts, ctx: CallContext, requestId: string): MfaAsker {
  return async (profile, mfaSerial, retry) => {
    const answer = await prompts.ask(ctx.peer, { kind: 'mfa', requestId, profile, mfaSerial, retry }, ctx.signal);
    return typeof answer === 'string' && answer.trim() ? answer : null;
  };
}

/**
 * The AWS channels: profiles and their identity, SSO sign-in and new SSO profiles, the fleet
 * inventory with progress, and `inventory.updated` to every renderer that has read the inventory
 * whenever a refresh (theirs, another window's, the background one) replaces it.
 */
export function createAwsServices(opts: AwsHandlerOptions): AwsServices {
  const credentials = new ProfileCredentials({ log: opts.log });
  const cache = new InventoryCache(join(opts.home, 'inventory.json'), opts.log);
  const clock = new AwsClock();
  const inventory = new FleetInventory({ credentials, cache, log: opts.log, maxConcurrentCalls: opts.maxConcurrentCalls, clock });
  const listeners = new Set<PeerContext>();
  const follow = (peer: PeerContext) => {
    if (listeners.has(peer) || peer.owned.isDisposed) return;
    listeners.add(peer);
    peer.owned.add(toDisposable(() => listeners.delete(peer)));
  };
  const announce = (fetchedAt: number) => {
    for (const peer of listeners) peer.emit('inventory.updated', { fetchedAt });
  };
  let running: Promise<unknown> | undefined;
  const track = <T>(p: Promise<T>): Promise<T> => {
    running = p;
    void p.finally(() => running === p && (running = undefined)).catch(() => {});
    return p;
  };

  const findProfile = async (name: string): Promise<ProfileSummary> => {
    const list = await listProfiles();
    const p = list.profiles.find((x) => x.name === name);
    if (!p) throw new KeylessFailure('AwsProfileUnknown', `The AWS profile "${name}" is not in ${list.configFile} or ${list.credentialsFile}.`, false, { profile: name });
    return p;
  };

  const deviceLogin = async (target: SsoTarget, ctx: CallContext, requestId: string) => {
    const result = await ssoDeviceLogin(target, {
      signal: ctx.signal,
      onDeviceCode: (code) => {
        const url = code.verificationUriComplete ?? code.verificationUri;
        let browserOpened = false;
        if (opts.openExternal && /^https?:\/\//.test(url)) {
          browserOpened = true;
          opts.openExternal(url).catch(() => opts.log.warn('could not open the SSO page in the browser'));
        }
        ctx.peer.emit('aws.sso.device', { requestId, ...code, browserOpened });
      },
    });
    // Credentials of every profile on this session come from the new token now.
    credentials.invalidateAll();
    opts.log.info('signed in to SSO', { session: target.session ?? null });
    return result;
  };

  const handlers: AwsHandlers = {
    'aws.profiles.list': () => listProfiles(),
    'aws.profiles.check': async ({ requestId, profile }, ctx) =>
      checkProfile(await findProfile(profile), credentials, { signal: ctx.signal, askMfa: mfaAsker(opts.prompts, ctx, requestId) }),
    'aws.sso.login': async ({ requestId, profile, session }, ctx) => {
      const list = await listProfiles();
      let target: SsoTarget;
      if (profile) {
        const p = list.profiles.find((x) => x.name === profile);
        if (!p) throw new KeylessFailure('AwsProfileUnknown', `The AWS profile "${profile}" is not in your AWS config.`, false, { profile });
        if ((p.kind !== 'sso' && p.kind !== 'ssoLegacy') || !p.ssoStartUrl || !p.ssoRegion) {
          throw new KeylessFailure('AwsCredentialsMissing', `The profile "${profile}" does not sign in with IAM Identity Center (SSO).`, false, { profile });
        }
        const s = p.ssoSession ? list.ssoSessions.find((x) => x.name === p.ssoSession) : undefined;
        target = {
          ...(p.ssoSession ? { session: p.ssoSession } : {}),
          startUrl: p.ssoStartUrl,
          region: p.ssoRegion,
          scopes: s?.scopes ? s.scopes.split(',').map((x) => x.trim()).filter(Boolean) : undefined,
          profile,
        };
      } else {
        const s = list.ssoSessions.find((x) => x.name === session);
        if (!s?.startUrl || !s.region) throw new KeylessFailure('AwsProfileUnknown', `The sso-session "${session}" is not in your AWS config.`, false, { profile: session ?? '' });
        target = { session: s.name, startUrl: s.startUrl, region: s.region, scopes: s.scopes?.split(',').map((x) => x.trim()).filter(Boolean) };
      }
      return deviceLogin(target, ctx, requestId);
    },
    'aws.sso.discover': async ({ requestId, session, startUrl, ssoRegion }, ctx) => {
      // Before the sign-in writes the session's token: another session of that name keeps its own.
      await checkNewSession(session, startUrl, ssoRegion);
      const target: SsoTarget = { session, startUrl, region: ssoRegion };
      await deviceLogin(target, ctx, requestId);
      return { accounts: await listSsoAccounts(target, ctx.signal) };
    },
    'aws.sso.createProfile': async (args) => {
      const result = await addSsoProfile(args);
      credentials.invalidateAll();
      opts.log.info('added an SSO profile to the AWS config', { profile: args.profile });
      return result;
    },
    'inventory.get': async (_args, { peer }) => {
      follow(peer);
      return (await cache.load())?.snapshot ?? null;
    },
    'inventory.refresh': async ({ requestId, profiles, regions }, ctx) => {
      follow(ctx.peer);
      const snapshot = await track(
        inventory.refresh(
          { profiles, ...(regions ? { regions } : {}) },
          {
            signal: ctx.signal,
            askMfa: mfaAsker(opts.prompts, ctx, requestId),
            onProgress: (p) => ctx.peer.emit('inventory.progress', { requestId, ...p }),
          },
        ),
      );
      announce(snapshot.fetchedAt);
      return snapshot;
    },
  };

  // The last refresh again, quietly: no questions, and only while someone is looking.
  const every = opts.backgroundRefreshMs ?? 10 * 60_000;
  const background = new AbortController();
  const timer =
    every > 0
      ? setInterval(() => {
          if (running || listeners.size === 0) return;
          void (async () => {
            const last = (await cache.load())?.last;
            if (!last?.profiles.length) return;
            const snapshot = await track(inventory.refresh(last, { signal: background.signal, background: true }));
            announce(snapshot.fetchedAt);
          })().catch((err: unknown) => opts.log.warn('background inventory refresh failed', { error: err instanceof Error ? err.message : String(err) }));
        }, every)
      : undefined;
  timer?.unref?.();

  return {
    handlers,
    credentials,
    inventory,
    clock,
    dispose: () => {
      if (timer) clearInterval(timer);
      background.abort();
      inventory.dispose();
      listeners.clear();
    },
  };
}
