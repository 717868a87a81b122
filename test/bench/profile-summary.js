// Summarises a V8 CPU profile (.cpuprofile, from the benchmark's BENCH_PROFILE_DIR or from
// `node --cpu-prof`) as markdown tables:
// - self time by module: npm package, Gatehouse source folder (dist/<folder>), Node.js core, GC.
//   Native functions (no script of their own) are charged to the module that called them, and the
//   SQLite calls of better-sqlite3 (statement execution and compilation) are shown as their own row;
// - inclusive time of Gatehouse's own functions: what each step of a request costs with everything
//   it calls (the client lookup, the audit insert, signing...);
// - the heaviest functions by self time.
// It covers the main thread only: work on the libuv thread pool (RSA signing in WebCrypto, argon2)
// shows in the server's CPU columns, not here. The benchmark's own probe (the statement counter
// wrapped around the database driver) has a row of its own, so its cost is in plain sight.
//
// Usage: node test/bench/profile-summary.js <file.cpuprofile> [top=15] [requests] [main-thread µs per request]
'use strict';
const { readFileSync } = require('node:fs');

const PROBE = /test\/bench\/lib\/server-probe\.js$/;

function scriptModule(url) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/(?:src\/)?([^/]+)\//.exec(url) ?? /\/dist\/(?:src\/)?([^/]+)\.js$/.exec(url);
  if (own) return `gatehouse: ${own[1]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).replace(/^internal\/(deps\/)?/, '').split('/')[0].replace(/\.js$/, '')}`;
  return url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
}

function shortUrl(url) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+\/.*)$/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(dist\/.*)$/.exec(url);
  return own ? own[1] : url.replace(/^file:\/\//, '');
}

function analyse(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const isProbe = (node) => PROBE.test(node.callFrame.url);

  /** The module a node's self time is charged to. */
  const moduleOf = new Map();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    let mod;
    if (functionName === '(garbage collector)') mod = 'GC';
    else if (functionName === '(program)') mod = '(program: V8/native, outside JS)';
    else if (functionName === '(idle)' || functionName === '(root)') mod = '(idle)';
    else if (isProbe(node)) mod = 'benchmark probe (statement counter)';
    else if (url) mod = scriptModule(url);
    else {
      // Native (or probe) frame: charge it to the nearest caller with a script of its own.
      let up = parent.get(node.id);
      while (up !== undefined && (!byId.get(up).callFrame.url || isProbe(byId.get(up)))) up = parent.get(up);
      const caller = up === undefined ? undefined : scriptModule(byId.get(up).callFrame.url);
      const callerUrl = up === undefined ? '' : byId.get(up).callFrame.url;
      if (caller === 'better-sqlite3' || /typeorm\/driver\/better-sqlite3\//.test(callerUrl)) mod = 'better-sqlite3: SQLite (native)';
      else mod = caller ? `native, called from ${caller}` : '(native / V8 builtins)';
    }
    moduleOf.set(node.id, mod);
  }

  const self = new Map();
  const inclusive = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i + 1] is the time from this sample to the next: charge it to this one.
    const ms = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000;
    const id = samples[i];
    if (moduleOf.get(id) === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    self.set(id, (self.get(id) ?? 0) + ms);
    const seen = new Set();
    for (let up = id; up !== undefined; up = parent.get(up)) {
      const { url, functionName, lineNumber } = byId.get(up).callFrame;
      if (!/\/dist\//.test(url) || !/gatehouse/.test(moduleOf.get(up))) continue;
      const key = `${functionName}|${url}|${lineNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { name: functionName || '(anonymous)', where: `${shortUrl(url)}:${lineNumber + 1}`, ms: 0 };
      entry.ms += ms;
      inclusive.set(key, entry);
    }
  }

  const modules = new Map();
  const functions = new Map();
  for (const [id, ms] of self) {
    const node = byId.get(id);
    const mod = moduleOf.get(id);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName}|${url}|${lineNumber}|${mod}`;
    const entry = functions.get(key) ?? { name: functionName || '(anonymous)', mod, where: url ? `${shortUrl(url)}:${lineNumber + 1}` : '', ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  return {
    busy,
    idle,
    modules: [...modules].sort((a, b) => b[1] - a[1]),
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    inclusive: [...inclusive.values()].sort((a, b) => b.ms - a.ms),
  };
}

const pct = (part, whole) => `${((100 * part) / whole).toFixed(1)} %`;

/**
 * @param {object} [options]
 * @param {number} [options.requests] requests served in the profiled window
 * @param {number} [options.mainThreadUs] main-thread CPU per request measured from /proc: the
 *   µs/request columns split it by the profile's shares. (The profile's own times are wall-clock
 *   samples: on a busy machine they also count the time the thread waited for a core.)
 */
function markdown(profile, { top = 15, title = 'profile', requests, mainThreadUs } = {}) {
  const { busy, idle, modules, functions, inclusive } = analyse(profile);
  const perRequest = mainThreadUs ?? (requests ? (busy * 1000) / requests : undefined);
  const us = (ms) => (perRequest ? ` | ${Math.round((perRequest * ms) / busy)}` : '');
  const usHeader = perRequest ? ' | µs/request' : '';
  const usAlign = perRequest ? '|---:' : '';
  const wall = busy + idle;
  const lines = [
    `**${title}**: main thread busy in ${pct(busy, wall)} of the samples over ${(wall / 1000).toFixed(1)} s` +
      (requests ? `; ${requests} requests` : '') +
      (perRequest ? `, ${Math.round(perRequest)} µs of main-thread CPU each${mainThreadUs ? ' (measured)' : ' (from the samples)'}` : ''),
    '',
    `| module (self time) | share${usHeader} |`,
    `|---|---:${usAlign}|`,
  ];
  for (const [mod, ms] of modules.slice(0, top)) lines.push(`| ${mod} | ${pct(ms, busy)}${us(ms)} |`);
  const rest = modules.slice(top).reduce((sum, [, ms]) => sum + ms, 0);
  if (rest) lines.push(`| (${modules.length - top} more) | ${pct(rest, busy)}${us(rest)} |`);
  lines.push('', `| Gatehouse function (inclusive time) | share${usHeader} | where |`, `|---|---:${usAlign}|---|`);
  for (const f of inclusive.slice(0, top)) lines.push(`| \`${f.name}\` | ${pct(f.ms, busy)}${us(f.ms)} | ${f.where} |`);
  lines.push('', `| function (self time) | module | share | where |`, '|---|---|---:|---|');
  for (const f of functions.slice(0, top)) lines.push(`| \`${f.name}\` | ${f.mod} | ${pct(f.ms, busy)} | ${f.where} |`);
  return lines.join('\n');
}

module.exports = { analyse, markdown };

if (require.main === module) {
  const [file, top, requests, mainThreadUs] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node test/bench/profile-summary.js <file.cpuprofile> [top] [requests]');
    process.exit(2);
  }
  console.log(markdown(JSON.parse(readFileSync(file, 'utf8')), { top: Number(top) || 15, title: file, requests: Number(requests) || undefined, mainThreadUs: Number(mainThreadUs) || undefined }));
}
