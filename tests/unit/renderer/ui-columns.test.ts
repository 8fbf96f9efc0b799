import { describe, expect, it } from 'vitest';
import { keyedWidth, MAX_WIDTH, readLayout, type ColumnSpec } from '../../../renderer/lib/ui/columns';

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
