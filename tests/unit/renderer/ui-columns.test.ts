import { describe, expect, it } from 'vitest';
import { columnsInView, keyedWidth, MAX_WIDTH, readLayout, type ColumnSpec } from '../../../renderer/lib/ui/columns';

const specs: ColumnSpec[] = [
  { id: 'name', width: 180, min: 80, hideable: false },
  { id: 'id', width: 150 },
  { id: 'tags', width: 240 },
];

describe('a stored column layout', () => {
  it('comes back as it was saved', () => {
    expect(readLayout(JSON.stringify({ hidden: ['id'], widths: { tags: 300 } }), specs)).toEqual({ hidden: ['id'], widths: { tags: 300 } });
  });
  it('that is not JSON, or not the expected shape, leaves the defaults', () => {
    for (const raw of [null, '', '{', 'null', '42', '"x"', '[]', '{"hidden":"id","widths":[1]}']) {
      expect(readLayout(raw, specs), String(raw)).toEqual({ hidden: [], widths: {} });
    }
  });
  it('drops unknown columns, widths that are not numbers, and hides no column that must stay', () => {
    const raw = JSON.stringify({ hidden: ['gone', 'name', 7, 'id', 'id'], widths: { gone: 100, id: 'wide', tags: Number.NaN, name: 1e9 } });
    expect(readLayout(raw, specs)).toEqual({ hidden: ['id'], widths: { name: MAX_WIDTH } });
  });
  it('keeps widths within bounds and never hides every column', () => {
    expect(readLayout(JSON.stringify({ widths: { id: -5 } }), specs).widths).toEqual({ id: 48 });
    const all: ColumnSpec[] = [{ id: 'a', width: 10 }, { id: 'b', width: 10 }];
    expect(readLayout(JSON.stringify({ hidden: ['a', 'b'] }), all).hidden).toEqual([]);
  });
});

describe('resizing by keyboard', () => {
  const id = specs[1]!;
  it('Left and Right step, Shift steps further, Home and End go to the ends', () => {
    expect(keyedWidth(id, 150, { key: 'ArrowRight', shiftKey: false })).toBe(166);
    expect(keyedWidth(id, 150, { key: 'ArrowLeft', shiftKey: true })).toBe(86);
    expect(keyedWidth(id, 50, { key: 'ArrowLeft', shiftKey: false })).toBe(48);
    expect(keyedWidth(id, 150, { key: 'Home', shiftKey: false })).toBe(48);
    expect(keyedWidth(id, 150, { key: 'End', shiftKey: false })).toBe(MAX_WIDTH);
    expect(keyedWidth(id, 150, { key: 'a', shiftKey: false })).toBeUndefined();
  });
});

describe('the columns a table draws', () => {
  const widths = [180, 150, 78, 92, 92, 104, 104, 110, 72, 78, 90, 240];
  const layout = { padding: 10, gap: 8, margin: 0 };

  it('are those reaching into its visible part: the inventory 1,080 px wide leaves Profile and Tags out until scrolled to', () => {
    expect(columnsInView(widths, 0, 1080, layout)).toEqual({ first: 0, last: 9 });
    // Scrolled to the end: Name and Instance are out of sight, Tags in.
    expect(columnsInView(widths, 1498 - 1080, 1080, layout)).toEqual({ first: 2, last: 11 });
    // A column only partly in view is drawn.
    expect(columnsInView(widths, 0, 11, layout)).toEqual({ first: 0, last: 0 });
    expect(columnsInView(widths, 0, 200, layout)).toEqual({ first: 0, last: 1 });
  });

  it('reach a margin further each side, and are all of them before the table is measured', () => {
    expect(columnsInView(widths, 0, 1080, { ...layout, margin: 120 })).toEqual({ first: 0, last: 10 });
    expect(columnsInView(widths, 0, 0, layout)).toEqual({ first: 0, last: 11 });
    expect(columnsInView([], 0, 500, layout)).toEqual({ first: 0, last: -1 });
  });
});
