import type { MenuEntry } from './menu-nav';
import { clampWidth, readLayout, type ColumnSpec } from './columns';

export { columnsInView, keyedWidth, MAX_WIDTH, minOf, type ColumnSpec } from './columns';

const PREFIX = 'keyless.columns.';

/**
 * The columns of one table view (the inventory, the audit trail, …): shown or hidden, and their
 * widths, kept in localStorage under the view's name so each table opens as it was left.
 */
export class TableColumns {
  hidden = $state<string[]>([]);
  widths = $state<Record<string, number>>({});
  readonly shown: ColumnSpec[] = $derived.by(() => this.specs.filter((c) => !this.hidden.includes(c.id)));
  /** The shown columns' widths as a CSS grid's columns; the last one takes any room left over. */
  readonly template: string = $derived(this.shown.map((c, k) => (k === this.shown.length - 1 ? `minmax(${this.width(c.id)}px, 1fr)` : `${this.width(c.id)}px`)).join(' '));
  /** What the shown columns add up to (gaps and padding aside). */
  readonly total: number = $derived(this.shown.reduce((sum, c) => sum + this.width(c.id), 0));

  readonly view: string;
  readonly specs: readonly ColumnSpec[];

  constructor(view: string, specs: readonly ColumnSpec[]) {
    this.view = view;
    this.specs = specs;
    let raw: string | null = null;
    try {
      raw = localStorage.getItem(PREFIX + view);
    } catch {
      // Storage may be unavailable (a private window): the defaults stand.
    }
    const layout = readLayout(raw, specs);
    this.hidden = layout.hidden;
    this.widths = layout.widths;
  }

  width(id: string): number {
    return this.widths[id] ?? this.specs.find((c) => c.id === id)?.width ?? 0;
  }

  isShown(id: string): boolean {
    return !this.hidden.includes(id);
  }

  /** Shows or hides a column; the last shown column (and a column that cannot go) stays. */
  toggle(id: string): void {
    const spec = this.specs.find((c) => c.id === id);
    if (!spec) return;
    if (this.isShown(id)) {
      if (spec.hideable === false || this.shown.length <= 1) return;
      this.hidden = [...this.hidden, id];
    } else {
      this.hidden = this.hidden.filter((h) => h !== id);
    }
    this.save();
  }

  resize(id: string, width: number): void {
    const spec = this.specs.find((c) => c.id === id);
    if (!spec) return;
    this.widths = { ...this.widths, [id]: clampWidth(spec, width) };
    this.save();
  }

  reset(): void {
    this.hidden = [];
    this.widths = {};
    this.save();
  }

  /** The column chooser's entries: one checkable item per column (they keep the menu open), then Reset. */
  menu(label: (id: string) => string, resetLabel: string): MenuEntry[] {
    const entries: MenuEntry[] = this.specs.map((c) => ({
      label: label(c.id),
      testid: `columns-${c.id}`,
      checked: () => this.isShown(c.id),
      disabled: c.hideable === false,
      run: () => this.toggle(c.id),
    }));
    return [...entries, 'separator', { label: resetLabel, testid: 'columns-reset', run: () => this.reset() }];
  }

  private save(): void {
    try {
      localStorage.setItem(PREFIX + this.view, JSON.stringify({ hidden: this.hidden, widths: this.widths }));
    } catch {
      // Full or unavailable storage: the layout lasts this session only.
    }
  }
}
