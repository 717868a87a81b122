import type { DataSource, EntityManager } from 'typeorm';
import { isWriteConflict } from './errors';

/**
 * How often a unit of work that lost a write conflict is run again. Each run after the first waits
 * a little longer (with jitter, so that the losers of one race do not collide again), about half a
 * second in all: on a cluster the winner's write has long been applied on every node by then.
 */
export const CONFLICT_ATTEMPTS = 8;

/** The pause before run `attempt` (2, 3, ...): 5, 10, 20 ... ms, capped at 160 ms, each between half and all of that. */
export function conflictBackoffMs(attempt: number): number {
  const ceiling = Math.min(160, 5 * 2 ** (attempt - 2));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Counts, for the metrics endpoint, the runs repeated after a write conflict, by where they were repeated. */
export const conflictRetries = { statement: 0, transaction: 0 };

/**
 * Runs `work`, and runs it again when it fails with a write conflict (deadlock, cluster
 * certification failure; see isWriteConflict), up to `attempts` (CONFLICT_ATTEMPTS) runs in all. Every
 * run must be a whole unit that the database rolled back entirely when it failed: a transaction, or
 * one autocommit statement. Decisions (an UPDATE's affected rows) are taken from the run that
 * succeeded, never from a failed one, even if its statements had reported rows before the failure.
 */
export async function retryOnConflict<T>(work: () => Promise<T>, attempts = CONFLICT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isWriteConflict(error) || attempt >= attempts) throw error;
      conflictRetries.transaction++;
      await new Promise((resolve) => setTimeout(resolve, conflictBackoffMs(attempt + 1)));
    }
  }
}

/**
 * Runs `work` in a transaction and returns its result once COMMIT has succeeded. A transaction that
 * loses a write conflict, at any statement or at COMMIT (which is where a Galera node reports that
 * another node won), is rolled back and run again from the start, so `work` must only read and
 * write through `manager` and must not have effects outside the database before it returns.
 */
export function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return retryOnConflict(() => dataSource.transaction(work));
}
