import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createAuditServices } from './audit/audit-handlers';
import { AwsClients } from './aws/clients';
import type { CredentialSource } from './aws/credentials';
import { Ec2Inventory } from './aws/inventory';
import type { Disposable } from './base/lifecycle';
import type { Logger } from './base/log';
import { Ec2Sessions } from './connect/ec2-sessions';
import { EndpointProvisioner } from './connect/endpoint-offer';
import { createAwsServices } from './inventory/aws-handlers';
import { InstanceConnector } from './connect/instance-connector';
import type { Handlers } from './rpc/contract-server';
import { Prompts } from './session/prompts';
import { checkRecordingFolder, listRecordings, readRecording } from './session/recording';
import { TerminalSessions } from './session/terminal-sessions';
import { KnownHosts } from './ssh/known-hosts';
import { createHostHandlers } from './store/host-handlers';
import { HostStore } from './store/hosts';
import { SettingsStore } from './store/settings';
import { terminalSettingsSchema, type KeylessError } from '../contract';
import { toKeylessError } from './base/errors';

export interface BackendOptions {
  /** The data folder: saved hosts, settings, Keyless's known_hosts. */
  home: string;
  transport: 'electron' | 'web';
  version: string;
  systemLocale: string;
  log: Logger;
  /** The user's OpenSSH known_hosts files, read but never written. */
  userKnownHosts?: string[];
  agentSocket?: string | undefined;
  /** The system's folder picker (Electron only); the browser harness has none. */
  chooseFolder?: () => Promise<string | null>;
  /** Opens an http(s) address in the system browser (Electron only). */
  openExternal?: (url: string) => Promise<void>;
  /** Where AWS credentials come from (default: the AWS SDK's own providers per profile). */
  awsCredentials?: CredentialSource;
  /** How often the last inventory is refreshed in the background (ms; 0: never; default 10 minutes). */
  inventoryRefreshMs?: number;
  /** How often a new Instance Connect Endpoint's state is read while Keyless waits for it (default 2 s). */
  endpointPollMs?: number;
}

export interface Backend extends Disposable {
  readonly handlers: Handlers;
  readonly sessions: TerminalSessions;
}

/** Where Keyless keeps its data: KEYLESS_HOME, else the platform's per-user config folder. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KEYLESS_HOME) return env.KEYLESS_HOME;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Keyless');
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Keyless');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'keyless');
}

/** Every service of the main process, as plain Node, behind the contract's handlers. */
export async function createBackend(opts: BackendOptions): Promise<Backend> {
  await mkdir(opts.home, { recursive: true, mode: 0o700 });
  const hosts = new HostStore(opts.home);
  const settings = new SettingsStore(opts.home);
  const prompts = new Prompts();
  const knownHosts = new KnownHosts(join(opts.home, 'known_hosts'), opts.userKnownHosts ?? [join(homedir(), '.ssh', 'known_hosts')]);
  const terminalSettings = async () => terminalSettingsSchema.parse((await settings.get()).terminal ?? {});
  const recordingPrefs = async () => {
    const t = await terminalSettings();
    return { folder: t.recordingFolder, includeInput: t.recordInput };
  };
  /** For a host that records its sessions automatically: where to (the folder checked now), or why it cannot. */
  const autoRecording = async (hostId: string): Promise<{ plan: { folder: string; includeInput: boolean; title: string } } | { error: KeylessError } | { off: true }> => {
    const choice = await hosts.recordingChoice(hostId).catch(() => undefined);
    if (!choice?.record) return { off: true };
    try {
      const prefs = await recordingPrefs();
      return { plan: { folder: await checkRecordingFolder(prefs.folder), includeInput: prefs.includeInput, title: choice.name } };
    } catch (err) {
      return { error: toKeylessError(err) };
    }
  };
  const sessions = new TerminalSessions({ hosts, knownHosts, prompts, log: opts.log, agentSocket: opts.agentSocket, recordingPrefs });
  const ok = { ok: true } as const;
  // Profiles, SSO and the inventory; their cached, MFA-aware credentials serve the connect engine too.
  const aws = createAwsServices({ home: opts.home, log: opts.log, prompts, openExternal: opts.openExternal, backgroundRefreshMs: opts.inventoryRefreshMs });
  const awsClients = new AwsClients(opts.awsCredentials ?? aws.credentials, aws.clock);
  const ec2Inventory = new Ec2Inventory(awsClients);
  // What an inventory refresh reads is what a connection would ask for: connecting from the
  // inventory right after a refresh makes no Describe call.
  const stopSeeding = aws.inventory.onScopeRead((read) => ec2Inventory.seed(read.profile, read.region, read));
  const connector = new InstanceConnector({ clients: awsClients, inventory: ec2Inventory, knownHosts, log: opts.log });
  const endpoints = new EndpointProvisioner({ clients: awsClients, inventory: ec2Inventory, log: opts.log, ...(opts.endpointPollMs ? { pollMs: opts.endpointPollMs } : {}) });
  const ec2 = new Ec2Sessions({ connector, sessions, prompts, hosts, log: opts.log });
  const hostChannels = createHostHandlers(hosts, { log: opts.log });
  // Access policies, CloudTrail's Instance Connect events, and Keyless's own log of its connections.
  const audit = createAuditServices({
    home: opts.home,
    log: opts.log,
    hosts,
    inventory: async () => (await aws.inventory.cache.load())?.snapshot ?? null,
    credentials: (profile) => (opts.awsCredentials ?? aws.credentials).credentials(profile),
  });

  const handlers: Handlers = {
    'app.info': () => ({ version: opts.version, platform: process.platform, systemLocale: opts.systemLocale, transport: opts.transport }),
    'settings.get': () => settings.get(),
    'settings.set': (patch) => settings.update(patch),
    ...hostChannels.handlers,
    ...aws.handlers,
    ...audit.handlers,
    ...audit.recordConnections({
      'session.open': async (args, ctx) => {
        // A host set to record its sessions is recorded from the first byte, without a click.
        const auto = await autoRecording(args.hostId);
        const undo = 'plan' in auto ? sessions.recordFromStart(ctx.peer, args.requestId, auto.plan) : undefined;
        let opened: { sessionId: string };
        try {
          opened = (await ec2.isEc2Host(args.hostId)) ? await ec2.openSaved(args, ctx) : await sessions.open(args, ctx);
        } finally {
          undo?.();
        }
        const rec = sessions.recordingOf(ctx.peer, opened.sessionId);
        // Said here, not only by the recording.stopped event, which may reach the renderer before it knows the session.
        const failed = rec && (await rec.whenOpen());
        const recordingError: KeylessError | undefined =
          'error' in auto ? auto.error : failed ? { code: 'RecordingFolderUnusable', message: `Keyless could not create ${rec.path}.`, retryable: false } : undefined;
        return { sessionId: opened.sessionId, ...(rec && !failed ? { recording: rec.name } : {}), ...(recordingError ? { recordingError } : {}) };
      },
      'session.openEc2': (args, ctx) => ec2.openTerminal(args, ctx),
      'forward.open': (args, ctx) => ec2.openForward(args, ctx),
    }),
    'endpoint.propose': async (args) => endpoints.propose(await ec2.resolve(args)),
    'endpoint.create': async ({ requestId, subnetId, securityGroupIds, ...where }, ctx) =>
      endpoints.create(await ec2.resolve(where), { subnetId, securityGroupIds }, (p) => ctx.peer.emit('endpoint.progress', { requestId, ...p }), ctx.signal),
    'endpoint.wait': async ({ requestId, endpointId, ...where }, ctx) =>
      endpoints.waitFor(await ec2.resolve(where), endpointId, (p) => ctx.peer.emit('endpoint.progress', { requestId, ...p }), ctx.signal),
    'forward.list': (_args, { peer }) => ({ forwards: ec2.listForwards(peer) }),
    'forward.close': ({ forwardId }, { peer }) => (ec2.closeForward(peer, forwardId), ok),
    'session.write': ({ sessionId, data }, { peer }) => (sessions.write(peer, sessionId, data), ok),
    'session.resize': ({ sessionId, cols, rows }, { peer }) => (sessions.resize(peer, sessionId, cols, rows), ok),
    'session.ack': ({ sessionId, bytes }, { peer }) => sessions.ack(peer, sessionId, bytes),
    'session.close': ({ sessionId }, { peer }) => (sessions.close(peer, sessionId), ok),
    'session.stats': ({ sessionId }, { peer }) => sessions.stats(peer, sessionId),
    'recording.start': ({ sessionId, title }, { peer }) => sessions.startRecording(peer, sessionId, title),
    'recording.stop': async ({ sessionId }, { peer }) => (await sessions.stopRecording(peer, sessionId), ok),
    'recording.list': async () => {
      const { folder } = await recordingPrefs();
      return { folder, recordings: await listRecordings(folder) };
    },
    'recording.read': async ({ name }) => ({ text: await readRecording((await recordingPrefs()).folder, name) }),
    'recording.chooseFolder': async () => ({ folder: opts.chooseFolder ? await opts.chooseFolder() : null }),
    'link.open': async ({ url }) => {
      if (!opts.openExternal) return { opened: false };
      await opts.openExternal(url);
      return { opened: true };
    },
    'prompt.answer': ({ promptId, value }, { peer }) => (prompts.answer(peer, promptId, value), ok),
  };

  return {
    handlers,
    sessions,
    dispose: () => {
      stopSeeding();
      ec2.dispose();
      sessions.dispose();
      awsClients.dispose();
      aws.dispose();
      hostChannels.dispose();
      hosts.dispose();
    },
  };
}
