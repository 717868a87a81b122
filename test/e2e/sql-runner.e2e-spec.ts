import { SqlRunner } from '../../src/database/sql-runner';
import { startApp } from '../support/app';

/**
 * SqlRunner's atomic units against the real store (docs/decisions.md, "Database side of refresh,
 * code, introspection"): a unit whose first step decides (expect 1) writes its other steps only
 * when that step changed its row, a failing statement undoes the whole unit, and on MySQL/MariaDB
 * such a unit is one round trip (one multi-statement text on one connection).
 */
describe('SqlRunner atomic units', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let sql: SqlRunner;
  let n = 0;
  // Expiry instants far ahead, so that the purge never takes these rows: FAR + a small number.
  const FAR = Date.now() + 365 * 86400_000;
  const key = (label: string) => `${label}-${process.pid}-${++n}`.padEnd(64, 'x').slice(0, 64);

  beforeAll(async () => {
    t = await startApp();
    sql = t.app.get(SqlRunner);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const insert = (keyHash: string, expiresAt: number) => ({ sql: 'INSERT INTO used_jtis (key_hash, expires_at) VALUES (?, ?)', params: [keyHash, FAR + expiresAt] });
  const decide = (keyHash: string, from: number, to: number) => ({ sql: 'UPDATE used_jtis SET expires_at = ? WHERE key_hash = ? AND expires_at = ?', params: [FAR + to, keyHash, FAR + from], expect: 1 });
  async function expiry(keyHash: string): Promise<number | undefined> {
    const [row] = await t.db.query('SELECT expires_at FROM used_jtis WHERE key_hash = ?', [keyHash]);
    return row ? Number(row.expires_at) - FAR : undefined;
  }

  it('writes the steps after the deciding one only when it changed its row', async () => {
    const decider = key('decider');
    await sql.run(insert(decider, 1).sql, insert(decider, 1).params);
    const first = key('first');
    const won = await sql.atomic([decide(decider, 1, 2), insert(first, 7), { sql: 'UPDATE used_jtis SET expires_at = ? WHERE key_hash = ?', params: [FAR + 8, first] }]);
    expect(won).toEqual({ committed: true, changes: [1, 1, 1] });
    expect(await expiry(decider)).toBe(2);
    expect(await expiry(first)).toBe(8);

    const second = key('second');
    const lost = await sql.atomic([decide(decider, 1, 3), insert(second, 7), { sql: 'UPDATE used_jtis SET expires_at = ? WHERE key_hash = ?', params: [FAR + 9, first] }]);
    expect(lost).toEqual({ committed: false, failedStep: 0 });
    expect(await expiry(decider)).toBe(2);
    expect(await expiry(second)).toBeUndefined();
    expect(await expiry(first)).toBe(8);
  });

  it('a statement that fails undoes the whole unit, the deciding write included', async () => {
    const decider = key('decider');
    const taken = key('taken');
    await sql.run(insert(decider, 1).sql, insert(decider, 1).params);
    await sql.run(insert(taken, 1).sql, insert(taken, 1).params);
    const fresh = key('fresh');
    // The duplicate key fails the last statement (compared by message: the driver's error class is not the test realm's Error).
    const outcome = await sql.atomic([decide(decider, 1, 2), insert(fresh, 5), insert(taken, 5)]).then(
      (result) => ({ result }),
      (error: { message?: unknown }) => ({ failed: String(error?.message) }),
    );
    expect(outcome).toEqual({ failed: expect.stringMatching(/UNIQUE constraint failed|Duplicate entry/) });
    expect(await expiry(decider)).toBe(1);
    expect(await expiry(fresh)).toBeUndefined();
    // The connection is usable afterwards, outside any transaction.
    expect((await sql.atomic([decide(decider, 1, 2), insert(fresh, 5)])).committed).toBe(true);
    expect(await expiry(fresh)).toBe(5);
  });

  it('values that need escaping are stored exactly', async () => {
    const decider = key('decider');
    await sql.run(insert(decider, 1).sql, insert(decider, 1).params);
    const awkward = `q'"\\;--${key('')}`.slice(0, 64);
    expect((await sql.atomic([decide(decider, 1, 2), insert(awkward, 6)])).committed).toBe(true);
    expect(await expiry(awkward)).toBe(6);
  });

  it('on MySQL/MariaDB a unit is one round trip (on SQLite it uses no pooled connection at all)', async () => {
    const driver = t.db.driver as unknown as { obtainMasterConnection(): Promise<Record<'query' | 'execute', (...args: unknown[]) => unknown>> };
    const obtain = driver.obtainMasterConnection.bind(driver);
    const calls: string[] = [];
    const watched = new WeakSet<object>();
    jest.spyOn(driver, 'obtainMasterConnection').mockImplementation(async () => {
      const connection = await obtain();
      if (watched.has(connection)) return connection;
      watched.add(connection);
      for (const method of ['query', 'execute'] as const) {
        const original = connection[method];
        jest.spyOn(connection, method).mockImplementation((...args: unknown[]) => {
          calls.push(method);
          return original.apply(connection, args);
        });
      }
      return connection;
    });
    const decider = key('decider');
    await sql.run(insert(decider, 1).sql, insert(decider, 1).params);
    calls.length = 0;
    expect((await sql.atomic([decide(decider, 1, 2), insert(key('one'), 5), insert(key('two'), 5)])).committed).toBe(true);
    expect(calls).toEqual(sql.dialect === 'mysql' ? ['query'] : []);
  });
});
