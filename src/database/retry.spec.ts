import { CONFLICT_ATTEMPTS, conflictBackoffMs, conflictRetries, retryOnConflict } from './retry';

const conflict = () => Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { errno: 1213, code: 'ER_LOCK_DEADLOCK' });

describe(retryOnConflict.name, () => {
  it('runs the work again after a write conflict and returns the result of the run that succeeded', async () => {
    const before = conflictRetries.transaction;
    let runs = 0;
    const result = await retryOnConflict(async () => {
      runs++;
      if (runs < 3) throw conflict();
      return `run ${runs}`;
    });
    expect(result).toBe('run 3');
    expect(conflictRetries.transaction - before).toBe(2);
  });

  it('gives up after CONFLICT_ATTEMPTS runs with the last conflict', async () => {
    let runs = 0;
    await expect(
      retryOnConflict(async () => {
        runs++;
        throw conflict();
      }),
    ).rejects.toMatchObject({ errno: 1213 });
    expect(runs).toBe(CONFLICT_ATTEMPTS);
  });

  it('gives up after the runs it is given, when given a number', async () => {
    let runs = 0;
    await expect(
      retryOnConflict(async () => {
        runs++;
        throw conflict();
      }, 3),
    ).rejects.toMatchObject({ errno: 1213 });
    expect(runs).toBe(3);
  });

  it('never runs again after any other error', async () => {
    let runs = 0;
    await expect(
      retryOnConflict(async () => {
        runs++;
        throw Object.assign(new Error('Duplicate entry'), { errno: 1062, code: 'ER_DUP_ENTRY' });
      }),
    ).rejects.toMatchObject({ errno: 1062 });
    expect(runs).toBe(1);
  });

  it('pauses longer before each run, with jitter, and never more than 160 ms', () => {
    for (let attempt = 2; attempt <= CONFLICT_ATTEMPTS; attempt++) {
      const ceiling = Math.min(160, 5 * 2 ** (attempt - 2));
      const pause = conflictBackoffMs(attempt);
      expect(pause).toBeGreaterThanOrEqual(ceiling / 2);
      expect(pause).toBeLessThanOrEqual(ceiling);
    }
  });
});
