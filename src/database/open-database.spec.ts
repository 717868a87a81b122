import { dataSourceOptions } from './data-source-options';
import { DatabaseUnusableError, describeDatabaseError } from './open-database';

const mysql = dataSourceOptions('mysql://gh:s3cret@db.internal:3307/gatehouse');
const sqlite = dataSourceOptions('sqlite:/var/lib/gatehouse/gh.sqlite');
const driverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe(describeDatabaseError.name, () => {
  it.each<[string, string, string]>([
    ['ER_BAD_DB_ERROR', "Unknown database 'gatehouse'", 'names database "gatehouse", which does not exist on db.internal:3307: create it with CREATE DATABASE `gatehouse` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'],
    [
      'ER_ACCESS_DENIED_ERROR',
      "Access denied for user 'gh'@'10.0.0.7' (using password: YES)",
      "user \"gh\" was refused by db.internal:3307 (Access denied for user 'gh'@'10.0.0.7' (using password: YES)): check the user and password in DATABASE_URL (percent-encode special characters), and that the user may use the database: GRANT ALL PRIVILEGES ON `gatehouse`.* TO 'gh'@'%'",
    ],
    ['ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:3307', 'points at db.internal:3307, where nothing accepts connections: start MariaDB/MySQL there, or correct the host and port in DATABASE_URL'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal', 'names host "db.internal", which does not resolve: correct the host in DATABASE_URL'],
    ['ETIMEDOUT', 'connect ETIMEDOUT', 'points at db.internal:3307, which does not answer (ETIMEDOUT): check the host, the port and any firewall between here and the database'],
  ])('MySQL %s', (code, message, description) => {
    expect(describeDatabaseError(driverError(code, message), mysql)).toBe(description);
  });

  it('reads the driver error inside a TypeORM QueryFailedError', () => {
    const wrapped = Object.assign(new Error('query failed'), { driverError: driverError('ER_TABLEACCESS_DENIED_ERROR', "CREATE command denied to user 'gh'@'%' for table 'migrations'") });
    expect(describeDatabaseError(wrapped, mysql)).toMatch(/^user "gh" was refused by db.internal:3307 \(CREATE command denied/);
  });

  it.each<[string, string, RegExp]>([
    ['EEXIST', "EEXIST: file already exists, mkdir '/var/lib/gatehouse'", /^names the SQLite file "\/var\/lib\/gatehouse\/gh.sqlite", which cannot be opened for writing \(EEXIST: /],
    ['SQLITE_CANTOPEN', 'unable to open database file', /which cannot be opened for writing \(unable to open database file\): point DATABASE_URL at a writable location/],
    ['SQLITE_NOTADB', 'file is not a database', /^names "\/var\/lib\/gatehouse\/gh.sqlite", which is not a usable SQLite database \(file is not a database\)/],
  ])('SQLite %s', (code, message, description) => {
    expect(describeDatabaseError(driverError(code, message), sqlite)).toMatch(description);
  });

  it('leaves errors it cannot explain to the caller, and never shows the password or a second line', () => {
    expect(describeDatabaseError(driverError('ER_PARSE_ERROR', 'You have an error in your SQL syntax'), mysql)).toBeUndefined();
    expect(describeDatabaseError(new Error('no code'), sqlite)).toBeUndefined();
    expect(describeDatabaseError(undefined, sqlite)).toBeUndefined();
    const multiLine = describeDatabaseError(driverError('ER_ACCESS_DENIED_ERROR', 'denied\n    at Socket (net.js:1:1)'), mysql)!;
    expect(multiLine).not.toContain('\n');
    expect(multiLine).not.toContain('s3cret');
  });

  it('makes the one-line message main.ts prints', () => {
    expect(new DatabaseUnusableError('names database "x", which does not exist').message).toBe('Database unusable: DATABASE_URL names database "x", which does not exist');
  });
});
