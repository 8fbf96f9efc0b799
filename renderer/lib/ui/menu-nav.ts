import type { IconName } from './icons';

export type MenuAction = {
  label: string;
  icon?: IconName;
  /** Shown beside the label (a key the same action also has). */
  shortcut?: string;
  /** Red, and kept last: destructive actions live only inside menus. */
  danger?: boolean;
  disabled?: boolean;
  testid?: string;
  /** A checkable item (a column shown or hidden): read when drawn; choosing it leaves the menu open. */
  checked?: () => boolean;
  run: () => void;
};
export type MenuEntry = MenuAction | 'separator';

/** The next enabled item from `from` in `step` direction (wrapping), or -1 when none is enabled. */
export function nextEnabled(entries: readonly MenuEntry[], from: number, step: 1 | -1): number {
  const n = entries.length;
  for (let i = 1; i <= n; i++) {
    const at = (((from + step * i) % n) + n) % n;
    const e = entries[at];
    if (e !== 'separator' && e && !e.disabled) return at;
  }
  return -1;
}

/** The first enabled item after `from` whose label starts with `letter` (type-ahead in a menu). */
export function byLetter(entries: readonly MenuEntry[], from: number, letter: string): number {
  const n = entries.length;
  const l = letter.toLocaleLowerCase();
  for (let i = 1; i <= n; i++) {
    const at = (from + i) % n;
    const e = entries[at];
    if (e !== 'separator' && e && !e.disabled && e.label.toLocaleLowerCase().startsWith(l)) return at;
  }
  return -1;
}

/** Where a menu of `size` opens for a point, kept inside the `viewport` (flipped left/up at the edges). */
export function placeMenu(at: { x: number; y: number }, size: { width: number; height: number }, viewport: { width: number; height: number }): { x: number; y: number } {
  const x = at.x + size.width > viewport.width ? Math.max(0, at.x - size.width) : at.x;
  const y = at.y + size.height > viewport.height ? Math.max(0, viewport.height - size.height) : at.y;
  return { x, y };
}

/** True for the keys that open a context menu from the keyboard. */
export function isMenuKey(e: { key: string; shiftKey: boolean }): boolean {
  return e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey);
}
