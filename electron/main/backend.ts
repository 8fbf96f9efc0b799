import { mkdir } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createAuditServices } from './audit/audit-handlers';
import { AwsClients } from './aws/clients';
import type { CredentialSource } from './aws/credentials';
import { Ec2Inventory } from './connect/ec2-inventory';
import type { Disposable } from './base/lifecycle';
import type { Logger } from './base/log';
import { EndpointBudget, TUNNELS_PER_ENDPOINT } from './connect/endpoint-budget';
import { EndpointProvisioner } from './connect/endpoint-offer';
import { createAwsServices } from './inventory/aws-handlers';
import { InstanceConnector, type Ec2Target } from './connect/instance-connector';
import { PlainSshConnector } from './connect/plain-ssh-connector';
import { assertEicePort } from './connect/plan';
import { ConnectionPool } from './connect/pool';
import { planRoute, type Route } from './connect/route';
import type { CallContext, Handlers } from './rpc/contract-server';
import { Prompts } from './rpc/prompts';
import { checkRecordingFolder, listRecordings, readRecording } from './session/recording';
import { progressReporter, promptHooks, TerminalSessions } from './session/terminal-sessions';
import { KnownHosts } from './ssh/known-hosts';
import { defaultDownloadsFolder, FilesService, filesHandlers } from './files/files-service';
import { FleetService, fleetHandlers, type FleetDeps } from './fleet/fleet-service';
import { FleetUploadLog, FleetUploads, fleetUploadHandlers } from './fleet/fleet-upload';
import { FleetRunLog } from './fleet/run-log';
import { resolveTargets } from './fleet/targets';
import { bridgeHandlers, OpenSshSetupService } from './bridge/openssh-setup';
import { createHostHandlers } from './store/host-handlers';
import { Doctor, doctorHandlers } from './doctor/doctor-service';
import { HostStore } from './store/hosts';
import { SettingsStore } from './store/settings';
import { PortForwards } from './tunnel/port-forwards';
import { terminalSettingsSchema, type HostRef, type KeylessError } from '../contract';
import { fail, toKeylessError } from './base/errors';

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
  /** How long a connection stays open after its last consumer let go (default 10 s; 0: closed at once). */
  connectionLingerMs?: number;
  /** Where Files downloads go (default ~/Downloads). */
  downloadsFolder?: string;
  /** The system's dialog for files or folders to upload (Electron only). */
  chooseFiles?: (folders: boolean) => Promise<string[] | null>;
  /** ~/.ssh, where "Set up OpenSSH" writes (tests give another). */
  sshDir?: string;
}

export interface Backend extends Disposable {
  readonly handlers: Handlers;
  readonly sessions: TerminalSessions;
  /** Every SSH connection, shared by terminals, forwards and (later) transfers and command runs. */
  readonly pool: ConnectionPool;
  /** Fleet commands (runs on many hosts), for tests and the benchmark. */
  readonly fleet: FleetService;
  /** Files to many hosts, for tests. */
  readonly fleetUploads: FleetUploads;
  /** Disposes everything and waits for the last audit lines (sessions ended by the close) to be written. */
  close(): Promise<void>;
  /** Reads the saved hosts ahead of the page's first call; called once the page is on its way (the host tree is the first thing drawn). */
  warm(): void;
}

/** `{ hostId }` or `{ target }` from a call's arguments. */
const refOf = (a: { hostId?: string | undefined; target?: HostRef['target'] }): HostRef => (a.hostId !== undefined ? { hostId: a.hostId } : { target: a.target! });

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
  const ok = { ok: true } as const;
  // Profiles, SSO and the inventory; their cached, MFA-aware credentials serve the connect engine too.
  const aws = createAwsServices({ home: opts.home, log: opts.log, prompts, openExternal: opts.openExternal, backgroundRefreshMs: opts.inventoryRefreshMs });
  const awsClients = new AwsClients(opts.awsCredentials ?? aws.credentials, aws.clock);
  const ec2Inventory = new Ec2Inventory(awsClients);
  // What an inventory refresh reads is what a connection would ask for: connecting from the
  // inventory right after a refresh makes no Describe call.
  const stopSeeding = aws.inventory.onScopeRead((read) => ec2Inventory.seed(read.profile, read.region, read));
  // One pool makes every connection; an endpoint carries at most 20 tunnels, and an idle
  // connection gives its slot back when work waits for one.
  const budget = new EndpointBudget(TUNNELS_PER_ENDPOINT, (endpointId) => pool.releaseIdle(endpointId));
  const connector = new InstanceConnector({ clients: awsClients, inventory: ec2Inventory, knownHosts, log: opts.log, budget });
  const pool: ConnectionPool = new ConnectionPool({
    connectors: { ssh: new PlainSshConnector({ knownHosts, agentSocket: opts.agentSocket }), ec2: connector },
    log: opts.log,
    ...(opts.connectionLingerMs !== undefined ? { lingerMs: opts.connectionLingerMs } : {}),
  });
  const routeOf = async (ref: HostRef): Promise<Route> => planRoute(ref, await hosts.tree());
  /** The EC2 instance a reference ends at (endpoint offers, endpoint tunnels). */
  const ec2TargetOf = async (ref: HostRef): Promise<{ target: Ec2Target; route: Route }> => {
    const route = await routeOf(ref);
    const last = route.hops[route.hops.length - 1]!;
    if (last.kind !== 'ec2') fail('InvalidArguments', `${last.label} is not an EC2 instance.`, { field: 'hostId' });
    return { target: last.target, route };
  };
  const endpoints = new EndpointProvisioner({ clients: awsClients, inventory: ec2Inventory, log: opts.log, ...(opts.endpointPollMs ? { pollMs: opts.endpointPollMs } : {}) });
  const forwards = new PortForwards(opts.log);
  // The doctor: why a connection fails, read from the account; its connect attempt uses the same connector.
  const doctor = new Doctor({ clients: awsClients, connector, log: opts.log });
  const hostChannels = createHostHandlers(hosts, { log: opts.log });
  // Access policies, CloudTrail's Instance Connect events, and Keyless's own log of its connections.
  const audit = createAuditServices({
    home: opts.home,
    log: opts.log,
    hosts,
    inventory: async () => (await aws.inventory.cache.load())?.snapshot ?? null,
    credentials: (profile) => (opts.awsCredentials ?? aws.credentials).credentials(profile),
  });
  const sessions = new TerminalSessions({ pool, routeOf, prompts, log: opts.log, recordingPrefs, events: audit.sessionEvents });
  // Files: SFTP browsers and transfers on the same pooled connections as the terminals.
  const files = new FilesService({
    pool,
    routeOf,
    prompts,
    log: opts.log,
    hooksFor: (peer, requestId, signal) => {
      const report = progressReporter(peer, requestId);
      return { report, hooks: promptHooks(prompts, peer, requestId, signal, report) };
    },
    downloadsFolder: opts.downloadsFolder ?? defaultDownloadsFolder(),
    ...(opts.chooseFiles ? { chooseFiles: opts.chooseFiles } : {}),
    ...(opts.chooseFolder ? { chooseFolder: opts.chooseFolder } : {}),
  });

  // Fleet commands: runs on many hosts over the pool, 20 at a time per endpoint; audited in fleet-runs.jsonl.
  const fleetLog = new FleetRunLog(join(opts.home, 'fleet-runs.jsonl'), opts.log);
  const fleetDeps: FleetDeps = {
    pool,
    routeOf,
    connector,
    resolveTargets: async (targets) => {
      const tree = await hosts.tree();
      const needsInventory = targets.smartGroupId !== undefined || targets.query !== undefined;
      const inventory = needsInventory ? ((await aws.inventory.cache.load())?.snapshot.instances ?? null) : null;
      return resolveTargets(targets, { ...tree, inventory });
    },
    // Nobody is asked during a run: an EC2 host key is confirmed by its console output, a plain SSH host must be known.
    hooks: (signal) => ({ report: () => {}, signal, askHostKey: async () => false, askPassphrase: async () => null }),
    audit: (entry) => void fleetLog.append(entry),
    localUser: (() => {
      try {
        return userInfo().username;
      } catch {
        return '';
      }
    })(),
    log: opts.log,
  };
  const fleet = new FleetService(fleetDeps);
  // Files to many hosts: the same targets and scheduling; audited in fleet-uploads.jsonl.
  const uploadLog = new FleetUploadLog(join(opts.home, 'fleet-uploads.jsonl'), opts.log);
  const fleetUploads = new FleetUploads({ ...fleetDeps, audit: (entry) => void uploadLog.append(entry) });

  const openForward: Handlers['forward.open'] = async (args, ctx: CallContext) => {
    const ref = refOf(args);
    // Checked before anything else: an endpoint tunnels to 22 and 3389 only.
    if (args.kind === 'eice') assertEicePort(args.remotePort);
    const route = await routeOf(ref);
    const last = route.hops[route.hops.length - 1]!;
    const report = progressReporter(ctx.peer, args.requestId);
    const hooks = promptHooks(prompts, ctx.peer, args.requestId, ctx.signal, report);
    return forwards.open(
      { kind: args.kind, localPort: args.localPort, remoteHost: args.remoteHost, remotePort: args.remotePort, label: last.kind === 'ec2' ? last.target.instanceId : last.label },
      {
        borrow: async () => {
          const lease = await pool.borrow(route, hooks);
          const ssh = lease.connection.ssh;
          return { forwardOut: (src, host, port) => ssh.forwardOut(src, host, port), onDrop: lease.onDrop, get isClosed() { return ssh.isClosed; }, dispose: () => lease.dispose() };
        },
        endpointTunnel: async (port) => {
          if (last.kind !== 'ec2' || route.hops.length > 1) fail('InvalidArguments', `${last.label} is not an EC2 instance reached through an endpoint.`, { field: 'kind' });
          report('resolve', 'start');
          const { plan } = await connector.plan({ ...last.target, connectionType: 'eice', port }).catch((err: unknown) => {
            report('resolve', 'failed');
            throw err;
          });
          report('resolve', 'done');
          if (plan.kind !== 'eice') fail('NoEndpoint', `${last.target.instanceId} cannot be reached through an endpoint.`, { instanceId: last.target.instanceId, cause: 'notEice' });
          return { address: plan.address, open: (signal) => connector.openTunnel(last.target, plan, port, signal) };
        },
      },
      ctx.peer,
      ctx.signal,
    );
  };

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
        const auto = args.hostId !== undefined ? await autoRecording(args.hostId) : ({ off: true } as const);
        const undo = 'plan' in auto ? sessions.recordFromStart(ctx.peer, args.requestId, auto.plan) : undefined;
        let opened: Awaited<ReturnType<TerminalSessions['open']>>;
        try {
          opened = await sessions.open(args, ctx);
        } finally {
          undo?.();
        }
        const rec = sessions.recordingOf(ctx.peer, opened.sessionId);
        // Said here, not only by the recording.stopped event, which may reach the renderer before it knows the session.
        const failed = rec && (await rec.whenOpen());
        const recordingError: KeylessError | undefined =
          'error' in auto ? auto.error : failed ? { code: 'RecordingFolderUnusable', message: `Keyless could not create ${rec.path}.`, retryable: false } : undefined;
        return { ...opened, ...(rec && !failed ? { recording: rec.name } : {}), ...(recordingError ? { recordingError } : {}) };
      },
      'forward.open': openForward,
    }),
    'endpoint.propose': async (args) => endpoints.propose((await ec2TargetOf(refOf(args))).target),
    'endpoint.create': async ({ requestId, subnetId, securityGroupIds, ...where }, ctx) =>
      endpoints.create((await ec2TargetOf(refOf(where))).target, { subnetId, securityGroupIds }, (p) => ctx.peer.emit('endpoint.progress', { requestId, ...p }), ctx.signal),
    'endpoint.wait': async ({ requestId, endpointId, ...where }, ctx) =>
      endpoints.waitFor((await ec2TargetOf(refOf(where))).target, endpointId, (p) => ctx.peer.emit('endpoint.progress', { requestId, ...p }), ctx.signal),
    'forward.list': (_args, { peer }) => ({ forwards: forwards.list(peer) }),
    'forward.close': ({ forwardId }, { peer }) => (forwards.close(peer, forwardId), ok),
    'session.write': ({ sessionId, data }, { peer }) => (sessions.write(peer, sessionId, data), ok),
    'session.resize': ({ sessionId, cols, rows }, { peer }) => (sessions.resize(peer, sessionId, cols, rows), ok),
    'session.ack': ({ sessionId, bytes, parseMs }, { peer }) => sessions.ack(peer, sessionId, bytes, parseMs),
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
    ...filesHandlers(files),
    ...fleetHandlers(fleet),
    ...doctorHandlers(doctor, async (ref) => (await ec2TargetOf(refOf(ref as HostRef))).target),
    ...bridgeHandlers(new OpenSshSetupService({ hosts, home: opts.home, ...(opts.sshDir ? { sshDir: opts.sshDir } : {}) })),
    ...fleetUploadHandlers(fleetUploads),
  };

  const dispose = () => {
    stopSeeding();
    fleet.dispose();
    fleetUploads.dispose();
    forwards.dispose();
    doctor.dispose();
    files.dispose();
    sessions.dispose();
    pool.dispose();
    awsClients.dispose();
    aws.dispose();
    hostChannels.dispose();
    hosts.dispose();
  };
  return {
    handlers,
    sessions,
    pool,
    fleet,
    fleetUploads,
    dispose,
    warm: () => void hosts.file.warm(),
    close: async () => {
      dispose();
      await Promise.all([audit.flushed(), fleetLog.flushed(), uploadLog.flushed()]);
    },
  };
}
