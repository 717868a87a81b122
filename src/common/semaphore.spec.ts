import { Semaphore } from './semaphore';

/** A task that runs until its `finish` or `fail` is called. */
function deferred<T>() {
  let finish!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe(Semaphore.name, () => {
  it('runs at most `limit` tasks at once; the others wait', async () => {
    const semaphore = new Semaphore(2);
    const tasks = [0, 1, 2, 3].map(() => deferred<void>());
    const started: number[] = [];
    const runs = tasks.map((task, i) =>
      semaphore.run(() => {
        started.push(i);
        return task.promise;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect([semaphore.active, semaphore.queued]).toEqual([2, 2]);
    tasks[1].finish();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect([semaphore.active, semaphore.queued]).toEqual([2, 1]);
    tasks.forEach((task) => task.finish());
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3]);
    expect([semaphore.active, semaphore.queued]).toEqual([0, 0]);
  });

  it('starts waiting tasks in arrival order, and a freed slot goes to the oldest waiter, not to a newcomer', async () => {
    const semaphore = new Semaphore(1);
    const first = deferred<void>();
    const started: string[] = [];
    const run = (name: string, task: () => Promise<void> = async () => {}) =>
      semaphore.run(() => {
        started.push(name);
        return task();
      });
    const runs = [run('first', () => first.promise), run('a'), run('b'), run('c')];
    await settle();
    first.finish();
    // Arrives in the same turn as the slot is freed: it queues behind a, b and c.
    runs.push(run('late'));
    await Promise.all(runs);
    expect(started).toEqual(['first', 'a', 'b', 'c', 'late']);
  });

  it('answers each task its own outcome', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(async () => 42)).resolves.toBe(42);
    await expect(semaphore.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
  });

  it('releases the slot when a task rejects or throws synchronously', async () => {
    const semaphore = new Semaphore(1);
    const failing = deferred<void>();
    const rejected = semaphore.run(() => failing.promise);
    const thrown = semaphore.run(() => {
      throw new Error('sync');
    });
    const after = semaphore.run(async () => 'ran');
    failing.fail(new Error('async'));
    await expect(rejected).rejects.toThrow('async');
    await expect(thrown).rejects.toThrow('sync');
    await expect(after).resolves.toBe('ran');
    expect([semaphore.active, semaphore.queued]).toEqual([0, 0]);
  });

  it('refuses a limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, NaN]) expect(() => new Semaphore(limit)).toThrow(RangeError);
  });
});
