// One measured run of a scenario against a server, and what both benchmarks print around it:
// the knobs, the machine, progress lines and markdown tables.
'use strict';
const { execFileSync } = require('node:child_process');
const { cpus, loadavg } = require('node:os');
const { runLoad } = require('./load');
const { Window } = require('./server');

function number(name, fallback, { min = 0, integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a${integer ? 'n integer' : ' number'} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Every knob of both benchmarks (docs/performance.md lists them). */
function readOptions() {
  return {
    connections: number('BENCH_CONNECTIONS', 50, { min: 1, integer: true }),
    duration: number('BENCH_DURATION', 8, { min: 1 }),
    warmup: number('BENCH_WARMUP', 2, { min: 0 }),
    // 0: a free port, picked when the server starts.
    port: number('BENCH_PORT', 0, { min: 1, integer: true }),
    peerPort: number('BENCH_PEER_PORT', 0, { min: 1, integer: true }),
    rounds: number('BENCH_ROUNDS', 3, { min: 1, integer: true }),
    codes: number('BENCH_CODES', 0, { min: 0, integer: true }),
    ceilingSeconds: number('BENCH_CEILING_SECONDS', 3, { min: 0 }),
    scenarios: process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
    profileDir: process.env.BENCH_PROFILE_DIR || undefined,
    jsonFile: process.env.BENCH_JSON || undefined,
    sqlShapes: process.env.BENCH_SQL === '1',
    serverNodeArgs: [...startNodeArgs(), ...(process.env.BENCH_SERVER_NODE_ARGS ? process.env.BENCH_SERVER_NODE_ARGS.split(' ').filter(Boolean) : [])],
  };
}

/** The `node` options of `npm start` (package.json), so the benchmark runs the server as production does. */
function startNodeArgs() {
  const start = require('../../../package.json').scripts.start;
  return start.split(/\s+/).filter((word) => word.startsWith('--'));
}

function selectScenarios(all, wanted) {
  if (!wanted) return Object.keys(all);
  const unknown = wanted.filter((name) => !(name in all));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(all).join(', ')}`);
  return wanted;
}

function machine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // What is measured is the service: a change to it (not to docs or the benchmark) marks the commit.
    if (execFileSync('git', ['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json'], { encoding: 'utf8' }).trim()) commit += ' (src modified)';
  } catch {}
  return { cores: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', node: process.version, commit, loadavg: loadavg() };
}

const log = (line) => process.stderr.write(`${line}\n`);

/** On Ctrl-C, stops the servers and drops the throw-away database before exiting. */
function stopOnInterrupt(stop) {
  process.once('SIGINT', () => {
    log('interrupted: stopping the servers and dropping the database');
    Promise.resolve()
      .then(stop)
      .catch((error) => log(String(error)))
      .finally(() => process.exit(130));
  });
}

/**
 * Runs `request` for `duration` seconds (or `amount` requests) against `server` and observes the
 * server over exactly that window (and `database`, a local database server's process, see
 * localDatabaseServer). With `profileFile`, the window is CPU-profiled too.
 */
async function measure(server, { origin, connections, duration, amount, request, expectStatus, profileFile, database }) {
  const window = await Window.open(server, database);
  if (profileFile) await server.request({ cmd: 'profile-start' });
  const load = await runLoad({ url: origin, connections, duration, amount, request, expectStatus });
  window.markLoadEnd(amount ? load.seconds : undefined);
  if (profileFile) await server.request({ cmd: 'profile-stop', file: profileFile });
  return { load, server: await window.close() };
}

/** A warm-up run: same load, nothing recorded. */
async function warmUp({ origin, connections, duration, amount, request }) {
  if (!duration && !amount) return;
  await runLoad({ url: origin, connections, duration, amount, request });
}

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

function table(headers, rows, align) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (align?.[i] === 'l' ? '---' : '---:')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** "9.00 (S5 I2 U2)": statements per request, and per kind (Select, Insert, Update, Delete, Transaction control, Other). */
function statementCell(server) {
  const s = server.statements;
  const per = (n) => n / server.requests;
  const short = (x) => (x >= 0.95 && Math.abs(x - Math.round(x)) < 0.05 ? String(Math.round(x)) : x.toFixed(x < 0.1 ? 2 : 1));
  const parts = [['S', s.select], ['I', s.insert], ['U', s.update], ['D', s.delete], ['T', s.tx], ['O', s.other]]
    .filter(([, n]) => n > 0)
    .map(([letter, n]) => `${letter}${short(per(n))}`);
  return `${fixed(server.statementsPerRequest, 2)}${parts.length ? ` (${parts.join(' ')})` : ''}`;
}

/** "SELECT clients ×1, INSERT audit_events ×1": the statements of one request by shape (BENCH_SQL=1). */
function shapesCell(server) {
  if (!server.shapes) return '';
  return Object.entries(server.shapes)
    .map(([shape, n]) => [shape, n / server.requests])
    .filter(([, per]) => per >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([shape, per]) => `${shape} ×${per >= 0.95 && Math.abs(per - Math.round(per)) < 0.05 ? Math.round(per) : per.toFixed(2)}`)
    .join(', ');
}

module.exports = { shapesCell, readOptions, selectScenarios, machine, log, stopOnInterrupt, measure, warmUp, table, int, fixed, statementCell };
