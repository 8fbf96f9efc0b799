import { getContext, setContext } from 'svelte';
import { SvelteSet } from 'svelte/reactivity';
import {
  candidateOf,
  filterInstances,
  queryProblems,
  type HostEntry,
  type HostEntryInput,
  type HostGroup,
  type HostGroupInput,
  type ImportConflict,
  type ImportResolution,
  type InventoryInstance,
  type KeylessError,
  type QueryCandidate,
  type Recent,
  type SmartGroup,
  type SmartGroupInput,
  type SshConfigImportReport,
} from '../../../electron/contract';
import { BackendError } from '../backend/backend';
import type { Backend } from '../backend/backend';
import type { Workspace } from './workspace.svelte';
import type { TabTarget } from './tab-target';

/** A tab on a saved host: its id (main resolves the rest at each connect) and its name. */
export const tabTarget = (host: HostEntry): Extract<TabTarget, { hostId: string }> => ({ hostId: host.id, title: host.name });

export type ImportOutcome = { kind: 'sshConfig'; report: SshConfigImportReport } | { kind: 'json'; added: number; updated: number };
/** An import that would replace saved entries, waiting for the person's choice per conflict (nothing is written yet). */
export type ImportQuestion = { source: 'sshConfig'; conflicts: ImportConflict[] } | { source: 'json'; json: string; conflicts: ImportConflict[] };

/** The saved hosts as the sidebar shows them: the tree, the selection, and what the store said last. */
export class HostsState {
  // What the backend sent, replaced whole on each change and never changed in place: raw state, so
  // 1,000 hosts are not wrapped in proxies (the host tree's first paint waited on that).
  groups = $state.raw<HostGroup[]>([]);
  hosts = $state.raw<HostEntry[]>([]);
  recents = $state.raw<Recent[]>([]);
  smartGroups = $state.raw<SmartGroup[]>([]);
  /** The last inventory snapshot (null: none yet), for smart groups and quick connect. */
  inventory = $state.raw<InventoryInstance[] | null>(null);
  /** The profiles in the person's AWS config (null: not read, or unreadable), for the editor's check and suggestions. */
  awsProfiles = $state<string[] | null>(null);
  loaded = $state(false);
  /** hosts.json cannot be read: the error (with file, field or line, and backup) the banner shows. */
  corrupt = $state<KeylessError | undefined>(undefined);
  error = $state<KeylessError | undefined>(undefined);
  lastImport = $state<ImportOutcome | undefined>(undefined);
  importQuestion = $state.raw<ImportQuestion | undefined>(undefined);
  restored = $state<{ restoredFrom: string; keptAs: string } | undefined>(undefined);
  readonly selected = new SvelteSet<string>();
  readonly collapsed = new SvelteSet<string>();
  paletteOpen = $state(false);

  /** What this controller listens to, let go in `dispose`. */
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly backend: Backend,
    /** Where connecting opens its tabs. */
    private readonly workspace: Workspace,
  ) {
    // The inventory (smart groups' members, quick connect's instances) is loaded by AppState once
    // the host tree has been painted: 10,000 instances must not hold up the first paint.
    this.unsubscribe = [backend.on('hosts.changed', () => void this.refresh()), backend.on('inventory.updated', () => void this.loadInventory())];
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  async loadAwsProfiles(): Promise<void> {
    try {
      this.awsProfiles = (await this.backend.invoke('aws.profiles.list', {})).profiles.map((p) => p.name);
    } catch {
      this.awsProfiles = null;
    }
  }

  async loadInventory(): Promise<void> {
    try {
      this.inventory = (await this.backend.invoke('inventory.get', {}))?.instances ?? null;
    } catch {
      /* no inventory (no AWS profiles yet): smart groups say so */
    }
  }

  /** Each instance's fields as the query language reads them, made once per inventory. */
  private readonly candidates = new WeakMap<InventoryInstance, QueryCandidate>();
  private candidate(i: InventoryInstance): QueryCandidate {
    let c = this.candidates.get(i);
    if (!c) this.candidates.set(i, (c = candidateOf(i)));
    return c;
  }

  /** The inventory's instances a smart group's filter matches now: those its query shows in the inventory. */
  members(group: SmartGroup): InventoryInstance[] {
    if (!this.inventory) return [];
    if (queryProblems(group.query).length) return [];
    return filterInstances(this.inventory, group.query, (i) => this.candidate(i)).sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
  }

  /** The saved host of an inventory instance; connecting to one that has none saves it first (it then shows in recents). */
  async connectInstances(instances: readonly InventoryInstance[], opts: { split?: boolean } = {}): Promise<void> {
    const chosen: HostEntry[] = [];
    for (const i of instances) {
      let host = this.hosts.find((h) => h.kind === 'ec2' && h.instanceId === i.id && (h.region ?? i.region) === i.region);
      host ??= await this.saveHost({
        kind: 'ec2',
        name: i.name || i.id,
        instanceId: i.id,
        profile: i.profile,
        region: i.region,
        tags: ['inventory'],
      });
      if (host) chosen.push(host);
    }
    this.connect(chosen, opts);
  }

  /** `after`: the answer is applied only once that has settled (at start: the settings, so the tree is first drawn in its language). */
  async refresh(after?: Promise<unknown>): Promise<void> {
    try {
      const tree = await this.backend.invoke('hosts.list', {});
      await after?.catch(() => undefined);
      performance.mark('keyless:hosts-received');
      this.groups = tree.groups;
      this.hosts = tree.hosts;
      this.recents = tree.recents;
      this.smartGroups = tree.smartGroups;
      this.corrupt = undefined;
      for (const id of [...this.selected]) if (!tree.hosts.some((h) => h.id === id)) this.selected.delete(id);
    } catch (err) {
      const e = asError(err);
      if (e.code === 'StoreCorrupt') this.corrupt = e;
      else this.error = e;
    } finally {
      this.loaded = true;
    }
  }

  childGroups(parentId: string | null): HostGroup[] {
    return this.groups.filter((g) => g.parentId === parentId).sort((a, b) => a.name.localeCompare(b.name));
  }
  /** Each group's own hosts (null: those in no group), favourites first, then by name: made once per change of the hosts. */
  private readonly byGroup = $derived.by(() => {
    // Built afresh on each change of the hosts and never changed afterwards: a plain Map.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const map = new Map<string | null, HostEntry[]>();
    for (const h of this.hosts) {
      const list = map.get(h.groupId);
      if (list) list.push(h);
      else map.set(h.groupId, [h]);
    }
    for (const list of map.values()) list.sort((a, b) => Number(b.favourite) - Number(a.favourite) || a.name.localeCompare(b.name));
    return map;
  });
  hostsIn(groupId: string | null): HostEntry[] {
    return this.byGroup.get(groupId) ?? [];
  }
  /** Every host in a group and its subgroups, in the order the tree shows them. */
  hostsUnder(groupId: string): HostEntry[] {
    return this.inTreeOrder(groupId);
  }
  /** The hosts under `groupId` (null: all of them) as the tree lists them: subgroups first, then its own hosts. */
  inTreeOrder(groupId: string | null = null, depth = 0): HostEntry[] {
    if (depth > 32) return [];
    return [...this.childGroups(groupId).flatMap((g) => this.inTreeOrder(g.id, depth + 1)), ...this.hostsIn(groupId)];
  }
  group(id: string | null): HostGroup | undefined {
    return id === null ? undefined : this.groups.find((g) => g.id === id);
  }

  /**
   * Opens a tab on each host, in order, and puts them at the front of the recents. With
   * `broadcast`, what is typed in any of the new tabs goes to all of them. With `split`, each
   * host opens in a new pane of the current tab instead (a new tab when none is open).
   */
  connect(hosts: readonly HostEntry[], opts: { broadcast?: boolean; split?: boolean } = {}): void {
    const paneIds: string[] = [];
    for (const host of hosts) {
      if (opts.split) {
        const tab = this.workspace.openInSplit(tabTarget(host));
        if (tab.activePaneId) paneIds.push(tab.activePaneId);
      } else {
        const tab = this.workspace.retryOrOpenTab(tabTarget(host));
        paneIds.push(...tab.panes.map((p) => p.id));
        void tab.connect();
      }
      void this.call(() => this.backend.invoke('hosts.markUsed', { id: host.id }));
    }
    if (opts.broadcast && paneIds.length > 1) {
      this.workspace.broadcasting = true;
      this.workspace.broadcastTargets = paneIds;
    }
  }
  /**
   * Types once into every host of a group (and its subgroups): their open tabs are reused, the
   * others opened, and broadcast input is on for exactly those terminals.
   */
  broadcastGroup(groupId: string): void {
    const members = this.hostsUnder(groupId);
    this.workspace.broadcastToHosts(members.map(tabTarget));
    for (const host of members) void this.call(() => this.backend.invoke('hosts.markUsed', { id: host.id }));
  }
  connectSelected(opts: { broadcast?: boolean } = {}): void {
    this.connect(
      this.inTreeOrder().filter((h) => this.selected.has(h.id)),
      opts,
    );
    this.selected.clear();
  }

  /** `base`: the host as the editor loaded it, so that a change made elsewhere meanwhile is not overwritten. */
  saveHost(host: HostEntryInput, base?: HostEntry): Promise<HostEntry | undefined> {
    return this.call(() => this.backend.invoke('hosts.save', base ? { host, base } : { host }));
  }
  async deleteHost(id: string): Promise<void> {
    await this.call(() => this.backend.invoke('hosts.delete', { id }));
  }
  async toggleFavourite(host: HostEntry): Promise<void> {
    await this.saveHost({ ...host, favourite: !host.favourite }, host);
  }
  async move(hostIds: string[], groupId: string | null): Promise<void> {
    if (hostIds.length === 0) return;
    await this.call(() => this.backend.invoke('hosts.move', { hostIds, groupId }));
  }
  saveGroup(group: HostGroupInput, base?: HostGroup): Promise<HostGroup | undefined> {
    return this.call(() => this.backend.invoke('groups.save', base ? { group, base } : { group }));
  }
  async deleteGroup(id: string): Promise<void> {
    await this.call(() => this.backend.invoke('groups.delete', { id }));
  }

  saveSmartGroup(group: SmartGroupInput): Promise<SmartGroup | undefined> {
    return this.call(() => this.backend.invoke('smartGroups.save', { group }));
  }
  async deleteSmartGroup(id: string): Promise<void> {
    await this.call(() => this.backend.invoke('smartGroups.delete', { id }));
  }

  /** Imports ~/.ssh/config; when it would replace saved hosts, asks first (`importQuestion`). */
  async importSshConfig(resolutions?: ImportResolution[]): Promise<void> {
    const report = await this.call(() => this.backend.invoke('hosts.importSshConfig', resolutions ? { resolutions } : {}));
    if (!report) return this.cancelImport();
    // Conflicts again after a choice: the file changed meanwhile, so the question is asked anew.
    this.importQuestion = report.conflicts.length ? { source: 'sshConfig', conflicts: report.conflicts } : undefined;
    if (!report.conflicts.length) this.lastImport = { kind: 'sshConfig', report };
  }
  /** Imports an export; when it would replace saved entries, asks first (`importQuestion`). */
  async importJson(json: string, resolutions?: ImportResolution[]): Promise<void> {
    const r = await this.call(() => this.backend.invoke('hosts.import', resolutions ? { json, resolutions } : { json }));
    if (!r) return this.cancelImport();
    this.importQuestion = r.conflicts.length ? { source: 'json', json, conflicts: r.conflicts } : undefined;
    if (!r.conflicts.length) this.lastImport = { kind: 'json', added: r.added, updated: r.updated };
  }
  /** Carries out the waiting import with the person's choices. */
  async resolveImport(resolutions: ImportResolution[]): Promise<void> {
    const q = this.importQuestion;
    if (!q) return;
    if (q.source === 'json') await this.importJson(q.json, resolutions);
    else await this.importSshConfig(resolutions);
  }
  cancelImport(): void {
    this.importQuestion = undefined;
  }
  async exportJson(): Promise<string | undefined> {
    const groupIds: string[] = [];
    const hostIds = [...this.selected];
    const out = await this.call(() => this.backend.invoke('hosts.export', hostIds.length ? { groupIds, hostIds } : {}));
    return out?.json;
  }
  async restoreBackup(): Promise<void> {
    const r = await this.call(() => this.backend.invoke('hosts.restoreBackup', {}));
    if (r) {
      this.restored = r;
      await this.refresh();
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      this.error = undefined;
      const value = await fn();
      await this.refresh();
      return value;
    } catch (err) {
      const e = asError(err);
      if (e.code === 'StoreCorrupt') this.corrupt = e;
      else this.error = e;
      return undefined;
    }
  }
}

function asError(err: unknown): KeylessError {
  return err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
}

const KEY = Symbol('hosts-state');
export const provideHostsState = (state: HostsState) => setContext(KEY, state);
export const useHostsState = () => getContext<HostsState>(KEY);
