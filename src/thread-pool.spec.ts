import { sizeThreadPool, threadPoolSize } from './thread-pool';

describe('thread pool size', () => {
  it('is one thread per core, at least 1 and at most libuv default of 4', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => threadPoolSize({}, cores))).toEqual([1, 2, 3, 4, 4, 4]);
  });

  it('keeps what the operator set in UV_THREADPOOL_SIZE, and ignores a value that is not a positive integer', () => {
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '16' }, 2)).toBe(16);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '1' }, 8)).toBe(1);
    for (const value of ['', '0', '-2', '2.5', 'many']) expect(threadPoolSize({ UV_THREADPOOL_SIZE: value }, 2)).toBe(2);
  });

  it('writes the size into the environment, where libuv and the cluster workers read it', () => {
    const env: NodeJS.ProcessEnv = {};
    const size = sizeThreadPool(env);
    expect(env.UV_THREADPOOL_SIZE).toBe(String(size));
    expect(sizeThreadPool({ UV_THREADPOOL_SIZE: '7' })).toBe(7);
  });
});
