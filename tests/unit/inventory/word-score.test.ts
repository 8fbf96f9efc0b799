import fuzzysort from 'fuzzysort';
import { describe, expect, it } from 'vitest';
import { combine, removeAccents, scoreColumn, scoreIn, scoreWord, scoreWords, wordsIn } from '../../../renderer/lib/inventory/word-score';
import { filterRows, toRow } from '../../../renderer/lib/inventory/inventory-filter';
import { inst } from './instance-fixture';

/** fuzzysort's own raw score (`_score`), the number the page's scorer must give exactly. */
const theirs = (word: string, target: string) => (fuzzysort.single(word, fuzzysort.prepare(target)) as unknown as { _score: number } | null)?._score ?? -Infinity;
const ours = (word: string, target: string) => scoreIn(scoreWord(word), scoreColumn([fuzzysort.prepare(target)]), 0);

describe('the page’s word scorer', () => {
  it('gives fuzzysort’s own score, to the last bit, for words and fields of every shape', () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    // Letters, digits, separators, upper case (word beginnings), accents, a Japanese and an emoji code unit.
    const alphabet = ['a', 'b', 'c', 'e', 'n', 'o', 'd', '0', '1', '7', '-', '.', '_', ' ', '=', 'A', 'B', 'N', 'é', 'É', 'ü', 'ア', '😀'];
    const pick = (len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
    const real = ['app-7-node-123', 'i-0a1b2c3d4e5f60718', '10.0.1.17 54.1.3.9', 'env=prod team=team-3', 'CamelCaseName', 'café-noël', 'a'.repeat(40) + 'b', 'x-'.repeat(30) + 'node'];
    let compared = 0;
    let matched = 0;
    // All fields in one column, as an inventory's are: a row's score must not reach into the next row's text.
    const targets = Array.from({ length: 6000 }, (_, k) => (k < 2000 ? real[k % real.length]! : pick(rnd(40))));
    const column = scoreColumn(targets.map((t) => fuzzysort.prepare(t)));
    for (let k = 0; k < 6000; k++) {
      const target = targets[k]!;
      const word = k % 3 === 0 ? target.slice(rnd(target.length), rnd(target.length) + 1 + rnd(5)).replace(/ /g, '') || 'a' : pick(1 + rnd(6)).replace(/ /g, '') || 'n';
      const want = theirs(word, target);
      expect(scoreIn(scoreWord(word), column, k), `${JSON.stringify(word)} in ${JSON.stringify(target)}`).toBe(want);
      compared++;
      if (want > -Infinity) matched++;
    }
    expect(compared).toBe(6000);
    // Both matches and misses were compared, not only one kind.
    expect(matched).toBeGreaterThan(1500);
    expect(compared - matched).toBeGreaterThan(1500);
  });

  it('scores a backtracking-heavy field (more than 200 backtracks, many word beginnings) as fuzzysort does', () => {
    const target = 'a-'.repeat(60) + 'ab';
    for (const word of ['aab', 'aaab', 'ab', 'a-a-b', 'bb']) expect(ours(word, target), word).toBe(theirs(word, target));
  });

  it('finds word beginnings where fuzzysort does for every code point: none changes length between accent removal and lower case', () => {
    const changed: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const off = removeAccents(c);
      if (off.length !== off.toLowerCase().length) changed.push(cp.toString(16));
    }
    expect(changed).toEqual([]);
    for (const [word, target] of [['istanbul', 'İstanbul'], ['ist', 'xİstanbul'], ['a', ''], ['ab', 'ba']] as const) expect(ours(word, target), `${word} in ${target}`).toBe(theirs(word, target));
  });

  it('ranks a query repeating a word as fuzzysort ranks that text (a field holding it whole comes first)', () => {
    const rows = ['web-node', 'node node', 'nodes'].map((name, k) => toRow(inst({ id: `i-${k.toString(16).padStart(17, '0')}`, name, tags: { Name: name } })));
    const theirs = fuzzysort.go('node node', rows, { keys: ['name', 'id', 'ips', 'tagText'] }).map((r) => r.obj.inst.name);
    expect(filterRows(rows, 'node node').map((r) => r.inst.name)).toEqual(theirs);
    expect(theirs[0]).toBe('node node');
  });

  it('combines field scores as fuzzysort’s keys do: the best field, raised when another matches too', () => {
    const fields = ['node-7', 'i-0node7', '10.0.0.7', 'role=node'];
    const prepared = fields.map((f) => fuzzysort.prepare(f));
    const got = fuzzysort.go('node', [{ a: prepared[0], b: prepared[1], c: prepared[2], d: prepared[3] }], { keys: ['a', 'b', 'c', 'd'] })[0] as unknown as { _score: number };
    let score = -Infinity;
    for (const p of prepared) score = combine(score, scoreIn(scoreWord('node'), scoreColumn([p]), 0));
    expect(score).toBe(got._score);
    expect(score).toBeGreaterThan(theirs('node', 'node-7'));
  });

  it('scores a query of several words over four fields as fuzzysort’s go with keys does, to the bit (a word found whole making a beginning for the next, the text as one)', () => {
    let seed = 5;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const parts = ['straw', 'berry', 'node', 'web', 'a7', 'i-0', '10.0', 'prod', 'team-5', 'dev', 'Café', 'x_y', 'db'];
    const field = () => Array.from({ length: 1 + rnd(4) }, () => parts[rnd(parts.length)]).join(['-', ' ', '', '.', '='][rnd(5)]!);
    const rows = Array.from({ length: 800 }, () => ({ a: fuzzysort.prepare(field()), b: fuzzysort.prepare(field()), c: fuzzysort.prepare(field()), d: fuzzysort.prepare(rnd(4) ? field() : '') }));
    const columns = (['a', 'b', 'c', 'd'] as const).map((k) => scoreColumn(rows.map((r) => r[k])));
    const words = ['straw', 'berry', 'strawberry', 'node', 'web', 'a7', 'n', 'no', 'de', 'dev', 'team-5', 'i-0', 'cafe', 'x', 'db', 'zz', 'ry', 'st'];
    let found = 0;
    for (let k = 0; k < 120; k++) {
      const query = Array.from({ length: 2 + rnd(2) }, () => words[rnd(words.length)]!);
      const text = query.join(' ');
      const theirs = new Map(fuzzysort.go(text, rows, { keys: ['a', 'b', 'c', 'd'] }).map((r) => [r.obj, (r as unknown as { _score: number })._score]));
      const q = scoreWords(query, text);
      const shares = new Float64Array(q.words.length);
      for (let r = 0; r < rows.length; r++) {
        const best = new Array<number>(q.words.length).fill(-Infinity);
        for (const col of columns) if (wordsIn(q, col, r, shares)) for (let w = 0; w < best.length; w++) best[w] = combine(best[w]!, shares[w]!);
        const ours = best.includes(-Infinity) ? undefined : best.reduce((a, b) => a + b, 0);
        expect(ours, `${text} in row ${r}`).toBe(theirs.get(rows[r]!));
        if (ours !== undefined) found++;
      }
    }
    expect(found).toBeGreaterThan(1000);
  });
});

