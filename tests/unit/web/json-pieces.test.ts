import { describe, expect, it } from 'vitest';
import { jsonPieces } from '../../../electron/main/web/json-pieces';

describe('a result sent to the browser in pieces', () => {
  it('joins to exactly what JSON.stringify writes, for any value a handler returns', () => {
    const tags = Object.assign(Object.create(null) as Record<string, string>, JSON.parse('{"__proto__":"p","constructor":"c","ключ":"値 🚀"}') as Record<string, string>);
    const values: unknown[] = [
      { t: 'result', id: 3, outcome: { ok: true, value: { instances: Array.from({ length: 5000 }, (_, n) => ({ id: `i-${n}`, tags, launchedAt: n % 2 ? null : n, name: 'a "quoted" \u2028 name' })) } } },
      { t: 'result', id: 4, outcome: { ok: true, value: null } },
      { t: 'result', id: 5, outcome: { ok: true, value: undefined } },
      { t: 'result', id: 6, outcome: { ok: false, error: { code: 'NotFound', message: 'x', retryable: false, detail: undefined } } },
      { a: [undefined, () => 1, Symbol('s'), NaN, -0, 1e21], b: undefined, c: () => 1, d: new Date(0), e: { toJSON: () => 'custom' } },
      // A member JSON.stringify leaves out (a toJSON answering undefined), shallow and at the depth written whole.
      { gone: { toJSON: () => undefined }, kept: 1, deep: { a: { b: { c: { gone: { toJSON: () => undefined }, kept: 2 } } } } },
      [],
      {},
      'text',
      42,
      null,
    ];
    for (const v of values) expect(jsonPieces(v, 1000).join('')).toBe(JSON.stringify(v));
    expect(jsonPieces(undefined)).toEqual([]);
  });

  it('a large inventory goes as many small pieces, each whole text (no character cut in two)', () => {
    const big = { t: 'result', id: 1, outcome: { ok: true, value: { instances: Array.from({ length: 10_000 }, (_, n) => ({ id: `i-${n}`, name: `🚀 web-${n}` })) } } };
    const pieces = jsonPieces(big, 64 * 1024);
    expect(pieces.length).toBeGreaterThan(5);
    for (const p of pieces) {
      expect(p.length).toBeLessThan(64 * 1024 + 200);
      expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
    }
    expect(JSON.parse(pieces.join(''))).toEqual(big);
  });
});
