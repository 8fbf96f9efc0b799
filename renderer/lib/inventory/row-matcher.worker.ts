import { RowMatchService, type FromMatcher, type ToMatcher } from './row-matching';

/** The dedicated worker's global scope, as much of it as this file uses (the project's types are the page's). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<ToMatcher>) => void) | null;
  postMessage(message: FromMatcher, transfer: Transferable[]): void;
};

// Warm-up searches run as tasks of their own, so a query that arrives waits for one step at most.
const service = new RowMatchService((work) => {
  const id = setTimeout(() => work(() => Infinity), 0);
  return () => clearTimeout(id);
});

/**
 * Only the newest query is searched: keys typed while a search runs queue up behind it, and all
 * but the last would be answers the page throws away. So a query waits for one task hop, and a
 * newer one arriving meanwhile takes its place.
 */
let pending: Extract<ToMatcher, { kind: 'query' }> | undefined;
let scheduled = false;

function answer(): void {
  scheduled = false;
  const q = pending;
  pending = undefined;
  if (!q) return;
  const found = service.match(q.version, q.query);
  if (!found) return;
  const { indices, candidates } = found;
  if (!candidates) scope.postMessage({ kind: 'matched', version: q.version, seq: q.seq, indices }, [indices.buffer]);
  else if (candidates === indices) scope.postMessage({ kind: 'matched', version: q.version, seq: q.seq, indices, candidates: indices }, [indices.buffer]);
  else scope.postMessage({ kind: 'matched', version: q.version, seq: q.seq, indices, candidates }, [indices.buffer, candidates.buffer]);
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.kind === 'rows') {
    service.setRows(msg.version, msg.instances);
    return;
  }
  if (msg.kind === 'drop') {
    pending = undefined;
    return;
  }
  pending = msg;
  if (!scheduled) {
    scheduled = true;
    setTimeout(answer, 0);
  }
};
