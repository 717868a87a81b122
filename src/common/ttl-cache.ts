/**
 * An in-process read cache of database rows for the hot path (clients, the policy): a value is
 * served for at most `ttlMs` after it was read, then read again. The instance that changes a row
 * calls `invalidate`, so its own next read sees the change at once; other instances see it when
 * their entry ages out (CACHE_TTL_SECONDS). A `ttlMs` of 0 turns caching off: every get reads.
 *
 * Concurrent gets of one key share one read. A read that started before an invalidation is not
 * stored (it may predate the change), so an invalidation is never undone by a slow read. Misses
 * (`null`) are not stored: an unknown key costs a read every time, as it did without the cache,
 * and cannot fill the cache. At most `maxEntries` keys are kept; the oldest read goes first.
 */
export class TtlCache<K, V extends object> {
  private readonly entries = new Map<K, { value: V; loadedAtMs: number }>();
  private readonly loading = new Map<K, { generation: number; promise: Promise<V | null> }>();
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly nowMs: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value of `key`, or `load()`'s (stored unless it is null). */
  get(key: K, load: () => Promise<V | null>): Promise<V | null> {
    if (this.ttlMs <= 0) return load();
    const now = this.nowMs();
    const entry = this.entries.get(key);
    if (entry && now >= entry.loadedAtMs && now - entry.loadedAtMs < this.ttlMs) return Promise.resolve(entry.value);
    const pending = this.loading.get(key);
    if (pending && pending.generation === this.generation) return pending.promise;
    const generation = this.generation;
    const promise = load()
      .then((value) => {
        if (generation === this.generation) {
          this.entries.delete(key);
          if (value !== null) {
            if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
            this.entries.set(key, { value, loadedAtMs: now });
          }
        }
        return value;
      })
      .finally(() => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
      });
    this.loading.set(key, { generation, promise });
    return promise;
  }

  /** Forgets `key` (or everything): the next get reads the database, and reads in flight are not stored. */
  invalidate(key?: K): void {
    this.generation++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}
