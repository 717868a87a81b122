// Preloaded into a server under benchmark (`node -r ./server-probe.js`), never into production: it
// counts the database statements the process executes and the HTTP requests it receives, and starts
// and stops the V8 CPU profiler, answering the benchmark over the IPC channel it was spawned with.
//
// Statements are counted where they leave the process: every execution of a better-sqlite3
// statement (run/get/all/iterate, and Database#exec) and every mysql2 query()/execute() call,
// whatever issues them (TypeORM or hand-written SQL). Only the driver of DATABASE_URL is loaded, so
// the probe adds no module the server would not load itself. Transaction control (BEGIN, COMMIT,
// SAVEPOINT...) is counted separately from SELECT/INSERT/UPDATE/DELETE.
'use strict';
const diagnostics = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');

const counts = { select: 0, insert: 0, update: 0, delete: 0, tx: 0, other: 0 };
// With BENCH_PROBE_SQL=1, statements are also counted by shape ("SELECT clients", "UPDATE users SET
// failed_login_count"): off by default, as it costs a few regular expressions per statement.
const byShape = process.env.BENCH_PROBE_SQL === '1' ? new Map() : undefined;
let requests = 0;
let responses = 0;

const VERBS = { SELECT: 'select', WITH: 'select', INSERT: 'insert', REPLACE: 'insert', UPDATE: 'update', DELETE: 'delete' };
const TX = new Set(['BEGIN', 'COMMIT', 'ROLLBACK', 'START', 'SAVEPOINT', 'RELEASE']);

function textOf(sql) {
  return typeof sql === 'string' ? sql : String(sql?.sql ?? '');
}

function kindOf(sql) {
  const verb = /^\s*(\w+)/.exec(textOf(sql))?.[1]?.toUpperCase() ?? '';
  return VERBS[verb] ?? (TX.has(verb) ? 'tx' : 'other');
}

const NAME = '[`"]?(\\w+)[`"]?';
function shapeOf(sql) {
  const text = textOf(sql).replace(/\s+/g, ' ').trim();
  const verb = (/^(\w+)/.exec(text)?.[1] ?? '').toUpperCase();
  if (verb === 'SELECT' || verb === 'WITH') {
    const tables = [...new Set([...text.matchAll(new RegExp(`\\b(?:FROM|JOIN) ${NAME}`, 'gi'))].map((m) => m[1]))];
    return `SELECT ${tables.join(' + ') || text.slice(7, 40)}`;
  }
  if (verb === 'INSERT' || verb === 'REPLACE') return `${verb} ${new RegExp(`INTO ${NAME}`, 'i').exec(text)?.[1] ?? '?'}`;
  if (verb === 'DELETE') return `DELETE ${new RegExp(`FROM ${NAME}`, 'i').exec(text)?.[1] ?? '?'}`;
  if (verb === 'UPDATE') {
    const match = new RegExp(`^UPDATE ${NAME} SET (.*?)(?: WHERE |$)`, 'i').exec(text);
    const columns = match ? [...match[2].matchAll(new RegExp(`${NAME} ?=`, 'g'))].map((m) => m[1]) : [];
    return `UPDATE ${match?.[1] ?? '?'} SET ${columns.join(', ')}`;
  }
  return text.slice(0, 40);
}

function count(kind, shape) {
  counts[kind]++;
  if (byShape) byShape.set(shape, (byShape.get(shape) ?? 0) + 1);
}

function wrapSqlite() {
  const Database = require('better-sqlite3');
  // Classified once, when prepared, from the SQL string in hand (reading Statement#source back
  // copies it out of SQLite on every execution).
  const kinds = new WeakMap();
  const shapes = new WeakMap();
  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function classifiedPrepare(sql, ...rest) {
    const statement = prepare.call(this, sql, ...rest);
    kinds.set(statement, kindOf(sql));
    if (byShape) shapes.set(statement, shapeOf(sql));
    return statement;
  };
  const probe = new Database(':memory:');
  const Statement = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = Statement[method];
    Statement[method] = function countedStatement() {
      const kind = kinds.get(this);
      if (kind) count(kind, byShape && shapes.get(this));
      else count(kindOf(this.source), byShape && shapeOf(this.source));
      // `arguments`, not a rest parameter: no array is built on this path.
      return original.apply(this, arguments);
    };
  }
  const exec = Database.prototype.exec;
  Database.prototype.exec = function countedExec(sql) {
    count(kindOf(sql), byShape && shapeOf(sql));
    return exec.call(this, sql);
  };
}

function wrapMysql() {
  // Pool#query and Pool#execute hand over to a connection's, so only the connection's are counted
  // (defined on the base class that Connection and PoolConnection extend).
  const { Connection } = require('mysql2');
  let base = Connection.prototype;
  while (!Object.prototype.hasOwnProperty.call(base, 'query')) base = Object.getPrototypeOf(base);
  for (const method of ['query', 'execute']) {
    const original = base[method];
    base[method] = function countedQuery(sql, ...rest) {
      count(kindOf(sql), byShape && shapeOf(sql));
      return original.call(this, sql, ...rest);
    };
  }
}

const url = process.env.DATABASE_URL ?? '';
if (url.startsWith('sqlite:')) wrapSqlite();
else if (/^(mysql|mariadb):/.test(url)) wrapMysql();

// Requests are counted as they arrive: a request the load generator abandoned at the end of a run
// still costs its statements, but its response may never finish on the closed socket.
diagnostics.subscribe('http.server.request.start', () => {
  requests++;
});
diagnostics.subscribe('http.server.response.finish', () => {
  responses++;
});

let session;
function post(method, params = {}) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

async function handle(message) {
  switch (message.cmd) {
    case 'stats':
      return { statements: { ...counts }, shapes: byShape ? Object.fromEntries(byShape) : undefined, requests, responses };
    case 'profile-start': {
      const inspector = require('node:inspector');
      session = new inspector.Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: message.intervalUs ?? 1000 });
      await post('Profiler.start');
      return {};
    }
    case 'profile-stop': {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(message.file, JSON.stringify(profile));
      return { file: message.file };
    }
    default:
      throw new Error(`unknown probe command ${message.cmd}`);
  }
}

if (process.send) {
  process.on('message', (message) => {
    if (!message || message.bench !== true || message.target !== 'probe') return;
    handle(message).then(
      (result) => process.send({ bench: true, id: message.id, result }),
      (error) => process.send({ bench: true, id: message.id, error: String(error?.stack ?? error) }),
    );
  });
  // The channel must not keep a server alive that is shutting down, and a server whose benchmark
  // has gone (crashed, interrupted) shuts down rather than keep its port.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
