import { getContext, setContext } from 'svelte';
import type { InventoryInstance, KeylessError, Prompt, Settings } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';
import { i18n, resolveLocale } from '../i18n/i18n.svelte';
import type { TerminalTab } from './terminal-tab.svelte';
import { Workspace } from './workspace.svelte';
import { AwsState } from './aws.svelte';
import { HostsState, tabTarget } from './hosts.svelte';
import { FilesState } from './files.svelte';
import { RunsState } from './runs.svelte';
import type { TabTarget } from './tab-target';

/** The app's state: saved hosts, open tabs, questions waiting for an answer, settings. */
export class AppState {
  /** Saved hosts, groups, smart groups, recents and the sidebar's selection. */
  readonly hosts: HostsState;
  /** Terminal tabs, panes, broadcast input and terminal settings. */
  readonly workspace: Workspace;
  /** AWS profiles, SSO sign-in and the fleet inventory. */
  readonly aws: AwsState;
  /** Files views per host and the transfer queue. */
  readonly files: FilesState;
  /** Fleet commands: the Runs view's form, kept runs and the one shown. */
  readonly runs: RunsState;
  prompts = $state<Prompt[]>([]);
  /** What the main area shows; connecting from another view brings the terminals forward. */
  mainView = $state<'terminals' | 'inventory' | 'files' | 'profiles' | 'audit' | 'runs'>('terminals');
  settings = $state<Settings>({ language: 'system' });
  systemLocale = $state('en');
  notice = $state<KeylessError | undefined>(undefined);

  private readonly unsubscribe: Array<() => void>;

  constructor(readonly backend: Backend) {
    this.workspace = new Workspace(backend);
    this.aws = new AwsState(backend);
    this.hosts = new HostsState(backend, this.workspace);
    // Connecting from the host list (or anywhere) brings the terminals forward.
    this.workspace.onTabOpened = () => (this.mainView = 'terminals');
    this.files = new FilesState(backend);
    this.runs = new RunsState(backend);
    this.unsubscribe = [backend.on('prompt', (p) => this.prompts.push(p))];
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.hosts.dispose();
    this.aws.dispose();
    this.files.dispose();
    this.runs.dispose();
  }

  /** Runs for a selection, a group or a smart group (the host list's entry points): the Runs view, its targets filled. */
  runOn(targets: Parameters<RunsState['pick']>[0]): void {
    this.runs.pick(targets);
    this.mainView = 'runs';
  }

  async load(): Promise<void> {
    await this.guard(async () => {
      // The three first calls go out together (one round trip, not two); the host tree is applied
      // after the settings so that its first frame is already in the chosen language.
      const first = Promise.all([this.backend.invoke('app.info', {}), this.backend.invoke('settings.get', {})]);
      // An unreadable hosts.json is the host list's own banner to explain (with the backup).
      const hosts = this.hosts.refresh(first);
      const [info, settings] = await first.catch(async (err: unknown) => {
        await hosts;
        throw err;
      });
      this.systemLocale = info.systemLocale || navigator.language;
      this.workspace.setPlatform(info.platform, info.transport);
      this.files.transport = info.transport;
      this.applySettings(settings);
      await hosts;
      this.workspace.restoreTabs(this.hosts.hosts.map(tabTarget));
    });
    // After the frame that paints the host tree: the cached inventory, which may be large.
    requestAnimationFrame(() => setTimeout(() => void this.hosts.loadInventory(), 0));
  }

  /** Connect from the inventory (its Connect button and Enter): a tab per instance, the terminals brought forward. */
  connectInventory(instances: readonly InventoryInstance[], opts: { split?: boolean } = {}): void {
    if (!instances.length) return;
    this.mainView = 'terminals';
    void this.hosts.connectInstances(instances, opts);
  }

  /** A saved EC2 host whose CloudTrail events the Audit view should show next (its own button); the view clears it. */
  auditHost = $state<string | null>(null);
  openAudit(hostId: string): void {
    this.auditHost = hostId;
    this.mainView = 'audit';
  }

  /** Files for a host: its own view in Files, or (`dock`) a pane beside the terminals, at `startAt` when the shell said where it is. */
  openFiles(target: TabTarget, opts: { startAt?: string; dock?: boolean } = {}): void {
    this.files.open(target, opts);
    this.mainView = opts.dock ? 'terminals' : 'files';
  }

  async setLanguage(language: Settings['language']): Promise<void> {
    await this.guard(async () => this.applySettings(await this.backend.invoke('settings.set', { language })));
  }

  get tabs(): TerminalTab[] {
    return this.workspace.tabs;
  }

  openTab(target: TabTarget): TerminalTab {
    return this.workspace.openTab(target);
  }

  closeTab(id: string): void {
    this.workspace.closeTab(id);
  }

  async answerPrompt(promptId: string, value: string | boolean | null): Promise<void> {
    this.prompts = this.prompts.filter((p) => p.promptId !== promptId);
    await this.guard(() => this.backend.invoke('prompt.answer', { promptId, value }));
  }

  private applySettings(settings: Settings): void {
    this.settings = settings;
    this.workspace.applySettings(settings.terminal);
    i18n.locale = resolveLocale(settings.language, this.systemLocale);
    document.documentElement.lang = i18n.locale;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      this.notice = undefined;
      return await fn();
    } catch (err) {
      this.notice = err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
      return undefined;
    }
  }
}

const KEY = Symbol('app-state');
export const provideAppState = (state: AppState) => setContext(KEY, state);
export const useAppState = () => getContext<AppState>(KEY);
