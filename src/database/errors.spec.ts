import { QueryFailedError } from 'typeorm';
import { isTemporarilyUnavailable, isUniqueViolation, isWriteConflict, mysqlErrno } from './errors';

/** A mysql2 error as the driver raises it, and as TypeORM wraps it. */
function serverError(errno: number, code: string): { raw: Error; wrapped: QueryFailedError } {
  const raw = Object.assign(new Error(code), { errno, code, sqlState: '40001' });
  return { raw, wrapped: new QueryFailedError('UPDATE t SET x = 1', [], raw) };
}

describe('database errors', () => {
  it('reads the server error number of a mysql2 error, wrapped or not', () => {
    const { raw, wrapped } = serverError(1213, 'ER_LOCK_DEADLOCK');
    expect(mysqlErrno(raw)).toBe(1213);
    expect(mysqlErrno(wrapped)).toBe(1213);
    expect(mysqlErrno(new Error('no errno'))).toBeUndefined();
    expect(mysqlErrno(undefined)).toBeUndefined();
  });

  it.each([
    [1213, 'ER_LOCK_DEADLOCK'],
    [3101, 'ER_TRANSACTION_ROLLBACK_DURING_COMMIT'],
  ])('%i (%s) is a write conflict: rolled back, safe to run again', (errno, code) => {
    const { raw, wrapped } = serverError(errno, code);
    expect(isWriteConflict(raw)).toBe(true);
    expect(isWriteConflict(wrapped)).toBe(true);
    expect(isTemporarilyUnavailable(wrapped)).toBe(false);
  });

  it.each([
    [1047, 'ER_UNKNOWN_COM_ERROR'],
    [1180, 'ER_ERROR_DURING_COMMIT'],
    [1205, 'ER_LOCK_WAIT_TIMEOUT'],
  ])('%i (%s) is the database unavailable for now: a 503, never run again at once', (errno, code) => {
    const { wrapped } = serverError(errno, code);
    expect(isTemporarilyUnavailable(wrapped)).toBe(true);
    expect(isWriteConflict(wrapped)).toBe(false);
  });

  it('a duplicate key is neither, but a unique violation', () => {
    const { wrapped } = serverError(1062, 'ER_DUP_ENTRY');
    expect(isUniqueViolation(wrapped)).toBe(true);
    expect(isWriteConflict(wrapped)).toBe(false);
    expect(isTemporarilyUnavailable(wrapped)).toBe(false);
  });
});
