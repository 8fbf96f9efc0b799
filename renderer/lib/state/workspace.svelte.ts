import { terminalSettingsSchema, type KeylessError, type TerminalSettings } from '../../../electron/contract';
import { targetKey, type TabTarget } from './tab-target';
import { BackendError, type Backend } from '../backend/backend';
import { mapPaneIds, paneIds, type Direction, type PaneLayout } from '../terminal/layout';
import { openableUrl, routeWindowOpen } from '../terminal/links';
import type { PreparedPaste } from '../terminal/paste';
import { matchShortcut, platformOf, type Platform } from '../terminal/shortcuts';
import { TerminalSession, type Look, type SessionHooks, type SessionSource } from '../terminal/terminal-session.svelte';
import { installTestHook } from '../terminal/test-hook';
import { themeFor } from '../terminal/themes';
import { TerminalTab } from './terminal-tab.svelte';
import { focusPart } from '../ui/focus-parts';

const MIN_FONT = 6;
/** Where the open tabs are kept for the next start (host ids and layout only). */
const OPEN_TABS_KEY = 'keyless.openTabs';

interface OpenTabSnapshot {
  title?: string;
  /** The tab's layout with each pane's saved-host id in place of its pane id. */
  layout: PaneLayout;
}
const MAX_FONT = 48;

/**
 * The terminals: tabs and their panes, which one has focus, broadcast input, the terminal
 * settings and zoom, the keyboard shortcuts, and the questions a terminal asks (paste, links).
 */
export class Workspace {
  tabs = $state<TerminalTab[]>([]);
  activeTabId = $state<string | undefined>(undefined);
  settings = $state<TerminalSettings>(terminalSettingsSchema.parse({}));
  zoom = $state(0);
  osPrefersDark = $state(true);
  platform = $state<Platform>('other');
  transport = $state<'electron' | 'web'>('web');
  /** Broadcast input: off by default; when on, what is typed in a target goes to every target. */
  broadcasting = $state(false);
  broadcastTargets = $state<string[]>([]);
  searchOpen = $state(false);
  helpOpen = $state(false);
  settingsOpen = $state(false);
  recordingsOpen = $state(false);
  renamingTabId = $state<string | undefined>(undefined);
  pasteQuestion = $state<{ paste: PreparedPaste; answer: (yes: boolean) => void } | undefined>(undefined);
  linkQuestion = $state<{ url: string } | undefined>(undefined);
  notice = $state<KeylessError | undefined>(undefined);
  activeTab = $derived(this.tabs.find((t) => t.id === this.activeTabId));
  private restoreDone = false;
  /** Opens a link the person said yes to where main has no system browser (the browser harness). */
  private readonly openInBrowserTab: (url: string) => void;

  private readonly hooks: SessionHooks = {
    input: (from, data) => this.input(from, data),
    confirmPaste: (paste) => this.confirmPaste(paste),
    paste: (from, paste) => this.paste(from, paste),
    openLink: (url) => this.askLink(url),
  };

  constructor(readonly backend: Backend) {
    if (typeof matchMedia === 'function') {
      const dark = matchMedia('(prefers-color-scheme: dark)');
      this.osPrefersDark = dark.matches;
      dark.addEventListener('change', (e) => {
        this.osPrefersDark = e.matches;
        this.restyleAll();
      });
    }
    this.platform = platformOf(navigator.platform);
    this.openInBrowserTab = routeWindowOpen((url) => this.askLink(url));
    if (/[?&]testHooks(=|&|$)/.test(location.search)) installTestHook(this);
  }

  get look(): Look {
    return {
      settings: this.settings,
      theme: themeFor(this.settings.theme, this.osPrefersDark),
      fontSize: Math.min(MAX_FONT, Math.max(MIN_FONT, this.settings.fontSize + this.zoom)),
    };
  }

  get allPanes(): TerminalSession[] {
    return this.tabs.flatMap((t) => t.orderedPanes);
  }

  setPlatform(platform: string, transport: 'electron' | 'web'): void {
    this.platform = platformOf(platform);
    this.transport = transport;
  }

  applySettings(terminal: Partial<TerminalSettings> | undefined): void {
    this.settings = terminalSettingsSchema.parse(terminal ?? {});
    this.restyleAll();
    this.persist();
  }

  async saveSettings(patch: Partial<TerminalSettings>): Promise<void> {
    const next = { ...this.settings, ...patch };
    try {
      const saved = await this.backend.invoke('settings.set', { terminal: next });
      this.applySettings(saved.terminal);
    } catch (err) {
      this.fail(err);
    }
  }

  private restyleAll(): void {
    const look = this.look;
    for (const p of this.allPanes) p.restyle(look);
  }

  private session(source: SessionSource): TerminalSession {
    return new TerminalSession(this.backend, source, this.look, this.hooks);
  }

  /** Called when a tab is opened or brought forward to connect (the app shows the terminals). */
  onTabOpened: (() => void) | undefined;

  openTab(target: TabTarget): TerminalTab {
    const tab = new TerminalTab(this.session({ kind: 'host', target }));
    this.tabs.push(tab);
    this.activeTabId = tab.id;
    this.persist();
    this.onTabOpened?.();
    return tab;
  }

  /**
   * A tab to connect `target` in: the tab of an attempt at the same saved host that failed (one
   * terminal, closed with an error) is reused, so retrying from the host list does not leave a
   * failed tab behind each time; else a new tab.
   */
  retryOrOpenTab(target: TabTarget): TerminalTab {
    const key = targetKey(target);
    const failed = this.tabs.find((t) => {
      const only = t.panes.length === 1 ? t.panes[0] : undefined;
      return only?.target !== undefined && targetKey(only.target) === key && only.state === 'closed' && only.error !== undefined;
    });
    if (!failed) return this.openTab(target);
    this.activeTabId = failed.id;
    this.onTabOpened?.();
    return failed;
  }

  /** Remembers the open tabs on saved hosts for the next start, when the setting asks for it. */
  persist(): void {
    // Until the last run's tabs are back, an empty tab list is not what the person left open.
    if (!this.restoreDone) return;
    try {
      if (!this.settings.restoreTabs) {
        localStorage.removeItem(OPEN_TABS_KEY);
        return;
      }
      const snapshot: OpenTabSnapshot[] = this.tabs
        .filter((t) => t.panes.every((p) => p.target?.hostId !== undefined))
        .map((t) => ({
          ...(t.customTitle ? { title: t.customTitle } : {}),
          layout: mapPaneIds($state.snapshot(t.layout!), (id) => t.pane(id)!.target!.hostId!),
        }));
      localStorage.setItem(OPEN_TABS_KEY, JSON.stringify(snapshot));
    } catch {
      /* storage full or unavailable: nothing to restore next time */
    }
  }

  /** Reopens the tabs of the last run (hosts that no longer exist are left out). */
  restoreTabs(hosts: Array<Extract<TabTarget, { hostId: string }>>): void {
    if (this.restoreDone) return;
    this.restoreDone = true;
    if (!this.settings.restoreTabs || this.tabs.length > 0) return this.persist();
    let saved: OpenTabSnapshot[];
    try {
      saved = JSON.parse(localStorage.getItem(OPEN_TABS_KEY) ?? '[]') as OpenTabSnapshot[];
      if (!Array.isArray(saved)) return;
    } catch {
      return;
    }
    for (const snap of saved) {
      let layout: PaneLayout | undefined = snap.layout;
      for (const hostId of paneIds(layout)) {
        if (!hosts.some((h) => h.hostId === hostId)) layout = layout && removeFirst(layout, hostId);
      }
      if (!layout) continue;
      const ids = paneIds(layout);
      const sessions = ids.map((hostId) => this.session({ kind: 'host', target: hosts.find((h) => h.hostId === hostId)! }));
      let i = 0;
      const renamed = mapPaneIds(layout, () => sessions[i++]!.id);
      const [first, ...rest] = sessions;
      const tab = new TerminalTab(first!, { panes: rest, layout: renamed });
      if (typeof snap.title === 'string') tab.customTitle = snap.title.slice(0, 80);
      this.tabs.push(tab);
      this.activeTabId ??= tab.id;
      void tab.connect();
    }
    this.persist();
  }

  closeTab(id: string): void {
    const i = this.tabs.findIndex((t) => t.id === id);
    if (i < 0) return;
    const [tab] = this.tabs.splice(i, 1);
    if (tab) this.forgetTargets(tab.panes.map((p) => p.id));
    tab?.dispose();
    if (this.activeTabId === id) this.activeTabId = this.tabs[Math.max(0, i - 1)]?.id;
    this.persist();
  }

  moveTab(id: string, to: number): void {
    const from = this.tabs.findIndex((t) => t.id === id);
    if (from < 0) return;
    const target = Math.max(0, Math.min(this.tabs.length - 1, to));
    const [tab] = this.tabs.splice(from, 1);
    this.tabs.splice(target, 0, tab!);
    this.persist();
  }

  renameTab(id: string, title: string): void {
    const tab = this.tabs.find((t) => t.id === id);
    if (tab) tab.customTitle = title.trim() ? title.trim().slice(0, 80) : undefined;
    this.renamingTabId = undefined;
    this.persist();
  }

  /** A new tab with the same layout, each pane a new session on the same host. */
  duplicateTab(id: string): TerminalTab | undefined {
    const tab = this.tabs.find((t) => t.id === id);
    if (!tab) return undefined;
    const targets = tab.orderedPanes.map((p) => p.target);
    if (targets.some((t) => !t)) return undefined; // a playback tab is not duplicated
    const ids = paneIds(tab.layout!);
    const copies = targets.map((target) => this.session({ kind: 'host', target: target! }));
    const copyOf = (pid: string) => copies[ids.indexOf(pid)]!;
    const [first, ...rest] = copies;
    const copy = new TerminalTab(first!, { panes: rest, layout: mapPaneIds(tab.layout!, (pid) => copyOf(pid).id) });
    copy.customTitle = tab.customTitle;
    this.tabs.splice(this.tabs.indexOf(tab) + 1, 0, copy);
    this.activeTabId = copy.id;
    void copy.connect();
    this.persist();
    return copy;
  }

  splitActive(dir: 'row' | 'column'): void {
    const tab = this.activeTab;
    const target = tab?.activePane?.target;
    if (!tab || !target) return;
    const next = this.session({ kind: 'host', target });
    tab.split(dir, next);
    void next.connect();
    this.persist();
  }

  /**
   * Opens `target` in a new pane beside the active pane of the current tab (quick connect's
   * Ctrl/Cmd+Enter); with no tab open, or a recording's playback in front, in a new tab.
   * Returns the tab it landed in.
   */
  openInSplit(target: TabTarget, dir: 'row' | 'column' = 'row'): TerminalTab {
    const tab = this.activeTab;
    if (!tab?.activePane?.target) {
      const opened = this.openTab(target);
      void opened.connect();
      return opened;
    }
    const next = this.session({ kind: 'host', target });
    tab.split(dir, next);
    void next.connect();
    this.persist();
    this.onTabOpened?.();
    return tab;
  }

  closePane(tabId: string, paneId: string): void {
    const tab = this.tabs.find((t) => t.id === tabId);
    if (!tab) return;
    this.forgetTargets([paneId]);
    if (!tab.closePane(paneId)) this.closeTab(tabId);
    this.persist();
  }

  focusPane(tabId: string, paneId: string): void {
    const tab = this.tabs.find((t) => t.id === tabId);
    if (!tab) return;
    this.activeTabId = tabId;
    tab.activePaneId = paneId;
  }

  async openPlayback(name: string): Promise<void> {
    try {
      const { text } = await this.backend.invoke('recording.read', { name });
      const session = this.session({ kind: 'playback', name });
      const tab = new TerminalTab(session);
      this.tabs.push(tab);
      this.activeTabId = tab.id;
      this.recordingsOpen = false;
      // Played once the pane has mounted the terminal, so the first frames are drawn.
      requestAnimationFrame(() => session.play(text));
    } catch (err) {
      this.fail(err);
    }
  }

  // Broadcast input -------------------------------------------------------------------------

  private receivers(from: TerminalSession): TerminalSession[] {
    return this.broadcasting && this.broadcastTargets.includes(from.id) ? this.allPanes.filter((p) => this.broadcastTargets.includes(p.id)) : [from];
  }

  private input(from: TerminalSession, data: string): void {
    for (const p of this.receivers(from)) p.send(data);
  }

  /** A paste, asked about once where it arrived, goes into each receiving terminal with that terminal's own bracketed-paste markers. */
  private paste(from: TerminalSession, paste: PreparedPaste): void {
    for (const p of this.receivers(from)) p.pasteHere(paste);
  }

  toggleBroadcast(): void {
    this.broadcasting = !this.broadcasting;
    const active = this.activeTab?.activePane;
    this.broadcastTargets = this.broadcasting && active ? [active.id] : [];
  }

  setTarget(paneId: string, on: boolean): void {
    const rest = this.broadcastTargets.filter((id) => id !== paneId);
    this.broadcastTargets = on ? [...rest, paneId] : rest;
  }

  /** Every terminal of a tab (or of every tab) receives input. */
  targetAll(tabId?: string): void {
    const panes = tabId ? (this.tabs.find((t) => t.id === tabId)?.panes ?? []) : this.allPanes;
    const more = panes.filter((p) => p.target && !this.broadcastTargets.includes(p.id)).map((p) => p.id);
    this.broadcastTargets = [...this.broadcastTargets, ...more];
  }

  /**
   * Broadcast to a group of hosts: each host's open terminal is used (the first in tab order that
   * has not closed), a new tab is opened for each host that has none, and broadcast is turned on
   * for exactly those terminals. Focus goes to the first of them. Returns them in host order.
   */
  broadcastToHosts(hosts: readonly TabTarget[]): TerminalSession[] {
    const targets: TerminalSession[] = [];
    for (const host of hosts) {
      let pane = this.allPanes.find((p) => p.target && targetKey(p.target) === targetKey(host) && p.state !== 'closed' && !targets.includes(p));
      if (!pane) {
        const tab = this.openTab(host);
        void tab.connect();
        pane = tab.activePane!;
      }
      targets.push(pane);
    }
    const first = targets[0];
    if (!first) return targets;
    this.broadcasting = true;
    this.broadcastTargets = targets.map((p) => p.id);
    const tab = this.tabs.find((t) => t.panes.includes(first));
    if (tab) this.focusPane(tab.id, first.id);
    return targets;
  }

  isTarget(paneId: string): boolean {
    return this.broadcasting && this.broadcastTargets.includes(paneId);
  }

  private forgetTargets(ids: string[]): void {
    if (ids.some((id) => this.broadcastTargets.includes(id))) this.broadcastTargets = this.broadcastTargets.filter((id) => !ids.includes(id));
  }

  // Questions ---------------------------------------------------------------------------------

  private confirmPaste(paste: PreparedPaste): Promise<boolean> {
    this.pasteQuestion?.answer(false);
    return new Promise((resolve) => {
      this.pasteQuestion = {
        paste,
        answer: (yes) => {
          this.pasteQuestion = undefined;
          resolve(yes);
          this.activeTab?.activePane?.focus();
        },
      };
    });
  }

  /**
   * The one way a link leaves the app (terminal links, OSC 8 hyperlinks, window.open): only an
   * http(s) address, shown in full, and only after a yes. Anything else is not offered at all.
   */
  askLink(uri: string): void {
    const url = openableUrl(uri);
    if (url) this.linkQuestion = { url };
  }

  async answerLink(open: boolean): Promise<void> {
    const q = this.linkQuestion;
    this.linkQuestion = undefined;
    if (!q || !open) return;
    try {
      const { opened } = await this.backend.invoke('link.open', { url: q.url });
      // The browser harness has no system browser to hand to: a new browser tab, with no way back to us.
      if (!opened) this.openInBrowserTab(q.url);
    } catch (err) {
      this.fail(err);
    }
  }

  // Keyboard ----------------------------------------------------------------------------------

  /** Handles an application shortcut; true when the key was ours (the terminal must not see it). */
  handleKey(e: KeyboardEvent): boolean {
    if (e.key === 'Escape' && (this.helpOpen || this.settingsOpen || this.recordingsOpen)) {
      this.helpOpen = this.settingsOpen = this.recordingsOpen = false;
      e.preventDefault();
      return true;
    }
    const binding = matchShortcut(e, this.platform);
    if (!binding) return false;
    const target = e.target as HTMLElement | null;
    const inField = !!target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && !target.classList.contains('xterm-helper-textarea');
    if (inField && !['help', 'broadcast', 'nextPart', 'prevPart'].includes(binding.action)) return false;
    const tab = this.activeTab;
    const pane = tab?.activePane;
    const step = (d: number) => {
      const i = this.tabs.findIndex((t) => t.id === this.activeTabId);
      const next = this.tabs[(i + d + this.tabs.length) % this.tabs.length];
      if (next) this.activeTabId = next.id;
    };
    switch (binding.action) {
      case 'paste':
        // The browser's own paste (plain text) follows, and the terminal's paste guard takes it.
        return true;
      case 'copy':
        if (pane?.terminal.hasSelection()) {
          const text = pane.terminal.getSelection();
          navigator.clipboard?.writeText(text).catch(() => document.execCommand('copy'));
        }
        break;
      case 'newTab':
        if (pane?.target) void this.openTab(pane.target).connect();
        break;
      case 'closePane':
        if (tab && pane) this.closePane(tab.id, pane.id);
        break;
      case 'nextTab':
        step(1);
        break;
      case 'prevTab':
        step(-1);
        break;
      case 'moveTabLeft':
      case 'moveTabRight':
        if (tab) this.moveTab(tab.id, this.tabs.indexOf(tab) + (binding.action === 'moveTabLeft' ? -1 : 1));
        break;
      case 'goToTab': {
        const n = binding.arg ?? 1;
        const t = n === 9 ? this.tabs.at(-1) : this.tabs[n - 1];
        if (t) this.activeTabId = t.id;
        break;
      }
      case 'splitRight':
        this.splitActive('row');
        break;
      case 'splitDown':
        this.splitActive('column');
        break;
      case 'focusLeft':
      case 'focusRight':
      case 'focusUp':
      case 'focusDown':
        tab?.moveFocus(binding.action.slice(5).toLowerCase() as Direction);
        // Now, not on the next frame: keys typed right after must land in the new pane.
        tab?.activePane?.focus();
        break;
      case 'resizeLeft':
      case 'resizeRight':
      case 'resizeUp':
      case 'resizeDown':
        tab?.resizeActive(binding.action.slice(6).toLowerCase() as Direction);
        break;
      case 'find':
        this.searchOpen = true;
        break;
      case 'zoomIn':
      case 'zoomOut':
      case 'zoomReset':
        this.zoom = binding.action === 'zoomReset' ? 0 : this.zoom + (binding.action === 'zoomIn' ? 1 : -1);
        this.restyleAll();
        break;
      case 'broadcast':
        this.toggleBroadcast();
        break;
      case 'reconnect':
        if (pane && pane.state === 'closed') void pane.connect();
        break;
      case 'settings':
        this.settingsOpen = true;
        break;
      case 'help':
        this.helpOpen = !this.helpOpen;
        break;
      case 'nextPart':
      case 'prevPart':
        if (!focusPart(binding.action === 'nextPart' ? 1 : -1)) return false;
        break;
    }
    e.preventDefault();
    return true;
  }

  private fail(err: unknown): void {
    this.notice = err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
  }

  dispose(): void {
    for (const t of this.tabs) t.dispose();
    this.tabs = [];
  }
}

/** The layout without the first pane whose id is `id`. */
function removeFirst(layout: PaneLayout, id: string): PaneLayout | undefined {
  if (layout.kind === 'pane') return layout.id === id ? undefined : layout;
  const a = removeFirst(layout.a, id);
  if (a !== layout.a) return a ? { ...layout, a } : layout.b;
  const b = removeFirst(layout.b, id);
  return b ? { ...layout, b } : layout.a;
}
