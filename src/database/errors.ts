/** True when an INSERT or UPDATE failed on a primary key or unique index, on MySQL or SQLite. */
export function isUniqueViolation(error: unknown): boolean {
  const err = error as { code?: string; driverError?: { code?: string } } | undefined;
  const code = err?.driverError?.code ?? err?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** MySQL/MariaDB server error numbers that mean something to the database layer. */
export const MYSQL_ERRNO = {
  /** "WSREP has not yet prepared node for application use": a Galera node outside the primary component, or still joining. */
  UNKNOWN_COM_ERROR: 1047,
  /** "Got error N during COMMIT": whether the transaction committed is not known. */
  ERROR_DURING_COMMIT: 1180,
  UNKNOWN_SYSTEM_VARIABLE: 1193,
  /** The statement waited innodb_lock_wait_timeout for a row lock and was rolled back (the statement only). */
  LOCK_WAIT_TIMEOUT: 1205,
  /** A deadlock on one server; on Galera also a certification failure or a brute-force abort. The transaction was rolled back. */
  LOCK_DEADLOCK: 1213,
  /** MySQL Group Replication: the transaction lost certification and was rolled back at COMMIT. */
  TRANSACTION_ROLLBACK_DURING_COMMIT: 3101,
} as const;

/** The server's error number of a mysql2 error, or of the driver error a TypeORM QueryFailedError wraps. */
export function mysqlErrno(error: unknown): number | undefined {
  const err = error as { errno?: unknown; driverError?: { errno?: unknown } } | undefined;
  const errno = err?.driverError?.errno ?? err?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

const CONFLICTS: ReadonlySet<number> = new Set([MYSQL_ERRNO.LOCK_DEADLOCK, MYSQL_ERRNO.TRANSACTION_ROLLBACK_DURING_COMMIT]);
const UNAVAILABLE: ReadonlySet<number> = new Set([MYSQL_ERRNO.UNKNOWN_COM_ERROR, MYSQL_ERRNO.ERROR_DURING_COMMIT, MYSQL_ERRNO.LOCK_WAIT_TIMEOUT]);

/**
 * True when the statement or transaction lost a conflict with another one and the server rolled
 * it back, so that nothing of it happened and running it again is safe: a deadlock on one server,
 * and on a multi-primary cluster (Galera, Group Replication) a write that another node committed
 * first. On Galera this can come at COMMIT after the statement itself had reported its affected
 * rows: those rows were never written.
 */
export function isWriteConflict(error: unknown): boolean {
  const errno = mysqlErrno(error);
  return errno !== undefined && CONFLICTS.has(errno);
}

/**
 * True when the database cannot answer now, and running the statement again at once would not
 * help: a Galera node outside the primary component or still joining (1047), a COMMIT whose outcome
 * is unknown (1180), a lock wait or, on Galera, a causal read (wsrep_sync_wait) that timed out
 * (1205; also what a node that has just lost the primary component answers). The client gets a 503.
 */
export function isTemporarilyUnavailable(error: unknown): boolean {
  const errno = mysqlErrno(error);
  return errno !== undefined && UNAVAILABLE.has(errno);
}
