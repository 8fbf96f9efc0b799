import { getContext, setContext } from 'svelte';
import type { HostEntry, HostGroup, KeylessError, Prompt, SavedHost, SavedHostInput, Settings } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';
import { i18n, resolveLocale } from '../i18n/i18n.svelte';
import type { TerminalTab } from './terminal-tab.svelte';
import { Workspace } from './workspace.svelte';
import { AwsState } from './aws.svelte';
import { tabTarget } from './hosts.svelte';

/** The app's state: saved hosts, open tabs, questions waiting for an answer, settings. */
export class AppState {
  hosts = $state<HostEntry[]>([]);
  groups = $state<HostGroup[]>([]);
  /** Terminal tabs, panes, broadcast input and terminal settings. */
  readonly workspace: Workspace;
  /** AWS profiles, SSO sign-in and the fleet inventory. */
  readonly aws: AwsState;
  prompts = $state<Prompt[]>([]);
  /** What the main area shows; connecting from another view brings the terminals forward. */
  mainView = $state<'terminals' | 'inventory' | 'profiles' | 'audit'>('terminals');
  settings = $state<Settings>({ language: 'system' });
  systemLocale = $state('en');
  notice = $state<KeylessError | undefined>(undefined);

  constructor(readonly backend: Backend) {
    this.workspace = new Workspace(backend);
    this.aws = new AwsState(backend);
    backend.on('prompt', (p) => this.prompts.push(p));
  }

  async load(): Promise<void> {
    await this.guard(async () => {
      const [info, settings] = await Promise.all([
        this.backend.invoke('app.info', {}),
        this.backend.invoke('settings.get', {}),
      ]);
      this.systemLocale = info.systemLocale || navigator.language;
      this.workspace.setPlatform(info.platform, info.transport);
      this.applySettings(settings);
      await this.refreshHosts();
      this.workspace.restoreTabs(this.hosts.map((h) => tabTarget(h, this.groups)));
    });
  }

  async refreshHosts(): Promise<void> {
    try {
      const tree = await this.backend.invoke('hosts.list', {});
      this.hosts = tree.hosts;
      this.groups = tree.groups;
    } catch (err) {
      // The host list's own banner explains an unreadable hosts.json and offers the backup.
      if (err instanceof BackendError && err.error.code === 'StoreCorrupt') return;
      throw err;
    }
  }

  async saveHost(input: SavedHostInput): Promise<HostEntry | undefined> {
    return this.guard(async () => {
      const saved = await this.backend.invoke('hosts.save', { host: input });
      await this.refreshHosts();
      return saved;
    });
  }

  async deleteHost(id: string): Promise<void> {
    await this.guard(async () => {
      await this.backend.invoke('hosts.delete', { id });
      await this.refreshHosts();
    });
  }

  async setLanguage(language: Settings['language']): Promise<void> {
    await this.guard(async () => this.applySettings(await this.backend.invoke('settings.set', { language })));
  }

  get tabs(): TerminalTab[] {
    return this.workspace.tabs;
  }

  openTab(host: SavedHost): TerminalTab {
    return this.workspace.openTab(host);
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
