import { describe, expect, it } from 'vitest';
import { inst } from './instance-fixture';
import { RowFilter, filterRows, toRow, type Row } from '../../../renderer/lib/inventory/inventory-filter';
import { NO_PAGE_BUDGET, RowMatcher, type MatcherWorker } from '../../../renderer/lib/inventory/row-matcher';
import { RowMatchService, type FromMatcher, type ToMatcher } from '../../../renderer/lib/inventory/row-matching';

let seed = 7;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
const parts = ['web', 'db', 'api', 'node', 'cache', 'prod', 'stage', 'eu', 'x1', 'a3'];
const fleet = (n: number, tag = '') =>
  Array.from({ length: n }, (_, k) =>
    toRow(
      inst({
        id: `i-${((k * 2654435761) % 4294967296).toString(16).padStart(17, '0')}`,
        name: `${parts[rnd(parts.length)]}-${parts[rnd(parts.length)]}-${k}${tag}`,
        state: rnd(5) ? 'running' : 'stopped',
        privateIp: `10.${rnd(4)}.${rnd(256)}.${rnd(256)}`,
        publicIp: rnd(3) ? '' : `54.${rnd(256)}.${rnd(256)}.${rnd(256)}`,
        tags: { Name: 'x', env: parts[5 + rnd(3)]!, team: `team-${rnd(7)}` },
      }),
    ),
  );
const keys = (rows: readonly Row[]) => rows.map((r) => r.key);

/**
 * A worker as the page sees one: messages cross as structured clones (the row indices handed
 * over), and its answers wait until the test delivers them, in whatever order it likes.
 */
class HeldWorker implements MatcherWorker {
  onmessage: ((e: MessageEvent<FromMatcher>) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  terminated = false;
  dropped = 0;
  readonly held: FromMatcher[] = [];
  private readonly service = new RowMatchService();

  postMessage(message: ToMatcher): void {
    const msg = structuredClone(message);
    if (msg.kind === 'rows') this.service.setRows(msg.version, msg.instances);
    else if (msg.kind === 'drop') this.dropped++;
    else {
      const found = this.service.match(msg.version, msg.query);
      if (!found) return;
      const { indices, candidates } = found;
      const transfer = candidates && candidates !== indices ? [indices.buffer, candidates.buffer] : [indices.buffer];
      this.held.push(structuredClone({ kind: 'matched', version: msg.version, seq: msg.seq, indices, ...(candidates ? { candidates } : {}) }, { transfer }));
    }
  }
  deliver(order: 'in order' | 'newest first' = 'in order'): void {
    const answers = this.held.splice(0);
    if (order === 'newest first') answers.reverse();
    for (const data of answers) this.onmessage?.({ data } as MessageEvent<FromMatcher>);
  }
  fail(): void {
    this.onerror?.(new Event('error'));
  }
  terminate(): void {
    this.terminated = true;
  }
}

function shown() {
  const calls: Array<{ rows: Row[]; query: string }> = [];
  return { calls, last: () => calls.at(-1), onMatched: (rows: Row[], query: string) => calls.push({ rows, query }) };
}

describe('the inventory filter in a worker', () => {
  const rows = fleet(1500);

  it('shows the same rows in the same order as the filter on the page, key by key', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    for (const text of ['a3-node-12', 'web db', 'env:prod api-x', 'state:running 54.1', '10.2.', 'team:team-3 cache-e', 'pd', '-env:prod x1']) {
      for (let k = 1; k <= text.length; k++) {
        const q = text.slice(0, k);
        matcher.match(q);
        worker.deliver();
        expect(out.last()!.query, q).toBe(q);
        expect(keys(out.last()!.rows), q).toEqual(keys(filterRows(rows, q)));
      }
    }
  });

  it('typing faster than the answers come ends on the last query’s rows; an earlier query’s answer is never shown', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    const text = 'node-a3 env:prod';
    for (let k = 1; k <= text.length; k++) matcher.match(text.slice(0, k));
    worker.deliver('newest first');
    expect(out.calls.map((c) => c.query)).toEqual(['', text]);
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, text)));
    // Answers that straggle in afterwards change nothing either.
    matcher.match('web');
    matcher.match('we');
    worker.deliver('in order');
    expect(out.last()!.query).toBe('we');
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, 'we')));
  });

  it('clearing the filter shows every row at once, and a late answer for the text before does not come back', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    matcher.match('cache');
    matcher.match('');
    expect(out.last()).toEqual({ rows, query: '' });
    worker.deliver();
    expect(out.last()).toEqual({ rows, query: '' });
  });

  it('a refreshed inventory reaches the worker once, and the query being typed runs over the new rows, not the old ones', () => {
    const out = shown();
    const worker = new HeldWorker();
    const posted: ToMatcher['kind'][] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (posted.push(m.kind), post(m));
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    matcher.match('nod');
    const refreshed = fleet(800, '-new');
    matcher.setRows(refreshed);
    matcher.match('node');
    matcher.match('node-');
    worker.deliver();
    expect(out.last()!.query).toBe('node-');
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(refreshed, 'node-')));
    expect(out.last()!.rows.every((r) => r.inst.name.endsWith('-new'))).toBe(true);
    expect(posted.filter((k) => k === 'rows')).toHaveLength(2);
  });

  it('if the worker cannot start, the filter runs on the page: the query waiting is answered, and the next ones at once', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    matcher.match('api');
    worker.fail();
    expect(worker.terminated).toBe(true);
    expect(matcher.inWorker).toBe(false);
    expect(out.last()!.query).toBe('api');
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, 'api')));
    matcher.match('api-x');
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, 'api-x')));
    // Whatever the dead worker had queued stays out.
    worker.deliver();
    expect(out.last()!.query).toBe('api-x');
  });

  it('without workers at all, it filters on the page, synchronously', () => {
    const out = shown();
    const matcher = new RowMatcher(out.onMatched, undefined);
    expect(matcher.inWorker).toBe(false);
    matcher.setRows(rows);
    matcher.match('env:stage db');
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, 'env:stage db')));
    matcher.dispose();
  });

  it('typing on inside the same match hands the view the same array, so nothing re-renders', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    const few = [inst({ id: 'i-00000000000000001', name: 'db-primary' }), inst({ id: 'i-00000000000000002', name: 'web-1' })].map(toRow);
    matcher.setRows(few);
    matcher.match('db-p');
    worker.deliver();
    matcher.match('db-pr');
    worker.deliver();
    expect(out.calls.at(-1)!.rows).toBe(out.calls.at(-2)!.rows);
    expect(out.calls.at(-1)!.query).toBe('db-pr');
  });
  it('erasing back to a query typed a moment ago shows its rows at once, without asking the worker again', () => {
    const out = shown();
    const worker = new HeldWorker();
    const asked: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (m.kind === 'query' && asked.push(m.query), post(m));
    const matcher = new RowMatcher(out.onMatched, worker, NO_PAGE_BUDGET);
    matcher.setRows(rows);
    for (const q of ['c', 'ca', 'cac', 'cach']) {
      matcher.match(q);
      worker.deliver();
    }
    asked.length = 0;
    for (const q of ['cac', 'ca', 'c']) {
      matcher.match(q);
      expect(out.last()!.query, q).toBe(q);
      expect(keys(out.last()!.rows), q).toEqual(keys(filterRows(rows, q)));
    }
    expect(asked).toEqual([]);
    // Not across inventories: a refresh asks again (the query in the box, then the next one).
    const refreshed = fleet(300, '-new');
    matcher.setRows(refreshed);
    matcher.match('ca');
    expect(asked).toEqual(['c', 'ca']);
    worker.deliver();
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(refreshed, 'ca')));
  });
});

describe('the inventory filter answering cheap keystrokes on the page', () => {
  const rows = fleet(1500);
  /** Small enough that over 1,500 rows the keys searching every row go to the worker and the keys after them narrow on the page. */
  const budget = { scan: 1000, fuzzy: 300 };
  const texts = ['a3-node-12', 'web db', 'env:prod api-x', 'state:running 54.1', '10.2.', 'team:team-3 cache-e', 'pd', '-env:prod x1', 'x1 -env:pr', 'team:team-3 team:team-4 web', 'state:stopped -team:team-1 node-c', 'cache x1 db'];

  it('shows, key by key, the rows a full search gives in its order, whether the page or the worker answered', () => {
    const out = shown();
    const worker = new HeldWorker();
    const asked: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (m.kind === 'query' && asked.push(m.query), post(m));
    const matcher = new RowMatcher(out.onMatched, worker, budget);
    matcher.setRows(rows);
    let onPage = 0;
    let total = 0;
    for (const text of texts) {
      for (let k = 1; k <= text.length; k++) {
        const q = text.slice(0, k);
        const before = asked.length;
        matcher.match(q);
        if (asked.length === before) onPage++;
        total++;
        worker.deliver();
        expect(out.last()!.query, q).toBe(q);
        expect(keys(out.last()!.rows), q).toEqual(keys(filterRows(rows, q)));
      }
      // Erasing it again, back to nothing.
      for (let k = text.length - 1; k >= 0; k--) {
        const q = text.slice(0, k);
        matcher.match(q);
        worker.deliver();
        expect(keys(out.last()!.rows), q).toEqual(keys(filterRows(rows, q)));
      }
    }
    // Both sides answered typed keys: the page those narrowing a known answer, the worker those searching every row.
    expect(onPage).toBeGreaterThan(total / 3);
    expect(asked.length).toBeGreaterThan(0);
  });

  it('a query searching more rows than the page’s budget goes to the worker; the keys narrowing its answer within the budget are searched on the page', () => {
    const out = shown();
    const worker = new HeldWorker();
    const asked: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (m.kind === 'query' && asked.push(m.query), post(m));
    const matcher = new RowMatcher(out.onMatched, worker, { scan: 1000, fuzzy: 0 });
    matcher.setRows(rows);
    for (const [first, next] of [
      ['nod', ['node', 'node-', 'node-1']],
      ['ca c', ['ca ch', 'ca che', 'ca che-', 'ca che-e']],
    ] as const) {
      asked.length = 0;
      matcher.match(first);
      expect(asked).toEqual([first]);
      expect(out.last()!.query).not.toBe(first);
      worker.deliver();
      expect(keys(out.last()!.rows), first).toEqual(keys(filterRows(rows, first)));
      for (const q of next) {
        matcher.match(q);
        expect(out.last()!.query, q).toBe(q);
        expect(keys(out.last()!.rows), q).toEqual(keys(filterRows(rows, q)));
      }
      expect(asked).toEqual([first]);
    }
  });

  it('a query of more than eight words is scored by fuzzysort: on the page when its candidates are few, else by the worker', () => {
    const many = 'a b c d e f g h i';
    const few = 'x1 a b c d e f g h';
    const candidatesOf = (q: string) => {
      const f = new RowFilter();
      f.run(rows, q);
      return f.state!.candidates!.length;
    };
    expect(candidatesOf(few)).toBeLessThan(candidatesOf(many));
    const out = shown();
    const worker = new HeldWorker();
    const asked: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (m.kind === 'query' && asked.push(m.query), post(m));
    const matcher = new RowMatcher(out.onMatched, worker, { scan: 20_000, fuzzy: candidatesOf(few) });
    matcher.setRows(rows);
    matcher.match(few);
    expect(asked).toEqual([]);
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, few)));
    matcher.match(many);
    expect(asked).toEqual([many]);
    worker.deliver();
    expect(keys(out.last()!.rows)).toEqual(keys(filterRows(rows, many)));
  });

  it('a query that is not a narrowing of the last one is searched over every row: a negated term or another alternative growing, fuzzy text from text as written', () => {
    const worker = new HeldWorker();
    const asked: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => (m.kind === 'query' && asked.push(m.query), post(m));
    const out = shown();
    const matcher = new RowMatcher(out.onMatched, worker, { scan: 0, fuzzy: 1000 });
    matcher.setRows(rows);
    for (const [from, to] of [
      ['x1 -env:p', 'x1 -env:pr'],
      ['web team:team-3', 'web team:team-3 team:team-4'],
      ['db', 'dbx'],
      ['cache name:cache', 'cache name:cache-*'],
      ['cache tag:en', 'cache tag:env'],
    ] as const) {
      matcher.match(from);
      worker.deliver();
      asked.length = 0;
      matcher.match(to);
      expect(asked, `${from} → ${to}`).toEqual([to]);
      worker.deliver();
      expect(keys(out.last()!.rows), to).toEqual(keys(filterRows(rows, to)));
    }
  });

  it('the page answering a key drops the one the worker has not answered yet, and its late answer is never shown', () => {
    const out = shown();
    const worker = new HeldWorker();
    const matcher = new RowMatcher(out.onMatched, worker, { scan: 1000, fuzzy: 0 });
    matcher.setRows(rows);
    matcher.match('cache');
    matcher.match('');
    expect(worker.dropped).toBe(1);
    expect(out.last()!.query).toBe('');
    worker.deliver();
    expect(out.last()!.query).toBe('');
    expect(keys(out.last()!.rows)).toEqual(keys(rows));
  });
});
