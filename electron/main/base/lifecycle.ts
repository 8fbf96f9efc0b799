/** Something that holds a resource until disposed: a connection, a channel, a listener, a timer. */
export interface Disposable {
  dispose(): void;
}

export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

/** Owns many disposables; disposing it disposes each once, even when one throws. */
export class DisposableStore implements Disposable {
  private readonly items = new Set<Disposable>();
  private disposed = false;

  get isDisposed(): boolean {
    return this.disposed;
  }

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.add(item);
    }
    return item;
  }

  delete(item: Disposable): void {
    if (this.items.delete(item)) item.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const item of this.items) {
      try {
        item.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    this.items.clear();
    if (errors.length) throw new AggregateError(errors, 'dispose failed');
  }
}

/** A keyed collection of disposables: replacing or deleting a key disposes what it held. */
export class DisposableMap<K, V extends Disposable> implements Disposable {
  private readonly map = new Map<K, V>();

  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  set(key: K, value: V): void {
    const old = this.map.get(key);
    this.map.set(key, value);
    if (old && old !== value) old.dispose();
  }
  /** Removes the entry without disposing it (the caller takes ownership). */
  take(key: K): V | undefined {
    const v = this.map.get(key);
    this.map.delete(key);
    return v;
  }
  deleteAndDispose(key: K): void {
    this.take(key)?.dispose();
  }
  dispose(): void {
    const values = [...this.map.values()];
    this.map.clear();
    for (const v of values) v.dispose();
  }
}
