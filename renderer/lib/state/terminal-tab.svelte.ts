import type { SessionState } from '../../../electron/contract';
import { neighbour, paneIds, removePane, resizePane, single, splitPane, withRatio, type Direction, type PaneLayout, type SplitPath } from '../terminal/layout';
import type { TerminalSession } from '../terminal/terminal-session.svelte';

let nextTab = 1;

/**
 * One tab: a name the person may change, and terminals laid out in split panes, one of them
 * focused. The tab owns its terminals and disposes them when it closes.
 */
export class TerminalTab {
  readonly id = `t${nextTab++}`;
  customTitle = $state<string | undefined>(undefined);
  layout = $state<PaneLayout>();
  panes = $state<TerminalSession[]>([]);
  activePaneId = $state<string>('');

  constructor(first: TerminalSession, more?: { panes: TerminalSession[]; layout: PaneLayout }) {
    this.panes.push(first, ...(more?.panes ?? []));
    this.layout = more?.layout ?? single(first.id);
    this.activePaneId = first.id;
  }

  get title(): string {
    return this.customTitle ?? this.panes.find((p) => p.id === this.activePaneId)?.title ?? this.panes[0]?.title ?? '';
  }

  get activePane(): TerminalSession | undefined {
    return this.panes.find((p) => p.id === this.activePaneId) ?? this.panes[0];
  }

  /** What the tab shows: the focused terminal's state. */
  get state(): SessionState {
    return this.activePane?.state ?? 'closed';
  }

  pane(id: string): TerminalSession | undefined {
    return this.panes.find((p) => p.id === id);
  }

  /** Terminals in reading order (left to right, top to bottom through the splits). */
  get orderedPanes(): TerminalSession[] {
    return paneIds(this.layout!).flatMap((id) => this.pane(id) ?? []);
  }

  /** Connects every terminal that is not connected (a new tab, or reconnect after a drop). */
  async connect(): Promise<void> {
    await Promise.all(this.panes.filter((p) => p.state === 'closed' || !p.sessionId).map((p) => p.connect()));
  }

  split(dir: 'row' | 'column', next: TerminalSession): void {
    this.panes.push(next);
    this.layout = splitPane(this.layout!, this.activePaneId, dir, next.id);
    this.activePaneId = next.id;
  }

  /** Closes one terminal; false when it was the last one (the tab should close). */
  closePane(id: string): boolean {
    const rest = removePane(this.layout!, id);
    const i = this.panes.findIndex((p) => p.id === id);
    if (i >= 0) this.panes.splice(i, 1)[0]?.dispose();
    if (!rest) return false;
    this.layout = rest;
    if (this.activePaneId === id) this.activePaneId = paneIds(rest)[0]!;
    return true;
  }

  moveFocus(dir: Direction): void {
    const next = neighbour(this.layout!, this.activePaneId, dir);
    if (next) this.activePaneId = next;
  }

  resizeActive(dir: Direction): void {
    this.layout = resizePane(this.layout!, this.activePaneId, dir, 0.05);
  }

  setRatio(path: SplitPath, ratio: number): void {
    this.layout = withRatio(this.layout!, path, ratio);
  }

  dispose(): void {
    for (const p of this.panes) p.dispose();
    this.panes = [];
  }
}
