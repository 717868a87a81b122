import { SqlRunner, type WriteStep } from '../../src/database/sql-runner';

/**
 * Failure injection for the atomic units of SqlRunner (atomic, atomicFlow): makes the write at
 * position `failAt` of the next unit fail as a lost connection does, once, through the seams
 * executeStep (SQLite) and executeStepAsync (MySQL). Returns the SQL text of every write the units
 * ran (or tried) meanwhile, and whether the failure was injected. Undo with jest.restoreAllMocks().
 */
export function failWriteOnce(failAt: number): { injected: () => boolean; writes: string[] } {
  let injected = false;
  const writes: string[] = [];
  const outage = () => Object.assign(new Error('injected: connection lost'), { code: 'ECONNRESET' });
  const shouldFail = (index: number) => {
    if (injected || index !== failAt) return false;
    injected = true;
    return true;
  };
  const sync = SqlRunner.prototype.executeStep;
  jest.spyOn(SqlRunner.prototype, 'executeStep').mockImplementation(function (this: SqlRunner, step: WriteStep, index: number, run: (s: WriteStep) => number) {
    writes.push(step.sql);
    if (shouldFail(index)) throw outage();
    return sync.call(this, step, index, run);
  });
  const async = SqlRunner.prototype.executeStepAsync;
  jest.spyOn(SqlRunner.prototype, 'executeStepAsync').mockImplementation(async function (this: SqlRunner, step: WriteStep, index: number, run: (s: WriteStep) => Promise<number>) {
    writes.push(step.sql);
    if (shouldFail(index)) throw outage();
    return async.call(this, step, index, run);
  });
  return { injected: () => injected, writes };
}
