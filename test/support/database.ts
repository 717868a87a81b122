import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';

/** Which store this Jest project runs against ("sqlite" or "mysql", set by test/support/store-*.js). */
export function testStore(): 'sqlite' | 'mysql' {
  return process.env.TEST_STORE === 'mysql' ? 'mysql' : 'sqlite';
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty database of its own for one suite, so suites run in parallel and every one of them runs
 * the migrations from scratch: a temporary SQLite file, or a new database on the MariaDB/MySQL
 * server of TEST_DATABASE_URL.
 */
export async function createTestDatabase(options: { mysqlCharset?: string } = {}): Promise<TestDatabase> {
  const name = `gh_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (testStore() === 'sqlite') {
    const file = join(tmpdir(), `${name}.sqlite`);
    return {
      url: `sqlite:${file}`,
      drop: async () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      },
    };
  }
  const server = new URL(process.env.TEST_DATABASE_URL!);
  const admin = async () =>
    createConnection({
      host: server.hostname,
      port: Number(server.port || 3306),
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
    });
  const connection = await admin();
  // utf8mb4 unless a test asks for another default (as an operator's plain CREATE DATABASE may give).
  const charset = options.mysqlCharset ?? 'utf8mb4 COLLATE utf8mb4_unicode_ci';
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET ${charset}`);
  await connection.end();
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      const c = await admin();
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
