import { z } from 'zod';
import { empty, ok } from './common';
import { queryProblems } from './query';

export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of letters, digits, - and _');
export const portSchema = z.number().int().min(1).max(65535);
const nameSchema = z.string().trim().min(1).max(200);
/** A host name or address: no spaces, no control characters, nothing an ssh option could hide in. */
export const hostnameSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]%-]+$/, 'a host name or IP address');
export const osUserSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/, 'a user name of letters, digits, ., _ and -');

export const sshAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('agent') }),
  z.object({ type: z.literal('keyFile'), path: z.string().min(1).max(4096) }),
]);
export type SshAuth = z.infer<typeof sshAuthSchema>;

/** A plain SSH host as a terminal session connects to it: every value known, nothing inherited. */
export const plainSshHostSchema = z.object({
  kind: z.literal('ssh'),
  id: idSchema,
  name: nameSchema,
  host: hostnameSchema,
  port: portSchema,
  user: osUserSchema,
  auth: sshAuthSchema,
});
export type PlainSshHost = z.infer<typeof plainSshHostSchema>;

/** What the renderer sends to create or update a host: the id is optional for a new one. */
export const plainSshHostInputSchema = plainSshHostSchema.extend({ id: idSchema.optional() });
export type PlainSshHostInput = z.infer<typeof plainSshHostInputSchema>;

/** What `session.open` connects to (plain SSH today; EC2 hosts go through the connect engine). */
export const savedHostSchema = plainSshHostSchema;
export type SavedHost = z.infer<typeof savedHostSchema>;

// ---------------------------------------------------------------------------------------------
// Saved hosts and groups (hosts.json version 2)
// ---------------------------------------------------------------------------------------------

export const CONNECTION_TYPES = ['auto', 'direct', 'eice'] as const;
export const connectionTypeSchema = z.enum(CONNECTION_TYPES);
export type ConnectionType = z.infer<typeof connectionTypeSchema>;
/** EC2 Instance Connect Endpoints open tunnels to these ports only. */
export const EICE_PORTS = [22, 3389] as const;

export const awsProfileSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.@+/-]+$/, 'an AWS profile name from your AWS config');
export const awsRegionSchema = z
  .string()
  .trim()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'an AWS region such as eu-west-1');
export const instanceIdSchema = z
  .string()
  .trim()
  .regex(/^i-[0-9a-f]{8,17}$/, 'an instance id: i- followed by 8 to 17 hex digits, such as i-0123456789abcdef0');
export const endpointIdSchema = z
  .string()
  .trim()
  .regex(/^eice-[0-9a-f]{8,17}$/, 'an endpoint id: eice- followed by 8 to 17 hex digits');
/** ProxyJump as OpenSSH writes it: [user@]host[:port], comma separated. */
export const jumpHostSchema = z
  .string()
  .trim()
  .min(1)
  .max(1000)
  .regex(/^[A-Za-z0-9._:@[\]%,-]+$/, 'a jump host as [user@]host[:port], several separated by commas');
export const tagSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\s,]+$/, 'a tag without spaces or commas');
const notesSchema = z.string().max(10_000);

export const portForwardSchema = z.object({
  /**
   * ssh: a local forward through the host's SSH connection to remoteHost:remotePort (anything the
   * instance reaches); eice: an endpoint tunnel per connection straight to the instance's port 22
   * or 3389 (`aws ec2-instance-connect open-tunnel --local-port`). Absent in files written before
   * forwards had a kind: those were SSH forwards.
   */
  kind: z.enum(['ssh', 'eice']).default('ssh'),
  /** 0: any free port, picked when the forward starts. */
  localPort: z.number().int().min(0).max(65535),
  remoteHost: hostnameSchema.default('localhost'),
  remotePort: portSchema,
});
export type PortForward = z.infer<typeof portForwardSchema>;

/** The settings a group passes down to its hosts and subgroups unless they set their own. */
export const inheritedSettingsSchema = z.object({
  profile: awsProfileSchema.optional(),
  region: awsRegionSchema.optional(),
  osUser: osUserSchema.optional(),
  connectionType: connectionTypeSchema.optional(),
  /** Record every terminal session to the hosts automatically (see `resolveRecordSessions`). */
  recordSessions: z.boolean().optional(),
});
export type InheritedSettings = z.infer<typeof inheritedSettingsSchema>;
export const INHERITED_KEYS = ['profile', 'region', 'osUser', 'connectionType'] as const;
export type InheritedKey = (typeof INHERITED_KEYS)[number];

export const hostGroupSchema = z.object({
  id: idSchema,
  name: nameSchema,
  /** null: at the top of the tree. */
  parentId: idSchema.nullable().default(null),
  settings: inheritedSettingsSchema.default({}),
  notes: notesSchema.default(''),
});
export type HostGroup = z.infer<typeof hostGroupSchema>;
export const hostGroupInputSchema = hostGroupSchema.extend({ id: idSchema.optional() });
export type HostGroupInput = z.input<typeof hostGroupInputSchema>;

const entryCommon = {
  id: idSchema,
  name: nameSchema,
  /** null: not in a group. */
  groupId: idSchema.nullable().default(null),
  tags: z.array(tagSchema).max(50).default([]),
  notes: notesSchema.default(''),
  favourite: z.boolean().default(false),
  /** Record every terminal session to this host into the recording folder; unset: as its groups say (off by default). */
  recordSessions: z.boolean().optional(),
};

/** A plain SSH host as saved: the user may come from its group's OS user. */
export const sshHostEntrySchema = z.object({
  kind: z.literal('ssh'),
  ...entryCommon,
  host: hostnameSchema,
  port: portSchema.default(22),
  user: osUserSchema.optional(),
  auth: sshAuthSchema,
  jumpHost: jumpHostSchema.optional(),
  /**
   * The ProxyCommand of an imported host whose ssh config reaches it through a command Keyless
   * does not run (kept to say so, never executed): such a host is never dialled directly.
   */
  proxyCommand: z
    .string()
    .max(1000)
    .regex(/^[^\p{Cc}]*$/u, 'no control characters')
    .optional(),
});
export type SshHostEntry = z.infer<typeof sshHostEntrySchema>;

/** An EC2 instance as saved: profile, region, OS user and connection type may come from its groups. */
export const ec2HostEntrySchema = z.object({
  kind: z.literal('ec2'),
  ...entryCommon,
  instanceId: instanceIdSchema,
  profile: awsProfileSchema.optional(),
  region: awsRegionSchema.optional(),
  osUser: osUserSchema.optional(),
  connectionType: connectionTypeSchema.optional(),
  endpointId: endpointIdSchema.optional(),
  port: portSchema.default(22),
  /** Seconds an EICE tunnel may stay open (the API allows 1–3600). */
  maxTunnelDuration: z.number().int().min(1).max(3600).optional(),
  portForwards: z.array(portForwardSchema).max(50).default([]),
  /** Reach the instance's private address through these jump hosts (a bastion) instead of directly or through an endpoint. */
  jumpHost: jumpHostSchema.optional(),
});
export type Ec2HostEntry = z.infer<typeof ec2HostEntrySchema>;

export const hostEntrySchema = z.discriminatedUnion('kind', [sshHostEntrySchema, ec2HostEntrySchema]);
export type HostEntry = z.infer<typeof hostEntrySchema>;
export const hostEntryInputSchema = z.discriminatedUnion('kind', [
  sshHostEntrySchema.extend({ id: idSchema.optional() }),
  ec2HostEntrySchema.extend({ id: idSchema.optional() }),
]);
export type HostEntryInput = z.input<typeof hostEntryInputSchema>;
/** Kept for callers written before groups: a plain SSH host to save. */
export const savedHostInputSchema = hostEntryInputSchema;
export type SavedHostInput = HostEntryInput;

// ---------------------------------------------------------------------------------------------
// Smart groups: a saved filter over the inventory, e.g. `tag:env=prod state:running region:eu-west-1`,
// in the one filter language of query.ts (the inventory's filter box reads it the same way)
// ---------------------------------------------------------------------------------------------

export const smartQuerySchema = z
  .string()
  .trim()
  .min(1)
  .max(1000)
  .superRefine((q, ctx) => {
    for (const message of queryProblems(q)) ctx.addIssue({ code: 'custom', message });
  });
export const smartGroupSchema = z.object({
  id: idSchema,
  name: nameSchema,
  query: smartQuerySchema,
});
export type SmartGroup = z.infer<typeof smartGroupSchema>;
export const smartGroupInputSchema = smartGroupSchema.extend({ id: idSchema.optional() });
export type SmartGroupInput = z.input<typeof smartGroupInputSchema>;

export const recentSchema = z.object({ hostId: idSchema, at: z.number().int().min(0) });
export type Recent = z.infer<typeof recentSchema>;
export const MAX_RECENTS = 20;

/** Everything in the hosts store, as `hosts.list` returns it. */
export const hostTreeSchema = z.object({
  groups: z.array(hostGroupSchema),
  hosts: z.array(hostEntrySchema),
  recents: z.array(recentSchema),
  smartGroups: z.array(smartGroupSchema),
});
export type HostTree = z.infer<typeof hostTreeSchema>;

/** The JSON that `hosts.export` writes and `hosts.import` reads: hosts and groups, no secrets. */
export const hostExportSchema = z.object({
  format: z.literal('keyless-hosts'),
  version: z.literal(2),
  groups: z.array(hostGroupSchema),
  hosts: z.array(hostEntrySchema),
  smartGroups: z.array(smartGroupSchema).default([]),
});
export type HostExport = z.infer<typeof hostExportSchema>;

/** One side of an import conflict, as the dialog shows it: a host's address and user, a group's settings, a smart group's filter. */
export const importSideSchema = z.object({
  name: z.string(),
  /** host:port (plain SSH), instance id and region (EC2), the filter (smart group); empty for a group. */
  address: z.string(),
  user: z.string(),
  /** The rest that matters: key file or agent and jump host, AWS profile and route, a group's settings. */
  detail: z.string(),
});
/**
 * An entry of an import whose id is already taken by an entry with other content: importing it
 * would replace that one. Nothing is written until the person chose what to do with each.
 */
export const importConflictSchema = z.object({
  kind: z.enum(['host', 'group', 'smartGroup']),
  id: idSchema,
  existing: importSideSchema,
  incoming: importSideSchema,
});
export type ImportConflict = z.infer<typeof importConflictSchema>;
/** keep: leave the saved entry as it is; replace: the imported one takes its place; both: the imported one is added under a new id. */
export const IMPORT_CHOICES = ['keep', 'replace', 'both'] as const;
export type ImportChoice = (typeof IMPORT_CHOICES)[number];
/** The person's choice per conflict (a list, not a map: an id may be `__proto__`). */
export const importResolutionsSchema = z
  .array(z.object({ kind: importConflictSchema.shape.kind, id: idSchema, choice: z.enum(IMPORT_CHOICES) }).strict())
  .max(20_000);
export type ImportResolution = z.infer<typeof importResolutionsSchema>[number];

/**
 * Why a part of ~/.ssh/config was not imported: an Include that is not a regular file (detail.path,
 * detail.what: fifo, directory, device, socket, symlinkLoop, tooLarge, notRegular) or cannot be read
 * (detail.errno), Includes nested too deep (detail.limit), an Include naming no file, a Match
 * block, a wildcard pattern, a value a saved host cannot hold (detail.field).
 */
export const SSH_CONFIG_SKIP_REASONS = ['includeRefused', 'includeUnreadable', 'includeTooDeep', 'includeMissing', 'fileMissing', 'matchBlock', 'wildcard', 'invalidValue'] as const;
export type SshConfigSkipReason = (typeof SSH_CONFIG_SKIP_REASONS)[number];

export const sshConfigImportReportSchema = z.object({
  file: z.string(),
  added: z.number(),
  updated: z.number(),
  /** Host blocks and files that were left out, and why (wildcard patterns, unreadable Includes, bad values). */
  skipped: z.array(
    z.object({
      pattern: z.string(),
      /** A code the renderer words as `import.skip.<reason>`, filled with `detail`. */
      reason: z.enum(SSH_CONFIG_SKIP_REASONS),
      detail: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    }),
  ),
  /** Saved hosts the import would replace, and how they differ; when any is unresolved, nothing was written. */
  conflicts: z.array(importConflictSchema),
});
export type SshConfigImportReport = z.infer<typeof sshConfigImportReportSchema>;

// ---------------------------------------------------------------------------------------------
// Inheritance: pure, used by the editor (to show where a value comes from) and by connecting.
// ---------------------------------------------------------------------------------------------

export type SettingOrigin =
  | { kind: 'host' }
  | { kind: 'group'; groupId: string; groupName: string }
  | { kind: 'default' }
  | { kind: 'unset' };
export interface ResolvedSetting<T> {
  value: T | undefined;
  from: SettingOrigin;
}
export type EffectiveSettings = {
  profile: ResolvedSetting<string>;
  region: ResolvedSetting<string>;
  osUser: ResolvedSetting<string>;
  connectionType: ResolvedSetting<ConnectionType>;
};

/** What Keyless uses when neither a host nor any of its groups says. Region has no default. */
export const SETTING_DEFAULTS: Partial<{ [K in InheritedKey]: NonNullable<InheritedSettings[K]> }> = {
  profile: 'default',
  osUser: 'ec2-user',
  connectionType: 'auto',
};

/** The chain of groups from `groupId` up to the top; stops at a missing group or a cycle. */
export function groupChain(groupId: string | null, groups: readonly HostGroup[]): HostGroup[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const chain: HostGroup[] = [];
  const seen = new Set<string>();
  for (let id = groupId; id !== null && !seen.has(id); ) {
    const g = byId.get(id);
    if (!g) break;
    seen.add(id);
    chain.push(g);
    id = g.parentId;
  }
  return chain;
}

export function ownSettings(host: HostEntry): InheritedSettings {
  if (host.kind === 'ec2') {
    const { profile, region, osUser, connectionType } = host;
    return { profile, region, osUser, connectionType };
  }
  return { osUser: host.user };
}

/** The settings an entry of `kind` in `groupId` gets from its groups and the defaults, given its own. */
export function resolveFrom(own: InheritedSettings, kind: HostEntry['kind'], groupId: string | null, groups: readonly HostGroup[]): EffectiveSettings {
  const chain = groupChain(groupId, groups);
  const resolve = <K extends InheritedKey>(key: K): ResolvedSetting<NonNullable<InheritedSettings[K]>> => {
    const mine = own[key];
    if (mine !== undefined) return { value: mine as NonNullable<InheritedSettings[K]>, from: { kind: 'host' } };
    for (const g of chain) {
      const v = g.settings[key];
      if (v !== undefined) return { value: v as NonNullable<InheritedSettings[K]>, from: { kind: 'group', groupId: g.id, groupName: g.name } };
    }
    // Plain SSH hosts have no AWS defaults, and their user is the one setting they take.
    const d = SETTING_DEFAULTS[key];
    if (d !== undefined && kind === 'ec2') return { value: d as NonNullable<InheritedSettings[K]>, from: { kind: 'default' } };
    return { value: undefined, from: { kind: 'unset' } };
  };
  return { profile: resolve('profile'), region: resolve('region'), osUser: resolve('osUser'), connectionType: resolve('connectionType') };
}

/**
 * The settings a host connects with, and where each value came from: the host itself, the
 * nearest group that sets it, or the default. `groupId` is where the host is (or would be).
 */
export function resolveSettings(host: HostEntry, groupId: string | null, groups: readonly HostGroup[]): EffectiveSettings {
  return resolveFrom(ownSettings(host), host.kind, groupId, groups);
}

/**
 * Whether sessions to a host are recorded without being asked: the host's own choice, else the
 * nearest group that makes one, else off.
 */
export function resolveRecordSessions(host: Pick<HostEntry, 'recordSessions'>, groupId: string | null, groups: readonly HostGroup[]): ResolvedSetting<boolean> {
  if (host.recordSessions !== undefined) return { value: host.recordSessions, from: { kind: 'host' } };
  for (const g of groupChain(groupId, groups)) {
    const v = g.settings.recordSessions;
    if (v !== undefined) return { value: v, from: { kind: 'group', groupId: g.id, groupName: g.name } };
  }
  return { value: false, from: { kind: 'default' } };
}

/** Problems only visible with the groups at hand (the schema checks each field on its own). */
export function hostProblems(host: HostEntry, groups: readonly HostGroup[]): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  const eff = resolveSettings(host, host.groupId, groups);
  if (host.kind === 'ec2') {
    if (host.jumpHost && (host.endpointId || host.connectionType === 'eice')) {
      problems.push({ field: 'jumpHost', message: 'a jump host and an Instance Connect Endpoint cannot be combined: the instance is reached through one or the other' });
    }
    if (!host.jumpHost && eff.connectionType.value === 'eice' && !(EICE_PORTS as readonly number[]).includes(host.port)) {
      problems.push({ field: 'port', message: 'EC2 Instance Connect Endpoints allow ports 22 and 3389 only' });
    }
    // An SSH forward goes through the SSH connection, so any port works whatever the route;
    // an endpoint tunnel reaches 22 and 3389 only.
    for (const [i, f] of host.portForwards.entries()) {
      if (f.kind === 'eice' && !(EICE_PORTS as readonly number[]).includes(f.remotePort)) {
        problems.push({ field: `portForwards.${i}.remotePort`, message: 'EC2 Instance Connect Endpoints allow ports 22 and 3389 only' });
      }
    }
  } else if (eff.osUser.value === undefined) {
    problems.push({ field: 'user', message: 'set a user here or an OS user on one of its groups' });
  }
  if (host.groupId !== null && !groups.some((g) => g.id === host.groupId)) {
    problems.push({ field: 'groupId', message: `there is no group with the id ${host.groupId}` });
  }
  return problems;
}

/** Ids of a group and every group nested under it. */
export function groupAndDescendants(groupId: string, groups: readonly HostGroup[]): Set<string> {
  const ids = new Set([groupId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const g of groups) {
      if (g.parentId !== null && ids.has(g.parentId) && !ids.has(g.id)) {
        ids.add(g.id);
        grew = true;
      }
    }
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------

const idList = z.array(idSchema).min(1).max(1000);
/** The most characters of an export `hosts.import` takes (the renderer checks a file's size before reading it). */
export const MAX_IMPORT_JSON = 900_000;

/** Saved hosts, groups, recents, import and export. */
export const hostRequests = {
  /** Everything in the store; fails with StoreCorrupt (detail: file, field or line, backup) when hosts.json is unreadable. */
  'hosts.list': { args: empty, result: hostTreeSchema },
  /**
   * Saves a host. `base` is the host as the editor loaded it: when the stored one differs (changed
   * in another window, process or by hand meanwhile), the save is refused with StoreConflict.
   */
  'hosts.save': { args: z.object({ host: hostEntryInputSchema, base: hostEntrySchema.optional() }).strict(), result: hostEntrySchema },
  'hosts.delete': { args: z.object({ id: idSchema }).strict(), result: ok },
  /** Moves hosts into a group (null: to the top). */
  'hosts.move': { args: z.object({ hostIds: idList, groupId: idSchema.nullable() }).strict(), result: ok },
  /** Puts a host at the front of the recents (the renderer calls it when it connects). */
  'hosts.markUsed': { args: z.object({ id: idSchema }).strict(), result: ok },
  'groups.save': { args: z.object({ group: hostGroupInputSchema, base: hostGroupSchema.optional() }).strict(), result: hostGroupSchema },
  /** Deletes a group; its hosts and subgroups move up to its parent. */
  'groups.delete': { args: z.object({ id: idSchema }).strict(), result: ok },
  /** Saves a smart group: a name and a filter over the inventory, checked before it is saved. */
  'smartGroups.save': { args: z.object({ group: smartGroupInputSchema }).strict(), result: smartGroupSchema },
  'smartGroups.delete': { args: z.object({ id: idSchema }).strict(), result: ok },
  /**
   * Reads the person's ~/.ssh/config (with its Includes) and saves its concrete Host blocks. A
   * host it would change is a conflict: without a resolution for each, nothing is written and the
   * conflicts come back; call again with `resolutions`.
   */
  'hosts.importSshConfig': { args: z.object({ resolutions: importResolutionsSchema.optional() }).strict(), result: sshConfigImportReportSchema },
  /** Hosts and groups as JSON (no secrets): all of them, or the given groups (with subgroups) and hosts. */
  'hosts.export': {
    args: z.object({ groupIds: z.array(idSchema).max(1000).optional(), hostIds: z.array(idSchema).max(10_000).optional() }).strict(),
    result: z.object({ json: z.string() }),
  },
  /**
   * Adds the hosts, groups and smart groups of an export; importing the same file twice changes
   * nothing. An entry whose id is taken by one with other content is a conflict: without a
   * resolution for each, nothing is written and the conflicts come back; call again with `resolutions`.
   */
  'hosts.import': {
    args: z.object({ json: z.string().max(MAX_IMPORT_JSON), resolutions: importResolutionsSchema.optional() }).strict(),
    result: z.object({ added: z.number(), updated: z.number(), conflicts: z.array(importConflictSchema) }),
  },
  /** Replaces an unreadable hosts.json with its newest good backup; the unreadable file is kept beside it. */
  'hosts.restoreBackup': { args: empty, result: z.object({ restoredFrom: z.string(), keptAs: z.string() }) },
} as const;

export const hostEvents = {
  /** The store changed: saved here, in another window, by another Keyless process, or edited by hand. */
  'hosts.changed': z.object({}),
} as const;
