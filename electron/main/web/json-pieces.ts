/** Values at this depth or deeper are written with one JSON.stringify each (an inventory instance, a host). */
const WHOLE_AT_DEPTH = 4;

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
};

/**
 * JSON.stringify(value) as pieces of about `size` characters that join to the same text. A
 * result of 10,000 inventory instances sent as one string is a 5 MB string that stays in V8's
 * large-object space until the next full collection (RSS at rest); sent in pieces, each piece
 * is garbage as soon as the socket has it. Pieces end between values, never inside a string.
 */
export function jsonPieces(value: unknown, size = 256 * 1024): string[] {
  const pieces: string[] = [];
  let parts: string[] = [];
  let length = 0;
  const put = (s: string) => {
    parts.push(s);
    length += s.length;
    if (length >= size) {
      pieces.push(parts.join(''));
      parts = [];
      length = 0;
    }
  };
  /** Writes `v`; false (nothing written) where JSON.stringify writes nothing (undefined, functions, symbols). */
  const write = (v: unknown, depth: number): boolean => {
    if (depth >= WHOLE_AT_DEPTH || typeof v !== 'object' || v === null || !(Array.isArray(v) || isPlainObject(v))) {
      const s = JSON.stringify(v) as string | undefined;
      if (s === undefined) return false;
      put(s);
      return true;
    }
    if (Array.isArray(v)) {
      put('[');
      for (let i = 0; i < v.length; i++) {
        if (i) put(',');
        if (!write(v[i], depth + 1)) put('null');
      }
      put(']');
      return true;
    }
    put('{');
    let first = true;
    for (const key of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      const whole = depth + 1 >= WHOLE_AT_DEPTH || typeof item !== 'object' || item === null || !(Array.isArray(item) || isPlainObject(item));
      // What JSON.stringify leaves out (a toJSON answering undefined) leaves its key out too.
      const text = whole ? (JSON.stringify(item) as string | undefined) : undefined;
      if (whole && text === undefined) continue;
      put(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      if (text !== undefined) put(text);
      else write(item, depth + 1);
    }
    put('}');
    return true;
  };
  if (!write(value, 0)) return [];
  if (length) pieces.push(parts.join(''));
  return pieces;
}
