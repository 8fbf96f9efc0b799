/**
 * Split panes as a binary tree: a leaf is one terminal; a split shows `a` then `b`, side by side
 * (`row`) or one above the other (`column`), `a` taking `ratio` of the space. Pure functions
 * that return new trees, so the tab's state is replaced, never mutated in place.
 */
export type PaneLayout =
  | { kind: 'pane'; id: string }
  | { kind: 'split'; dir: 'row' | 'column'; ratio: number; a: PaneLayout; b: PaneLayout };

export type Direction = 'left' | 'right' | 'up' | 'down';
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export const MIN_RATIO = 0.1;
const clampRatio = (r: number) => Math.min(1 - MIN_RATIO, Math.max(MIN_RATIO, r));

export const single = (id: string): PaneLayout => ({ kind: 'pane', id });

export function paneIds(node: PaneLayout): string[] {
  return node.kind === 'pane' ? [node.id] : [...paneIds(node.a), ...paneIds(node.b)];
}

/** Splits the pane `id` in two: the new pane goes right of it (`row`) or below it (`column`). */
export function splitPane(node: PaneLayout, id: string, dir: 'row' | 'column', newId: string): PaneLayout {
  if (node.kind === 'pane') return node.id === id ? { kind: 'split', dir, ratio: 0.5, a: node, b: single(newId) } : node;
  return { ...node, a: splitPane(node.a, id, dir, newId), b: splitPane(node.b, id, dir, newId) };
}

/** The tree without pane `id` (its sibling takes its place); undefined when it was the last pane. */
export function removePane(node: PaneLayout, id: string): PaneLayout | undefined {
  if (node.kind === 'pane') return node.id === id ? undefined : node;
  const a = removePane(node.a, id);
  const b = removePane(node.b, id);
  if (!a) return b;
  if (!b) return a;
  return a === node.a && b === node.b ? node : { ...node, a, b };
}

/** Where each pane sits in the unit square. */
export function paneRects(node: PaneLayout, rect: Rect = { x: 0, y: 0, w: 1, h: 1 }, out = new Map<string, Rect>()): Map<string, Rect> {
  if (node.kind === 'pane') {
    out.set(node.id, rect);
    return out;
  }
  if (node.dir === 'row') {
    const wa = rect.w * node.ratio;
    paneRects(node.a, { ...rect, w: wa }, out);
    paneRects(node.b, { ...rect, x: rect.x + wa, w: rect.w - wa }, out);
  } else {
    const ha = rect.h * node.ratio;
    paneRects(node.a, { ...rect, h: ha }, out);
    paneRects(node.b, { ...rect, y: rect.y + ha, h: rect.h - ha }, out);
  }
  return out;
}

const EPS = 1e-9;

/**
 * The pane next to `id` in a direction: among the panes whose edge touches that side of it and
 * that overlap it across, the one with the largest overlap (ties: the top-most / left-most).
 */
export function neighbour(node: PaneLayout, id: string, dir: Direction): string | undefined {
  const rects = paneRects(node);
  const from = rects.get(id);
  if (!from) return undefined;
  let best: { id: string; overlap: number; pos: number } | undefined;
  for (const [other, r] of rects) {
    if (other === id) continue;
    let touches: boolean;
    let overlap: number;
    let pos: number;
    if (dir === 'left' || dir === 'right') {
      touches = dir === 'right' ? Math.abs(r.x - (from.x + from.w)) < EPS : Math.abs(r.x + r.w - from.x) < EPS;
      overlap = Math.min(r.y + r.h, from.y + from.h) - Math.max(r.y, from.y);
      pos = r.y;
    } else {
      touches = dir === 'down' ? Math.abs(r.y - (from.y + from.h)) < EPS : Math.abs(r.y + r.h - from.y) < EPS;
      overlap = Math.min(r.x + r.w, from.x + from.w) - Math.max(r.x, from.x);
      pos = r.x;
    }
    if (!touches || overlap <= EPS) continue;
    if (!best || overlap > best.overlap + EPS || (Math.abs(overlap - best.overlap) <= EPS && pos < best.pos)) best = { id: other, overlap, pos };
  }
  return best?.id;
}

/** A split's place in the tree: the branches taken from the root ('a' or 'b'). */
export type SplitPath = ReadonlyArray<'a' | 'b'>;

export function withRatio(node: PaneLayout, path: SplitPath, ratio: number): PaneLayout {
  if (node.kind === 'pane') return node;
  if (path.length === 0) return { ...node, ratio: clampRatio(ratio) };
  const [head, ...rest] = path;
  return head === 'a' ? { ...node, a: withRatio(node.a, rest, ratio) } : { ...node, b: withRatio(node.b, rest, ratio) };
}

/**
 * Moves the border of pane `id` on side `dir` by `delta` (a fraction of the enclosing split):
 * the nearest enclosing split on that axis with the pane on the matching side gives or takes.
 */
export function resizePane(node: PaneLayout, id: string, dir: Direction, delta: number): PaneLayout {
  const axis = dir === 'left' || dir === 'right' ? 'row' : 'column';
  const grow = dir === 'right' || dir === 'down' ? delta : -delta;
  const walk = (n: PaneLayout): { node: PaneLayout; found: boolean; done: boolean } => {
    if (n.kind === 'pane') return { node: n, found: n.id === id, done: false };
    const inA = walk(n.a);
    if (inA.found) {
      if (inA.done) return { node: { ...n, a: inA.node }, found: true, done: true };
      // The pane is in `a`: the border between a and b is on its right/bottom side.
      if (n.dir === axis && (dir === 'right' || dir === 'down')) return { node: { ...n, ratio: clampRatio(n.ratio + grow) }, found: true, done: true };
      return { node: n, found: true, done: false };
    }
    const inB = walk(n.b);
    if (inB.found) {
      if (inB.done) return { node: { ...n, b: inB.node }, found: true, done: true };
      if (n.dir === axis && (dir === 'left' || dir === 'up')) return { node: { ...n, ratio: clampRatio(n.ratio + grow) }, found: true, done: true };
      return { node: n, found: true, done: false };
    }
    return { node: n, found: false, done: false };
  };
  return walk(node).node;
}

/** The same layout with every pane id replaced (duplicating a tab). */
export function mapPaneIds(node: PaneLayout, f: (id: string) => string): PaneLayout {
  return node.kind === 'pane' ? { kind: 'pane', id: f(node.id) } : { ...node, a: mapPaneIds(node.a, f), b: mapPaneIds(node.b, f) };
}
