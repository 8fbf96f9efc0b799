import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  MAX_RECENTS,
  groupAndDescendants,
  hostEntryInputSchema,
  hostExportSchema,
  hostGroupSchema,
  hostProblems,
  resolveRecordSessions,
  resolveSettings,
  smartGroupSchema,
  type HostEntry,
  type HostEntryInput,
  type HostExport,
  type HostGroup,
  type HostGroupInput,
  type HostTree,
  type ImportConflict,
  type ImportResolution,
  type SavedHost,
  type SmartGroup,
  type SmartGroupInput,
} from '../../contract';
import { fail } from '../base/errors';
import type { Disposable } from '../base/lifecycle';
import { decodeHostsFile, emptyHostsFile, type HostsFile } from './hosts-file';
import { JsonStoreFile, type StoreFileOptions } from './store-file';

const newId = (prefix: string) => prefix + randomBytes(6).toString('hex');

/** JSON with sorted keys, so that two equal values compare equal whatever order their keys came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** Refuses an edit made from a stale copy: the stored value is no longer the one the edit started from. */
function checkBase(kind: string, name: string, stored: unknown, base: unknown): void {
  if (base === undefined || canonical(stored) === canonical(base)) return;
  fail(
    'StoreConflict',
    stored === undefined
      ? `The ${kind} ${name} was deleted elsewhere while you edited it; your changes were not saved.`
      : `The ${kind} ${name} was changed elsewhere (another window, another Keyless or by hand) while you edited it; your changes were not saved. Reopen it to see the newest values.`,
    { name },
    true,
  );
}

function invalid(field: string, message: string): never {
  fail('InvalidArguments', `${field}: ${message}`, { field });
}

/** Values from other callers than the contract server (which has parsed them already) get the same clear error. */
function parsed<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  invalid(issue?.path.map(String).join('.') || '(value)', issue?.message ?? 'invalid');
}

/**
 * What a merge changed: groups and hosts together, and hosts alone. With `conflicts`, nothing
 * was written: those entries would replace saved ones and have no resolution yet.
 */
export interface MergeCounts {
  added: number;
  updated: number;
  hostsAdded: number;
  hostsUpdated: number;
  conflicts: ImportConflict[];
}

type Kind = ImportConflict['kind'];

/** An entry as the conflict dialog shows it. */
function side(kind: Kind, entry: HostEntry | HostGroup | SmartGroup): ImportConflict['existing'] {
  if (kind === 'smartGroup') return { name: entry.name, address: (entry as SmartGroup).query, user: '', detail: '' };
  if (kind === 'group') {
    const { profile, region, osUser, connectionType } = (entry as HostGroup).settings;
    return { name: entry.name, address: '', user: osUser ?? '', detail: [profile, region, connectionType].filter(Boolean).join(' · ') };
  }
  const h = entry as HostEntry;
  if (h.kind === 'ssh') {
    const auth = h.auth.type === 'agent' ? 'ssh-agent' : h.auth.path;
    return { name: h.name, address: `${h.host}:${h.port}`, user: h.user ?? '', detail: [auth, h.jumpHost && `ProxyJump ${h.jumpHost}`].filter(Boolean).join(' · ') };
  }
  return { name: h.name, address: [h.instanceId, h.region].filter(Boolean).join(' · '), user: h.osUser ?? '', detail: [h.profile, h.connectionType, h.endpointId].filter(Boolean).join(' · ') };
}

/** Saved hosts, groups and recents: hosts.json in the data folder, shared safely between processes. */
export class HostStore implements Disposable {
  readonly file: JsonStoreFile<HostsFile>;

  constructor(home: string, opts: Partial<StoreFileOptions<HostsFile>> = {}) {
    this.file = new JsonStoreFile({ path: join(home, 'hosts.json'), decode: decodeHostsFile, empty: emptyHostsFile, ...opts });
  }

  async tree(): Promise<HostTree> {
    const { groups, hosts, recents, smartGroups } = await this.file.read();
    return { groups, hosts, recents, smartGroups };
  }

  async entry(id: string): Promise<HostEntry> {
    const host = (await this.file.read()).hosts.find((h) => h.id === id);
    return host ?? fail('NotFound', `No saved host has the id ${id}.`, { id });
  }

  /**
   * The plain SSH host a terminal session connects to, with the user inherited from its groups
   * where it sets none. EC2 hosts are connected by the EC2 connect engine, not here.
   */
  async get(id: string): Promise<SavedHost> {
    const { hosts, groups } = await this.file.read();
    const host = hosts.find((h) => h.id === id) ?? fail('NotFound', `No saved host has the id ${id}.`, { id });
    if (host.kind === 'ec2') {
      fail('HostNotConnectable', `${host.name} is an EC2 instance (${host.instanceId}); this build of Keyless connects plain SSH hosts only.`, {
        name: host.name,
        instanceId: host.instanceId,
      });
    }
    const user = resolveSettings(host, host.groupId, groups).osUser.value;
    if (!user) fail('InvalidArguments', `${host.name} has no user: set one on the host or an OS user on one of its groups.`, { field: 'user' });
    return { kind: 'ssh', id: host.id, name: host.name, host: host.host, port: host.port, user, auth: host.auth };
  }

  /**
   * Whether sessions to a host are recorded without being asked (set on the host or inherited
   * from its groups), and the host's name for the recording's title. Undefined for an unknown id.
   */
  async recordingChoice(id: string): Promise<{ record: boolean; name: string } | undefined> {
    const { hosts, groups } = await this.file.read();
    const host = hosts.find((h) => h.id === id);
    return host && { record: resolveRecordSessions(host, host.groupId, groups).value === true, name: host.name };
  }

  /** Every saved host (kept for callers written before groups). */
  async list(): Promise<HostEntry[]> {
    return (await this.file.read()).hosts;
  }

  save(input: HostEntryInput): Promise<HostEntry> {
    return this.saveHost(input);
  }

  /** Adds or replaces a host; with `base` (the host as the editor loaded it), only if nobody changed it since. */
  async saveHost(input: HostEntryInput, base?: HostEntry): Promise<HostEntry> {
    const entry = parsed(hostEntryInputSchema, input);
    return this.file.update((doc) => {
      const host: HostEntry = { ...entry, id: entry.id ?? newId('h') } as HostEntry;
      if (base) checkBase('host', base.name, doc.hosts.find((h) => h.id === base.id), base);
      const problem = hostProblems(host, doc.groups)[0];
      if (problem) invalid(problem.field, problem.message);
      const i = doc.hosts.findIndex((h) => h.id === host.id);
      if (i >= 0) doc.hosts[i] = host;
      else doc.hosts.push(host);
      return host;
    });
  }

  async deleteHost(id: string): Promise<void> {
    await this.file.update((doc) => {
      const i = doc.hosts.findIndex((h) => h.id === id);
      if (i < 0) fail('NotFound', `No saved host has the id ${id}.`, { id });
      doc.hosts.splice(i, 1);
      doc.recents = doc.recents.filter((r) => r.hostId !== id);
    });
  }

  async moveHosts(hostIds: readonly string[], groupId: string | null): Promise<void> {
    await this.file.update((doc) => {
      if (groupId !== null && !doc.groups.some((g) => g.id === groupId)) fail('NotFound', `No group has the id ${groupId}.`, { id: groupId });
      for (const id of hostIds) {
        const host = doc.hosts.find((h) => h.id === id) ?? fail('NotFound', `No saved host has the id ${id}.`, { id });
        const moved = { ...host, groupId };
        const problem = hostProblems(moved, doc.groups)[0];
        if (problem) invalid(problem.field, `${host.name}: ${problem.message}`);
        host.groupId = groupId;
      }
    });
  }

  async markUsed(id: string, at = Date.now()): Promise<void> {
    await this.file.update((doc) => {
      if (!doc.hosts.some((h) => h.id === id)) fail('NotFound', `No saved host has the id ${id}.`, { id });
      doc.recents = [{ hostId: id, at }, ...doc.recents.filter((r) => r.hostId !== id)].slice(0, MAX_RECENTS);
    });
  }

  async saveGroup(input: HostGroupInput, base?: HostGroup): Promise<HostGroup> {
    return this.file.update((doc) => {
      const group = parsed(hostGroupSchema, { ...input, id: input.id ?? newId('g') });
      if (base) checkBase('group', base.name, doc.groups.find((g) => g.id === base.id), base);
      if (group.parentId !== null) {
        if (!doc.groups.some((g) => g.id === group.parentId)) invalid('parentId', `there is no group with the id ${group.parentId}`);
        if (doc.groups.some((g) => g.id === group.id) && groupAndDescendants(group.id, doc.groups).has(group.parentId)) {
          invalid('parentId', 'a group cannot be nested inside itself or one of its subgroups');
        }
      }
      const i = doc.groups.findIndex((g) => g.id === group.id);
      const next = [...doc.groups];
      if (i >= 0) next[i] = group;
      else next.push(group);
      // A group's settings reach its hosts: refuse a change that would make one of them invalid.
      for (const h of doc.hosts) {
        const problem = hostProblems(h, next)[0];
        if (problem && hostProblems(h, doc.groups).length === 0) invalid(problem.field, `${h.name}: ${problem.message}`);
      }
      doc.groups = next;
      return group;
    });
  }

  /** Deletes a group; what was in it moves up to its parent (nothing is deleted with it). */
  async deleteGroup(id: string): Promise<void> {
    await this.file.update((doc) => {
      const group = doc.groups.find((g) => g.id === id) ?? fail('NotFound', `No group has the id ${id}.`, { id });
      for (const g of doc.groups) if (g.parentId === id) g.parentId = group.parentId;
      for (const h of doc.hosts) if (h.groupId === id) h.groupId = group.parentId;
      doc.groups = doc.groups.filter((g) => g.id !== id);
    });
  }

  async saveSmartGroup(input: SmartGroupInput): Promise<SmartGroup> {
    const group = parsed(smartGroupSchema, { ...input, id: input.id ?? newId('s') });
    return this.file.update((doc) => {
      const i = doc.smartGroups.findIndex((g) => g.id === group.id);
      if (i >= 0) doc.smartGroups[i] = group;
      else doc.smartGroups.push(group);
      return group;
    });
  }

  async deleteSmartGroup(id: string): Promise<void> {
    await this.file.update((doc) => {
      if (!doc.smartGroups.some((g) => g.id === id)) fail('NotFound', `No smart group has the id ${id}.`, { id });
      doc.smartGroups = doc.smartGroups.filter((g) => g.id !== id);
    });
  }

  /** Hosts and groups as JSON: everything, or the chosen groups (with what is under them) and hosts. */
  async exportJson(sel: { groupIds?: readonly string[] | undefined; hostIds?: readonly string[] | undefined } = {}): Promise<string> {
    const { groups, hosts, smartGroups } = await this.file.read();
    let out: HostExport;
    if (!sel.groupIds && !sel.hostIds) {
      out = { format: 'keyless-hosts', version: 2, groups, hosts, smartGroups };
    } else {
      const groupIds = new Set<string>();
      for (const id of sel.groupIds ?? []) for (const g of groupAndDescendants(id, groups)) groupIds.add(g);
      const chosen = hosts.filter((h) => sel.hostIds?.includes(h.id) || (h.groupId !== null && groupIds.has(h.groupId)));
      // Keep the groups the chosen hosts sit in, and their parents, so inherited settings travel too.
      for (const h of chosen) {
        for (let g = groups.find((x) => x.id === h.groupId); g && !groupIds.has(g.id); g = groups.find((x) => x.id === g!.parentId)) {
          groupIds.add(g.id);
        }
      }
      for (const id of [...groupIds]) {
        for (let g = groups.find((x) => x.id === id); g?.parentId; g = groups.find((x) => x.id === g!.parentId)) groupIds.add(g.parentId);
      }
      out = { format: 'keyless-hosts', version: 2, groups: groups.filter((g) => groupIds.has(g.id)), hosts: chosen, smartGroups: [] };
    }
    return JSON.stringify(out, null, 2) + '\n';
  }

  /**
   * Adds the groups, hosts and smart groups of an export. Importing the same file again changes
   * nothing; an entry that would replace a saved one with other content is a conflict, and
   * nothing is written until `resolutions` says what to do with each.
   */
  async importJson(text: string, resolutions: readonly ImportResolution[] = []): Promise<{ added: number; updated: number; conflicts: ImportConflict[] }> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      invalid('json', `it is not valid JSON (${(err as Error).message})`);
    }
    const parsed = hostExportSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      invalid(issue?.path.map(String).join('.') || 'json', `${issue?.message ?? 'invalid'} (expected a Keyless hosts export)`);
    }
    const { added, updated, conflicts } = await this.mergeEntries(parsed.data.groups, parsed.data.hosts, parsed.data.smartGroups, resolutions);
    return { added, updated, conflicts };
  }

  /**
   * Adds groups, hosts and smart groups by id, checking the result as a whole before anything is
   * written. One that would replace a saved entry with other content is applied only as
   * `resolutions` says: keep the saved one, replace it, or add the imported one under a new id
   * (then what the import puts in a group kept both ways goes into the new copy). Without a
   * resolution for every such entry nothing is written, and they come back as `conflicts`.
   */
  async mergeEntries(
    groups: readonly HostGroup[],
    hosts: readonly HostEntry[],
    smartGroups: readonly SmartGroup[] = [],
    resolutions: readonly ImportResolution[] = [],
  ): Promise<MergeCounts> {
    return this.file.update((doc) => {
      const counts: MergeCounts = { added: 0, updated: 0, hostsAdded: 0, hostsUpdated: 0, conflicts: [] };
      // Maps, not objects: an imported id may be `__proto__`.
      const choices = new Map(resolutions.map((r) => [`${r.kind}:${r.id}`, r.choice]));
      const saved = new Map<string, HostEntry | HostGroup | SmartGroup>();
      for (const g of doc.groups) saved.set(`group:${g.id}`, g);
      for (const h of doc.hosts) saved.set(`host:${h.id}`, h);
      for (const g of doc.smartGroups) saved.set(`smartGroup:${g.id}`, g);
      const incoming: Array<[Kind, HostEntry | HostGroup | SmartGroup]> = [
        ...groups.map((g) => ['group', g] as [Kind, HostGroup]),
        ...hosts.map((h) => ['host', h] as [Kind, HostEntry]),
        ...smartGroups.map((g) => ['smartGroup', g] as [Kind, SmartGroup]),
      ];
      const conflicts: ImportConflict[] = [];
      for (const [kind, item] of incoming) {
        const before = saved.get(`${kind}:${item.id}`);
        if (before && canonical(before) !== canonical(item)) conflicts.push({ kind, id: item.id, existing: side(kind, before), incoming: side(kind, item) });
      }
      if (conflicts.some((c) => !choices.has(`${c.kind}:${c.id}`))) return { ...counts, conflicts };

      // A choice applies only where there is a conflict; any other entry of the import is added or unchanged.
      const conflicting = new Set(conflicts.map((c) => `${c.kind}:${c.id}`));
      const choiceFor = (kind: Kind, id: string) => (conflicting.has(`${kind}:${id}`) ? choices.get(`${kind}:${id}`) : undefined);
      const copies = new Map<string, string>();
      for (const g of groups) if (choiceFor('group', g.id) === 'both') copies.set(g.id, newId('g'));
      const inGroup = (id: string | null) => (id === null ? null : (copies.get(id) ?? id));
      const upsert = <T extends { id: string }>(list: T[], item: T, isHost: boolean) => {
        const i = list.findIndex((x) => x.id === item.id);
        if (i < 0) {
          list.push(item);
          counts.added++;
          if (isHost) counts.hostsAdded++;
        } else if (canonical(list[i]) !== canonical(item)) {
          list[i] = item;
          counts.updated++;
          if (isHost) counts.hostsUpdated++;
        }
      };
      const nextGroups = [...doc.groups];
      const nextHosts = [...doc.hosts];
      const nextSmart = [...doc.smartGroups];
      for (const g of groups) {
        if (choiceFor('group', g.id) === 'keep') continue;
        upsert(nextGroups, { ...g, id: copies.get(g.id) ?? g.id, parentId: inGroup(g.parentId) }, false);
      }
      for (const h of hosts) {
        const choice = choiceFor('host', h.id);
        if (choice === 'keep') continue;
        upsert(nextHosts, { ...h, id: choice === 'both' ? newId('h') : h.id, groupId: inGroup(h.groupId) }, true);
      }
      for (const g of smartGroups) {
        const choice = choiceFor('smartGroup', g.id);
        if (choice === 'keep') continue;
        upsert(nextSmart, { ...g, id: choice === 'both' ? newId('s') : g.id }, false);
      }
      const checked = { ...doc, groups: nextGroups, hosts: nextHosts, smartGroups: nextSmart };
      try {
        decodeHostsFile(JSON.parse(JSON.stringify(checked)));
      } catch (err) {
        invalid((err as { field?: string }).field ?? 'json', (err as Error).message);
      }
      doc.groups = nextGroups;
      doc.hosts = nextHosts;
      doc.smartGroups = nextSmart;
      return counts;
    });
  }

  restoreBackup(): Promise<{ restoredFrom: string; keptAs: string }> {
    return this.file.restoreBackup();
  }

  onDidChange(listener: () => void): Disposable {
    return this.file.onDidChange(listener);
  }

  dispose(): void {
    this.file.dispose();
  }
}
