/**
 * A table's columns as a person arranged them: which are shown and how wide each is. Pure: the
 * rune class in `columns.svelte.ts` keeps it per view in localStorage through `readLayout`, which
 * takes anything (a value another version wrote, or one edited by hand) and keeps only what fits.
 */

export interface ColumnSpec {
  /** Stable across versions: it is the key a layout is stored under. */
  id: string;
  /** Width in CSS pixels until the person changes it. */
  width: number;
  /** Narrowest it can be made (by dragging or by the keyboard). */
  min?: number;
  /** False for a column the table cannot do without (a row's name). */
  hideable?: boolean;
}

export interface ColumnLayout {
  hidden: string[];
  widths: Record<string, number>;
}

/** Widest a column can be made: wide enough for any tag line, small enough that a typo cannot break the page. */
export const MAX_WIDTH = 1200;
export const DEFAULT_MIN = 48;
/** One arrow press; Shift makes it bigger. */
export const STEP = 16;
export const BIG_STEP = 64;

export const minOf = (c: ColumnSpec) => c.min ?? DEFAULT_MIN;
export const clampWidth = (c: ColumnSpec, w: number) => Math.round(Math.min(MAX_WIDTH, Math.max(minOf(c), w)));

/**
 * A stored layout, checked: unknown columns, widths that are not finite numbers, and any value
 * that is not the expected shape are dropped (the defaults stand); a layout that would hide every
 * column, or a column that cannot be hidden, shows them again.
 */
export function readLayout(raw: string | null, specs: readonly ColumnSpec[]): ColumnLayout {
  const out: ColumnLayout = { hidden: [], widths: {} };
  if (!raw) return out;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return out;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  const byId = new Map(specs.map((c) => [c.id, c]));
  const { hidden, widths } = value as Record<string, unknown>;
  if (Array.isArray(hidden)) {
    const ids = hidden.filter((h): h is string => typeof h === 'string' && byId.get(h)?.hideable !== false && byId.has(h));
    if (ids.length < specs.length) out.hidden = [...new Set(ids)];
  }
  if (widths && typeof widths === 'object' && !Array.isArray(widths)) {
    for (const [id, w] of Object.entries(widths as Record<string, unknown>)) {
      const spec = byId.get(id);
      if (spec && typeof w === 'number' && Number.isFinite(w)) out.widths[id] = clampWidth(spec, w);
    }
  }
  return out;
}

/** The width a key press asks for, or undefined for a key that does not resize. */
export function keyedWidth(spec: ColumnSpec, width: number, e: { key: string; shiftKey: boolean }): number | undefined {
  const step = e.shiftKey ? BIG_STEP : STEP;
  switch (e.key) {
    case 'ArrowLeft':
      return clampWidth(spec, width - step);
    case 'ArrowRight':
      return clampWidth(spec, width + step);
    case 'Home':
      return minOf(spec);
    case 'End':
      return MAX_WIDTH;
    default:
      return undefined;
  }
}

/**
 * The shown columns (indices `first`…`last`) that reach into a table's visible part: `left` px
 * scrolled sideways, `width` px wide, laid out from `padding` px in with `gap` px between them,
 * and `margin` px either side so a short scroll sideways finds its cells already there. A table
 * not yet measured (width 0) shows every column.
 */
export function columnsInView(widths: readonly number[], left: number, width: number, layout: { padding: number; gap: number; margin: number }): { first: number; last: number } {
  const all = { first: 0, last: widths.length - 1 };
  if (!(width > 0) || !widths.length) return all;
  const from = left - layout.margin;
  const to = left + width + layout.margin;
  let first = -1;
  let last = -1;
  let x = layout.padding;
  for (let k = 0; k < widths.length; k++) {
    const end = x + widths[k]!;
    if (end > from && x < to) {
      if (first < 0) first = k;
      last = k;
    }
    x = end + layout.gap;
  }
  // The last column stretches into any room left over: past the others, it is always in reach.
  if (first < 0) return { first: widths.length - 1, last: widths.length - 1 };
  return { first, last };
}
