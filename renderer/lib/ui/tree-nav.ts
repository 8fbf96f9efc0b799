/**
 * Pure decisions of a keyboard tree (roving focus over the visible rows): where a key moves, what
 * a Shift range selects, which row type-to-find lands on. The view passes the visible rows in order.
 */
export type TreeRow = { key: string; name: string; level: number; expandable: boolean; expanded: boolean };

export type TreeMove =
  | { kind: 'focus'; key: string }
  | { kind: 'expand'; key: string }
  | { kind: 'collapse'; key: string }
  | { kind: 'none' };

/** Arrows, Home and End as the WAI-ARIA tree pattern defines them; PageUp and PageDown move by `page` rows (what the viewport shows). */
export function treeMove(rows: readonly TreeRow[], current: string | undefined, key: string, page = 10): TreeMove {
  if (!rows.length) return { kind: 'none' };
  const at = rows.findIndex((r) => r.key === current);
  const row = rows[at];
  const focus = (i: number): TreeMove => {
    const r = rows[Math.max(0, Math.min(rows.length - 1, i))];
    return r ? { kind: 'focus', key: r.key } : { kind: 'none' };
  };
  if (at < 0 || !row) return focus(0);
  switch (key) {
    case 'ArrowDown':
      return focus(at + 1);
    case 'ArrowUp':
      return focus(at - 1);
    case 'Home':
      return focus(0);
    case 'End':
      return focus(rows.length - 1);
    case 'PageDown':
      return focus(at + Math.max(1, page));
    case 'PageUp':
      return focus(at - Math.max(1, page));
    case 'ArrowRight':
      if (row.expandable && !row.expanded) return { kind: 'expand', key: row.key };
      if (row.expandable && rows[at + 1] && (rows[at + 1]?.level ?? 0) > row.level) return focus(at + 1);
      return { kind: 'none' };
    case 'ArrowLeft': {
      if (row.expandable && row.expanded) return { kind: 'collapse', key: row.key };
      for (let i = at - 1; i >= 0; i--) if ((rows[i]?.level ?? 0) < row.level) return focus(i);
      return { kind: 'none' };
    }
    default:
      return { kind: 'none' };
  }
}

/** The keys from `anchor` to `target` inclusive, in the tree's order (Shift+click, Shift+arrow). */
export function rangeBetween(order: readonly string[], anchor: string | undefined, target: string): string[] {
  const b = order.indexOf(target);
  const a = anchor === undefined ? -1 : order.indexOf(anchor);
  if (b < 0) return [];
  if (a < 0) return [target];
  return order.slice(Math.min(a, b), Math.max(a, b) + 1);
}

/**
 * Type-to-find: the next row after `current` whose name starts with `typed` (case and width
 * folded), else one whose name contains it; the current row itself when it still matches a longer prefix.
 */
export function findByTyping(rows: readonly TreeRow[], current: string | undefined, typed: string): string | undefined {
  const q = fold(typed);
  if (!q) return undefined;
  const at = Math.max(0, rows.findIndex((r) => r.key === current));
  // A longer prefix of the same name keeps the row; a repeated single letter cycles to the next.
  const repeat = q.length > 1 && [...q].every((c) => c === q[0]);
  const start = repeat || q.length === 1 ? at + 1 : at;
  const needle = repeat ? q.slice(0, 1) : q;
  const n = rows.length;
  for (const test of [(s: string) => s.startsWith(needle), (s: string) => s.includes(needle)]) {
    for (let i = 0; i < n; i++) {
      const r = rows[(start + i) % n];
      if (r && test(fold(r.name))) return r.key;
    }
  }
  return undefined;
}

function fold(s: string): string {
  return s.normalize('NFKC').toLocaleLowerCase();
}
