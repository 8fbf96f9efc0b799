import { describe, expect, it } from 'vitest';
import { mapPaneIds, neighbour, paneIds, paneRects, removePane, resizePane, single, splitPane, withRatio } from '../../../renderer/lib/terminal/layout';

// a | b
//   | c
const abc = splitPane(splitPane(single('a'), 'a', 'row', 'b'), 'b', 'column', 'c');

describe('split pane layout', () => {
  it('splits right and down, in reading order', () => {
    expect(paneIds(abc)).toEqual(['a', 'b', 'c']);
    const r = paneRects(abc);
    expect(r.get('a')).toEqual({ x: 0, y: 0, w: 0.5, h: 1 });
    expect(r.get('b')).toEqual({ x: 0.5, y: 0, w: 0.5, h: 0.5 });
    expect(r.get('c')).toEqual({ x: 0.5, y: 0.5, w: 0.5, h: 0.5 });
  });

  it('moves focus to the touching pane in each direction, and nowhere past the edge', () => {
    expect(neighbour(abc, 'a', 'right')).toBe('b'); // the top-most of two equal overlaps
    expect(neighbour(abc, 'c', 'left')).toBe('a');
    expect(neighbour(abc, 'c', 'up')).toBe('b');
    expect(neighbour(abc, 'b', 'down')).toBe('c');
    expect(neighbour(abc, 'a', 'left')).toBeUndefined();
    expect(neighbour(abc, 'b', 'up')).toBeUndefined();
  });

  it('closing a pane gives its room to its sibling; the last pane leaves nothing', () => {
    expect(paneIds(removePane(abc, 'b')!)).toEqual(['a', 'c']);
    expect(paneRects(removePane(abc, 'b')!).get('c')).toEqual({ x: 0.5, y: 0, w: 0.5, h: 1 });
    expect(removePane(single('a'), 'a')).toBeUndefined();
    expect(removePane(abc, 'zz')).toBe(abc);
  });

  it('grows a pane towards a side by moving the nearest border on that axis, within limits', () => {
    const grown = resizePane(abc, 'a', 'right', 0.1);
    expect(paneRects(grown).get('a')!.w).toBeCloseTo(0.6);
    // c grows upwards: the border between b and c moves up.
    expect(paneRects(resizePane(abc, 'c', 'up', 0.1)).get('c')!.h).toBeCloseTo(0.6);
    // No border on a's left: nothing changes.
    expect(paneRects(resizePane(abc, 'a', 'left', 0.1)).get('a')!.w).toBeCloseTo(0.5);
    let big = abc;
    for (let i = 0; i < 20; i++) big = resizePane(big, 'a', 'right', 0.1);
    expect(paneRects(big).get('a')!.w).toBeCloseTo(0.9);
    expect(paneRects(withRatio(abc, ['b'], 0)).get('b')!.h).toBeCloseTo(0.1);
  });

  it('copies a layout with new ids (duplicating a tab)', () => {
    expect(paneIds(mapPaneIds(abc, (id) => `${id}2`))).toEqual(['a2', 'b2', 'c2']);
  });
});
