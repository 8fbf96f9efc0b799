import { describe, expect, it } from 'vitest';
import { findByTyping, rangeBetween, treeMove, type TreeRow } from '../../../renderer/lib/ui/tree-nav';
import { byLetter, nextEnabled, placeMenu, type MenuEntry } from '../../../renderer/lib/ui/menu-nav';

// The host tree as it shows: group Fleet (open) with alpha and beta, then a top-level host web-1.
const rows: TreeRow[] = [
  { key: 'group:fleet', name: 'Fleet', level: 1, expandable: true, expanded: true },
  { key: 'host:a', name: 'alpha', level: 2, expandable: false, expanded: false },
  { key: 'host:b', name: 'beta', level: 2, expandable: false, expanded: false },
  { key: 'host:w', name: 'web-1', level: 1, expandable: false, expanded: false },
];

describe('tree keyboard moves', () => {
  it('arrows walk the visible rows, Home and End jump, and the ends stay put', () => {
    expect(treeMove(rows, 'group:fleet', 'ArrowDown')).toEqual({ kind: 'focus', key: 'host:a' });
    expect(treeMove(rows, 'host:a', 'ArrowUp')).toEqual({ kind: 'focus', key: 'group:fleet' });
    expect(treeMove(rows, 'host:w', 'ArrowDown')).toEqual({ kind: 'focus', key: 'host:w' });
    expect(treeMove(rows, 'host:b', 'Home')).toEqual({ kind: 'focus', key: 'group:fleet' });
    expect(treeMove(rows, 'group:fleet', 'End')).toEqual({ kind: 'focus', key: 'host:w' });
  });
  it('PageDown and PageUp move a page of rows, stopping at the ends', () => {
    expect(treeMove(rows, 'group:fleet', 'PageDown', 2)).toEqual({ kind: 'focus', key: 'host:b' });
    expect(treeMove(rows, 'host:b', 'PageDown', 2)).toEqual({ kind: 'focus', key: 'host:w' });
    expect(treeMove(rows, 'host:w', 'PageUp', 2)).toEqual({ kind: 'focus', key: 'host:a' });
    expect(treeMove(rows, 'host:a', 'PageUp', 2)).toEqual({ kind: 'focus', key: 'group:fleet' });
  });
  it('Right opens a closed group, then enters it; Left closes an open group, or goes to the parent', () => {
    const closed = rows.map((r) => (r.key === 'group:fleet' ? { ...r, expanded: false } : r)).filter((r) => r.level === 1);
    expect(treeMove(closed, 'group:fleet', 'ArrowRight')).toEqual({ kind: 'expand', key: 'group:fleet' });
    expect(treeMove(rows, 'group:fleet', 'ArrowRight')).toEqual({ kind: 'focus', key: 'host:a' });
    expect(treeMove(rows, 'group:fleet', 'ArrowLeft')).toEqual({ kind: 'collapse', key: 'group:fleet' });
    expect(treeMove(rows, 'host:b', 'ArrowLeft')).toEqual({ kind: 'focus', key: 'group:fleet' });
    expect(treeMove(rows, 'host:w', 'ArrowLeft')).toEqual({ kind: 'none' });
  });
  it('with no focused row yet, any move lands on the first', () => {
    expect(treeMove(rows, undefined, 'ArrowDown')).toEqual({ kind: 'focus', key: 'group:fleet' });
    expect(treeMove([], undefined, 'ArrowDown')).toEqual({ kind: 'none' });
  });
});

describe('selection ranges', () => {
  it('Shift takes every host between the anchor and the target, in either direction', () => {
    const order = ['a', 'b', 'c', 'd'];
    expect(rangeBetween(order, 'b', 'd')).toEqual(['b', 'c', 'd']);
    expect(rangeBetween(order, 'd', 'a')).toEqual(['a', 'b', 'c', 'd']);
    expect(rangeBetween(order, undefined, 'c')).toEqual(['c']);
    expect(rangeBetween(order, 'gone', 'c')).toEqual(['c']);
  });
});

describe('type-to-find', () => {
  it('finds by the start of a name, then inside it, case- and width-folded', () => {
    expect(findByTyping(rows, 'group:fleet', 'be')).toBe('host:b');
    expect(findByTyping(rows, 'group:fleet', 'ＷＥＢ')).toBe('host:w');
    expect(findByTyping(rows, 'group:fleet', 'eta')).toBe('host:b');
    expect(findByTyping(rows, 'group:fleet', 'zz')).toBeUndefined();
  });
  it('a longer prefix keeps the row it is on; one letter again moves to the next match', () => {
    const many: TreeRow[] = ['web-1', 'web-2', 'db'].map((name, i) => ({ key: `host:${i}`, name, level: 1, expandable: false, expanded: false }));
    expect(findByTyping(many, 'host:0', 'we')).toBe('host:0');
    expect(findByTyping(many, 'host:0', 'w')).toBe('host:1');
    expect(findByTyping(many, 'host:1', 'ww')).toBe('host:0');
  });
});

describe('context menu keys', () => {
  const run = () => undefined;
  const entries: MenuEntry[] = [
    { label: 'Connect', run },
    { label: 'Files', disabled: true, run },
    'separator',
    { label: 'Edit', run },
    { label: 'Delete', danger: true, run },
  ];
  it('arrows skip separators and disabled items and wrap at the ends', () => {
    expect(nextEnabled(entries, 0, 1)).toBe(3);
    expect(nextEnabled(entries, 4, 1)).toBe(0);
    expect(nextEnabled(entries, 0, -1)).toBe(4);
    expect(nextEnabled(['separator'], -1, 1)).toBe(-1);
  });
  it('a letter jumps to the next enabled item starting with it', () => {
    expect(byLetter(entries, 0, 'd')).toBe(4);
    expect(byLetter(entries, 0, 'F')).toBe(-1);
  });
  it('a menu near the right or bottom edge opens to the left or moves up, never off screen', () => {
    const size = { width: 200, height: 300 };
    const screen = { width: 1024, height: 700 };
    expect(placeMenu({ x: 100, y: 100 }, size, screen)).toEqual({ x: 100, y: 100 });
    expect(placeMenu({ x: 900, y: 100 }, size, screen)).toEqual({ x: 700, y: 100 });
    expect(placeMenu({ x: 100, y: 600 }, size, screen)).toEqual({ x: 100, y: 400 });
  });
});
