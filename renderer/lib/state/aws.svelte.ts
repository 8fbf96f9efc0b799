import type {
  InventorySnapshot,
  KeylessError,
  ProfileCheck,
  ProfileList,
  SsoAccount,
  EventPayload,
  NewSsoProfile,
} from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';
import { groupLines, setOf, tagKeys, toRow, toggled, type GroupBy, type Line, type Row } from '../inventory/inventory-filter';
import { startRowMatcher } from '../inventory/row-matcher';

export type DeviceCode = EventPayload<'aws.sso.device'>;
let nextRequest = 1;
const requestId = (kind: string) => `${kind}-${Date.now().toString(36)}-${nextRequest++}`;

const asError = (err: unknown): KeylessError =>
  err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };

/** AWS profiles and their checks, SSO sign-in, and the fleet inventory with its filter, grouping and selection. */
export class AwsState {
  profiles = $state<ProfileList | null>(null);
  checks = $state<Record<string, ProfileCheck | 'checking'>>({});
  /** The SSO code being confirmed, while a sign-in waits. */
  device = $state<DeviceCode | null>(null);
  signingIn = $state<string | null>(null);
  signedInUntil = $state<number | null>(null);
  error = $state<KeylessError | null>(null);
  notice = $state<string | null>(null);

  snapshot = $state.raw<InventorySnapshot | null>(null);
  rows = $state.raw<Row[]>([]);
  refreshing = $state<{ requestId: string; done: number; total: number } | null>(null);
  chosenProfiles = $state<string[]>([]);
  regionsText = $state('');
  groupBy = $state<GroupBy>({ kind: 'none' });
  collapsed = $state.raw<ReadonlySet<string>>(setOf());
  selected = $state.raw<ReadonlySet<string>>(setOf());
  /** Index in `lines` of the keyboard cursor. */
  cursor = $state(0);
  /** Ticks every 15 s so ages on screen stay current. */
  now = $state(Date.now());

  #query = $state('');
  /** The rows the filter keeps, best match first; set when the matcher answers (see RowMatcher). */
  filtered = $state.raw<Row[]>([]);
  /** The query `filtered` answers: while a newer one is being matched, the one before it. */
  shownQuery = $state('');
  private readonly matcher = startRowMatcher((rows, query) => {
    this.filtered = rows;
    this.shownQuery = query;
  });

  get query(): string {
    return this.#query;
  }
  set query(q: string) {
    this.#query = q;
    this.matcher.match(q);
  }
  readonly lines: readonly Line[] = $derived(groupLines(this.filtered, this.groupBy, this.collapsed));
  readonly tagKeys = $derived(tagKeys(this.rows));

  /** What this controller listens to, let go in `dispose`. */
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly backend: Backend) {
    this.unsubscribe.push(
      backend.on('aws.sso.device', (d) => {
        if (d.requestId === this.signingIn) this.device = d;
      }),
      backend.on('inventory.progress', (p) => {
        if (this.refreshing?.requestId === p.requestId) this.refreshing = { requestId: p.requestId, done: p.done, total: p.total };
      }),
    );
    this.unsubscribe.push(
      backend.on('inventory.updated', () => {
        if (!this.refreshing) void this.loadInventory();
      }),
    );
    const ticking = setInterval(() => (this.now = Date.now()), 15_000);
    this.unsubscribe.push(() => clearInterval(ticking));
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.matcher.dispose();
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      this.error = null;
      return await fn();
    } catch (err) {
      this.error = asError(err);
      return undefined;
    }
  }

  async loadProfiles(): Promise<void> {
    await this.guard(async () => {
      this.profiles = await this.backend.invoke('aws.profiles.list', {});
      if (!this.chosenProfiles.length && this.profiles.profiles.length) {
        const d = this.profiles.profiles.find((p) => p.name === this.profiles!.defaultProfile) ?? this.profiles.profiles[0]!;
        this.chosenProfiles = [d.name];
      }
    });
  }

  async check(profile: string): Promise<void> {
    this.checks[profile] = 'checking';
    const result = await this.guard(() => this.backend.invoke('aws.profiles.check', { requestId: requestId('check'), profile }));
    if (result) this.checks[profile] = result;
    else delete this.checks[profile];
  }

  async checkAll(): Promise<void> {
    await Promise.all((this.profiles?.profiles ?? []).map((p) => this.check(p.name)));
  }

  async signIn(profile: string): Promise<void> {
    const id = requestId('sso');
    this.signingIn = id;
    this.device = null;
    const result = await this.guard(() => this.backend.invoke('aws.sso.login', { requestId: id, profile }));
    if (this.signingIn === id) {
      this.signingIn = null;
      this.device = null;
    }
    if (result) {
      this.signedInUntil = result.expiresAt;
      await this.check(profile);
    }
  }

  async cancelSignIn(): Promise<void> {
    const id = this.signingIn;
    if (id) await this.backend.invoke('op.cancel', { requestId: id }).catch(() => {});
  }

  /** Signs in to a new sso-session and returns the accounts and roles it may use. */
  async discover(session: string, startUrl: string, ssoRegion: string): Promise<SsoAccount[] | undefined> {
    const id = requestId('sso');
    this.signingIn = id;
    this.device = null;
    try {
      return await this.guard(async () => (await this.backend.invoke('aws.sso.discover', { requestId: id, session, startUrl, ssoRegion })).accounts);
    } finally {
      if (this.signingIn === id) {
        this.signingIn = null;
        this.device = null;
      }
    }
  }

  async createProfile(p: NewSsoProfile): Promise<{ configFile: string; backupFile: string | null } | undefined> {
    const result = await this.guard(() => this.backend.invoke('aws.sso.createProfile', p));
    if (result) await this.loadProfiles();
    return result;
  }

  // ---- inventory ---------------------------------------------------------------------------

  private setSnapshot(s: InventorySnapshot | null): void {
    this.snapshot = s;
    this.rows = (s?.instances ?? []).map(toRow).sort((a, b) => (a.inst.name || '~').localeCompare(b.inst.name || '~') || a.key.localeCompare(b.key));
    this.matcher.setRows(this.rows);
    const keys = setOf(this.rows.map((r) => r.key));
    this.selected = setOf([...this.selected].filter((k) => keys.has(k)));
  }

  async loadInventory(): Promise<void> {
    await this.guard(async () => this.setSnapshot(await this.backend.invoke('inventory.get', {})));
  }

  regions(): string[] | undefined {
    const list = this.regionsText
      .split(/[\s,]+/)
      .map((r) => r.trim())
      .filter(Boolean);
    return list.length ? list : undefined;
  }

  async refresh(): Promise<void> {
    if (this.refreshing || !this.chosenProfiles.length) return;
    const id = requestId('inv');
    this.refreshing = { requestId: id, done: 0, total: 0 };
    const regions = this.regions();
    try {
      const snap = await this.guard(() =>
        this.backend.invoke('inventory.refresh', { requestId: id, profiles: [...this.chosenProfiles], ...(regions ? { regions } : {}) }),
      );
      if (snap) this.setSnapshot(snap);
    } finally {
      this.refreshing = null;
    }
  }

  async cancelRefresh(): Promise<void> {
    if (this.refreshing) await this.backend.invoke('op.cancel', { requestId: this.refreshing.requestId }).catch(() => {});
  }

  toggleGroup(value: string): void {
    this.collapsed = toggled(this.collapsed, value);
  }

  selectedRows(): Row[] {
    return this.filtered.filter((r) => this.selected.has(r.key));
  }

  /** The selection, or the row under the cursor when nothing is selected. */
  actionRows(): Row[] {
    const sel = this.selectedRows();
    if (sel.length) return sel;
    const line = this.lines[this.cursor];
    return line?.kind === 'row' ? [line.row] : [];
  }

  async saveAsHosts(rows: Row[]): Promise<number> {
    let saved = 0;
    await this.guard(async () => {
      for (const { inst } of rows) {
        const tags = Object.entries(inst.tags)
          .filter(([k]) => k !== 'Name')
          .map(([k, v]) => `${k}:${v}`)
          .filter((t) => /^[^\s,]{1,64}$/.test(t))
          .slice(0, 20);
        await this.backend.invoke('hosts.save', {
          host: { kind: 'ec2', name: (inst.name || inst.id).slice(0, 200), instanceId: inst.id, profile: inst.profile, region: inst.region, osUser: inst.defaultUser, tags },
        });
        saved++;
      }
    });
    return saved;
  }
}
