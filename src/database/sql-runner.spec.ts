import { DataSource } from 'typeorm';
import { read, SqlRunner, write, type AtomicFlow, type ReadStep, type WriteStep } from './sql-runner';

/** SqlRunner.atomicFlow on an in-memory SQLite database (the MySQL side runs in the e2e suites, e.g. lockout-atomic). */
describe('SqlRunner.atomicFlow (SQLite)', () => {
  let dataSource: DataSource;
  let sql: SqlRunner;

  beforeEach(async () => {
    dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE counters (id varchar(8) PRIMARY KEY NOT NULL, n integer NOT NULL)');
    await dataSource.query('CREATE TABLE events (id integer PRIMARY KEY NOT NULL, note varchar(32) NOT NULL)');
    await dataSource.query("INSERT INTO counters (id, n) VALUES ('a', 0)");
    sql = new SqlRunner(dataSource);
  });
  afterEach(() => dataSource.destroy());

  const bumpBelow = (limit: number): WriteStep => ({ sql: 'UPDATE counters SET n = n + 1 WHERE id = ? AND n + 1 < ?', params: ['a', limit] });
  const count: ReadStep<number> = { sql: 'SELECT n FROM counters WHERE id = ?', params: ['a'], read: (row) => Number(row?.n) };
  const note = (id: number, text: string): WriteStep => ({ sql: 'INSERT INTO events (id, note) VALUES (?, ?)', params: [id, text] });
  const events = async () => ((await dataSource.query('SELECT note FROM events ORDER BY id')) as { note: string }[]).map((e) => e.note);

  function* bumpAndNote(limit: number, id: number): AtomicFlow<{ changed: number; n: number }> {
    const changed = yield* write(bumpBelow(limit));
    const n = yield* read(count);
    yield* write(note(id, changed ? `counted ${n}` : 'at limit'));
    return { changed, n };
  }

  it('answers each write with the rows it changed and each read with its own writes, and commits them all', async () => {
    expect(await sql.atomicFlow(() => bumpAndNote(2, 1))).toEqual({ changed: 1, n: 1 });
    expect(await sql.atomicFlow(() => bumpAndNote(2, 2))).toEqual({ changed: 0, n: 1 });
    expect(await events()).toEqual(['counted 1', 'at limit']);
  });

  it('rolls back every write when a later one fails, and the error reaches the caller', async () => {
    await sql.atomicFlow(() => bumpAndNote(5, 1));
    // Event id 1 exists: the insert after the count fails, and the count is undone with it.
    // Matched by message, not with toThrow: better-sqlite3's native addon is loaded once per Jest
    // worker, so its SqliteError may belong to the realm of an earlier test file, and toThrow
    // takes an error from another realm for "did not throw".
    await expect(sql.atomicFlow(() => bumpAndNote(5, 1))).rejects.toHaveProperty('message', expect.stringMatching(/UNIQUE|PRIMARY/));
    expect(await sql.get<{ n: number }>('SELECT n FROM counters WHERE id = ?', ['a'])).toEqual({ n: 1 });
    expect(await events()).toEqual(['counted 1']);
  });

  it('rolls back when the flow throws, and when a write changes other than its `expect`', async () => {
    await expect(
      sql.atomicFlow(function* () {
        yield* write(bumpBelow(5));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(
      sql.atomicFlow(function* () {
        yield* write(bumpBelow(5));
        yield* write({ ...bumpBelow(0), expect: 1 });
      }),
    ).rejects.toThrow(/step 1 changed an unexpected number of rows/);
    expect(await sql.get<{ n: number }>('SELECT n FROM counters WHERE id = ?', ['a'])).toEqual({ n: 0 });
  });

  it('numbers the writes for the failure-injection seam, reads not included', async () => {
    const seen: number[] = [];
    const original = SqlRunner.prototype.executeStep;
    const spy = jest.spyOn(SqlRunner.prototype, 'executeStep').mockImplementation(function (this: SqlRunner, step, index, run) {
      seen.push(index);
      return original.call(this, step, index, run);
    });
    await sql.atomicFlow(() => bumpAndNote(5, 1));
    spy.mockRestore();
    expect(seen).toEqual([0, 1]);
  });
});
