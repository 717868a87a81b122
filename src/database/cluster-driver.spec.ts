import { CONFLICT_ATTEMPTS, conflictRetries } from './retry';
import { prepareConnection, StatementTimeoutError } from './cluster-driver';

type Done = (error: Error | null, result?: unknown) => void;
const conflict = () => Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { errno: 1213, code: 'ER_LOCK_DEADLOCK' });

/** A mysql2 connection whose statements fail with the errors scripted for their SQL, in turn, and then succeed. */
function fakeConnection(script: Record<string, Error[]> = {}) {
  const log: string[] = [];
  const answer = (sql: unknown, values: unknown, callback?: unknown) => {
    const text = typeof sql === 'string' ? sql : (sql as { sql: string }).sql;
    const done = (typeof values === 'function' ? values : callback) as Done;
    log.push(text);
    const error = script[text]?.shift() ?? null;
    setImmediate(() => done(error, error ? undefined : { affectedRows: 1 }));
  };
  return { log, connection: { query: answer, execute: answer } };
}

function run(connection: { query: (...args: unknown[]) => unknown }, sql: string, values: unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => connection.query(sql, values, (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result))));
}

describe(prepareConnection.name, () => {
  it('sets wsrep_sync_wait before anything else runs on the connection, unless told to leave the server\'s', () => {
    const { log, connection } = fakeConnection();
    prepareConnection(connection, { wsrepSyncWait: 3 });
    expect(log).toEqual(['SET SESSION wsrep_sync_wait = 3']);
    const other = fakeConnection();
    prepareConnection(other.connection, { wsrepSyncWait: null });
    expect(other.log).toEqual([]);
  });

  it('runs an autocommit statement that lost a write conflict again, and answers with the run that succeeded', async () => {
    const update = 'UPDATE codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL';
    const { log, connection } = fakeConnection({ [update]: [conflict(), conflict()] });
    prepareConnection(connection, { wsrepSyncWait: null });
    const before = conflictRetries.statement;
    await expect(run(connection, update, [1, 'h'])).resolves.toEqual({ affectedRows: 1 });
    expect(log).toEqual([update, update, update]);
    expect(conflictRetries.statement - before).toBe(2);
  });

  it('does the same for prepared statements (execute) and for the (sql, callback) form', async () => {
    const insert = 'INSERT INTO used_jtis (key_hash, expires_at) VALUES (?, ?)';
    const { log, connection } = fakeConnection({ [insert]: [conflict()] });
    prepareConnection(connection, { wsrepSyncWait: null });
    await new Promise<void>((resolve, reject) => connection.execute(insert, ['k', 1], (error: Error | null) => (error ? reject(error) : resolve())));
    await new Promise<void>((resolve, reject) => connection.query('SELECT 1', (error: Error | null) => (error ? reject(error) : resolve())));
    expect(log).toEqual([insert, insert, 'SELECT 1']);
  });

  it('gives up after CONFLICT_ATTEMPTS runs, and never runs a statement again after another error', async () => {
    const update = 'UPDATE users SET failed_login_count = failed_login_count + 1 WHERE id = ?';
    const { log, connection } = fakeConnection({
      [update]: Array.from({ length: CONFLICT_ATTEMPTS + 1 }, conflict),
      'INSERT INTO users (id) VALUES (?)': [Object.assign(new Error('Duplicate entry'), { errno: 1062 })],
    });
    prepareConnection(connection, { wsrepSyncWait: null });
    await expect(run(connection, update, ['u'])).rejects.toMatchObject({ errno: 1213 });
    expect(log.filter((sql) => sql === update)).toHaveLength(CONFLICT_ATTEMPTS);
    await expect(run(connection, 'INSERT INTO users (id) VALUES (?)', ['u'])).rejects.toMatchObject({ errno: 1062 });
    expect(log.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(1);
  });

  it('never runs a statement of a transaction again, nor its COMMIT: the whole transaction was rolled back', async () => {
    const update = 'UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL';
    const { log, connection } = fakeConnection({ [update]: [conflict()], COMMIT: [conflict()] });
    prepareConnection(connection, { wsrepSyncWait: null });

    await run(connection, 'START TRANSACTION');
    await expect(run(connection, update, [1, 'h'])).rejects.toMatchObject({ errno: 1213 });
    await run(connection, 'ROLLBACK');
    await run(connection, 'START TRANSACTION');
    await run(connection, update, [1, 'h']);
    await expect(run(connection, 'COMMIT')).rejects.toMatchObject({ errno: 1213 });
    expect(log).toEqual(['START TRANSACTION', update, 'ROLLBACK', 'START TRANSACTION', update, 'COMMIT']);

    // Back in autocommit, a conflict is run again.
    const after = fakeConnection({ [update]: [conflict()] });
    prepareConnection(after.connection, { wsrepSyncWait: null });
    await run(after.connection, 'BEGIN');
    await run(after.connection, 'COMMIT');
    await run(after.connection, update, [1, 'h']);
    expect(after.log).toEqual(['BEGIN', 'COMMIT', update, update]);
  });

  it('treats SET autocommit = 0 as the start of a transaction', async () => {
    const update = 'UPDATE policy SET lockout_threshold = 3 WHERE id = 1';
    const { log, connection } = fakeConnection({ [update]: [conflict()] });
    prepareConnection(connection, { wsrepSyncWait: null });
    await run(connection, 'SET autocommit = 0');
    await expect(run(connection, update)).rejects.toMatchObject({ errno: 1213 });
    expect(log).toEqual(['SET autocommit = 0', update]);
  });

  it('leaves no transaction open after a multi-statement text that commits its own (SqlRunner\'s one-round-trip unit), nor runs that text again', async () => {
    const unit = "START TRANSACTION;\nUPDATE refresh_tokens SET rotated_at = 1 WHERE token_hash = 'h' AND rotated_at IS NULL;\nCOMMIT";
    const update = 'UPDATE users SET failed_login_count = 0 WHERE id = ?';
    const { log, connection } = fakeConnection({ [unit]: [conflict()], [update]: [conflict()] });
    prepareConnection(connection, { wsrepSyncWait: null });
    await expect(run(connection, unit)).rejects.toMatchObject({ errno: 1213 });
    await run(connection, unit);
    // Back in autocommit: a statement that lost a conflict is run again.
    await run(connection, update, ['u']);
    expect(log).toEqual([unit, unit, update, update]);
  });

  describe('statement timeout', () => {
    /** A connection whose statements are answered only when the test says so (a frozen server). */
    function frozenConnection() {
      const pending: Done[] = [];
      const answer = (_sql: unknown, values: unknown, callback?: unknown) => {
        pending.push((typeof values === 'function' ? values : callback) as Done);
      };
      const closed = { connection: 0, socket: 0 };
      const connection = {
        query: answer,
        execute: answer,
        destroy: () => closed.connection++,
        stream: { destroy: () => closed.socket++ },
      };
      return { pending, closed, connection };
    }

    afterEach(() => jest.useRealTimers());

    it('fails a statement the server does not answer in time, closes its connection, and ignores the late answer', async () => {
      jest.useFakeTimers();
      const { pending, closed, connection } = frozenConnection();
      prepareConnection(connection, { wsrepSyncWait: null }, { statementTimeoutMs: 1000 });
      const outcome = run(connection, 'SELECT 1').then(
        () => 'answered',
        (error: unknown) => error,
      );
      jest.advanceTimersByTime(999);
      expect(closed).toEqual({ connection: 0, socket: 0 });
      jest.advanceTimersByTime(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(StatementTimeoutError);
      expect(error).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
      expect(closed).toEqual({ connection: 1, socket: 1 });
      // The answer that comes after all reaches no one.
      expect(() => pending[0](null, [{ 1: 1 }])).not.toThrow();
    });

    it('leaves a statement answered in time alone, with no timer left behind, and applies to execute and the (sql, callback) form', async () => {
      jest.useFakeTimers();
      const { pending, closed, connection } = frozenConnection();
      prepareConnection(connection, { wsrepSyncWait: null }, { statementTimeoutMs: 1000 });
      const answered = run(connection, 'SELECT 1');
      pending[0](null, 'rows');
      await expect(answered).resolves.toBe('rows');
      expect(jest.getTimerCount()).toBe(0);

      const executed = new Promise((resolve, reject) => connection.execute('SELECT ?', [1], (error: Error | null) => (error ? resolve(error) : reject(new Error('answered')))));
      const queried = new Promise((resolve, reject) => connection.query('COMMIT', (error: Error | null) => (error ? resolve(error) : reject(new Error('answered')))));
      jest.advanceTimersByTime(1000);
      await expect(executed).resolves.toBeInstanceOf(StatementTimeoutError);
      await expect(queried).resolves.toBeInstanceOf(StatementTimeoutError);
      expect(closed.connection).toBeGreaterThan(0);
    });

    it('is off at 0 and read at each statement (openDatabase sets it after the migrations)', () => {
      jest.useFakeTimers();
      const { closed, connection } = frozenConnection();
      const options = { statementTimeoutMs: 0 };
      prepareConnection(connection, { wsrepSyncWait: null }, options);
      connection.query('ALTER TABLE users ADD COLUMN x INT', () => undefined);
      expect(jest.getTimerCount()).toBe(0);
      options.statementTimeoutMs = 50;
      connection.query('SELECT 1', () => undefined);
      jest.advanceTimersByTime(50);
      expect(closed.connection).toBe(1);
    });
  });
});
