import { TtlCache } from './ttl-cache';

describe(TtlCache.name, () => {
  let now = 1_000_000;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  function counted<V>(value: V | null) {
    const load = jest.fn(async () => value);
    return load;
  }

  it('serves a value from memory for the TTL, then reads again', async () => {
    const cache = new TtlCache<string, { v: number }>(1000, clock);
    const load = counted({ v: 1 });
    expect(await cache.get('k', load)).toEqual({ v: 1 });
    now += 999;
    expect(await cache.get('k', load)).toEqual({ v: 1 });
    expect(load).toHaveBeenCalledTimes(1);
    now += 1;
    await cache.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('reads again after invalidate, for one key or all', async () => {
    const cache = new TtlCache<string, { v: number }>(60_000, clock);
    const load = counted({ v: 1 });
    await cache.get('a', load);
    await cache.get('b', load);
    cache.invalidate('a');
    await cache.get('a', load);
    await cache.get('b', load);
    expect(load).toHaveBeenCalledTimes(3);
    cache.invalidate();
    await cache.get('b', load);
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('shares one read between concurrent gets', async () => {
    const cache = new TtlCache<string, { v: number }>(1000, clock);
    const load = counted({ v: 1 });
    const [x, y] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect(x).toBe(y);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('does not keep a read that started before an invalidation', async () => {
    const cache = new TtlCache<string, { v: number }>(60_000, clock);
    let release!: (value: { v: number }) => void;
    const slow = cache.get('k', () => new Promise((resolve) => (release = resolve)));
    cache.invalidate('k');
    release({ v: 1 });
    expect(await slow).toEqual({ v: 1 });
    const fresh = counted({ v: 2 });
    expect(await cache.get('k', fresh)).toEqual({ v: 2 });
    expect(fresh).toHaveBeenCalledTimes(1);
  });

  it('does not keep misses', async () => {
    const cache = new TtlCache<string, { v: number }>(60_000, clock);
    const load = counted<{ v: number }>(null);
    expect(await cache.get('k', load)).toBeNull();
    expect(await cache.get('k', load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('reads every time with a TTL of 0', async () => {
    const cache = new TtlCache<string, { v: number }>(0, clock);
    const load = counted({ v: 1 });
    await cache.get('k', load);
    await cache.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const cache = new TtlCache<string, { v: number }>(60_000, clock, 2);
    const load = counted({ v: 1 });
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('c', load);
    await cache.get('b', load);
    await cache.get('c', load);
    expect(load).toHaveBeenCalledTimes(3);
    await cache.get('a', load);
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('reads again when the clock went back', async () => {
    const cache = new TtlCache<string, { v: number }>(60_000, clock);
    const load = counted({ v: 1 });
    await cache.get('k', load);
    now -= 1;
    await cache.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
