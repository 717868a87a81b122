// npm run bench: every Gatehouse scenario, measured from this process over loopback against the
// built service running in a process of its own on a throw-away database (SQLite, or MariaDB/MySQL
// with BENCH_DATABASE_URL). Bounded: a warm-up and a measured run of fixed duration per scenario.
// Progress goes to stderr, the report (markdown) to stdout. Knobs and columns: docs/performance.md.
'use strict';
const { loadavg } = require('node:os');
const { mkdirSync, writeFileSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { argon2VerifiesPerSecond, rs256SignsPerSecond } = require('./lib/ceilings');
const { Gatehouse } = require('./lib/gatehouse');
const { formatErrors } = require('./lib/load');
const { fixed, int, log, machine, measure, readOptions, selectScenarios, shapesCell, statementCell, stopOnInterrupt, table, warmUp } = require('./lib/measure');
const { markdown: profileMarkdown } = require('./profile-summary');
const { localDatabaseServer } = require('./lib/server');

/** Spare refresh chains beyond one per connection: a connection whose refresh failed continues on one. */
const SPARE_CHAINS = 10;
/**
 * Authorization codes minted for `code` when BENCH_CODES is unset: about as many as a quiet 2-core
 * machine exchanges in BENCH_DURATION's default 8 s, so that its p99 is read over as many responses
 * as the other scenarios' (it was 2,000, a 2-second window whose p99 was its worst 18 responses).
 */
const DEFAULT_CODES = 12000;

async function main() {
  const options = readOptions();
  const host = machine();
  const started = Date.now();
  const gatehouse = await Gatehouse.start({ port: options.port, benchDatabaseUrl: options.databaseUrl, extraNodeArgs: options.serverNodeArgs, sqlShapes: options.sqlShapes });
  stopOnInterrupt(() => gatehouse.stop());
  const database = localDatabaseServer(options.databaseUrl);
  const results = [];
  const ceilings = {};
  try {
    log(`Gatehouse (${host.commit}) on ${gatehouse.database.store}, pid ${gatehouse.server.pid}, ${gatehouse.origin}`);
    await gatehouse.setUp();
    const idleRss = gatehouse.server.status().rssKiB / 1024;

    // Each ceiling is measured just before the scenario it bounds (or at the start when that one is
    // not run), so that a machine whose load changes during the run skews the pair the least.
    const measureRs256 = async () => {
      log(`ceiling: RS256 signatures/s, ${options.ceilingSeconds} s`);
      ceilings.rs256 = await rs256SignsPerSecond(options.ceilingSeconds);
    };
    const measureArgon2 = async () => {
      log(`ceiling: argon2id verifications/s, ${options.ceilingSeconds} s`);
      const argon2 = await argon2VerifiesPerSecond(options.ceilingSeconds);
      ceilings.argon2 = argon2.perSecond;
      ceilings.argon2Parameters = argon2.parameters;
    };
    const ceilingBefore = { 'cc-jwt': measureRs256, password: measureArgon2 };

    const state = { codes: [], refreshTokens: [] };
    const scenarios = gatehouse.scenarios(state);
    const names = selectScenarios(scenarios, options.scenarios);
    if (options.profileDir) {
      mkdirSync(options.profileDir, { recursive: true });
      log(`profiling every measured window into ${resolve(options.profileDir)} (the profiler costs throughput: do not compare these figures)`);
    }
    const run = { origin: gatehouse.origin, connections: options.connections };
    if (options.ceilingSeconds > 0) {
      for (const [name, measureCeiling] of Object.entries(ceilingBefore)) if (!names.includes(name)) await measureCeiling();
    }

    for (const name of names) {
      const scenario = scenarios[name];
      let amount;
      let warmupAmount;
      if (name === 'code') {
        // Codes are finite (minted beforehand: one login, then one authorization request each with
        // its single sign-on cookie), so this run is bounded by its number of codes rather than by
        // BENCH_DURATION; a tenth of them warm up.
        const total = Math.max(options.codes || DEFAULT_CODES, options.connections * 4);
        warmupAmount = options.warmup > 0 ? Math.max(options.connections, Math.round(total * 0.1)) : 0;
        amount = total - warmupAmount;
        const mintStart = Date.now();
        log(`${name}: minting ${total} authorization codes (one login, then the single sign-on session)…`);
        state.codes = await gatehouse.mintCodes(total, 8, (n) => log(`  ${n} codes`));
        log(`  minted in ${((Date.now() - mintStart) / 1000).toFixed(1)} s`);
      }
      if (scenario.chained) state.refreshTokens = await gatehouse.refreshTokens(options.connections + SPARE_CHAINS);
      if (options.ceilingSeconds > 0 && ceilingBefore[name]) await ceilingBefore[name]();

      log(`${name}: ${scenario.title}: warm-up ${warmupAmount ?? `${options.warmup} s`}, then ${amount ? `${amount} requests` : `${options.duration} s`}, ${options.connections} connections`);
      await warmUp({ ...run, duration: warmupAmount ? undefined : options.warmup, amount: warmupAmount, request: scenario.request });
      if (scenario.chained && state.refreshTokens.length < options.connections + SPARE_CHAINS) {
        // Chains in flight when the warm-up stopped were spent without their answer being read.
        state.refreshTokens.push(...(await gatehouse.refreshTokens(options.connections + SPARE_CHAINS - state.refreshTokens.length)));
      }
      const profileFile = options.profileDir ? join(resolve(options.profileDir), `gatehouse-${gatehouse.database.store}-${name}.cpuprofile`) : undefined;
      const { load, server } = await measure(gatehouse.server, { ...run, duration: options.duration, amount, request: scenario.request, expectStatus: scenario.expectStatus, profileFile, database });
      results.push({ name, title: scenario.title, load, server, profileFile });
      log(
        `  ${int(load.requestsPerSecond)} req/s, p50 ${fixed(load.p50)} ms, p99 ${fixed(load.p99)} ms, errors ${formatErrors(load)}, ` +
          `CPU ${int(server.cpuUsPerRequest)} µs/req${database ? ` + database ${int(server.databaseCpuUsPerRequest)}` : ''}, ${statementCell(server)} statements/req, peak RSS ${int(server.peakRssMiB)} MiB`,
      );
    }

    const report = [];
    report.push(
      `### Gatehouse, ${gatehouse.database.store}, ${new Date(started).toISOString().slice(0, 10)}`,
      '',
      `${host.cores} cores (${host.cpu}), Node.js ${host.node}, commit ${host.commit}; load average ${host.loadavg[0].toFixed(1)} before the run and ${loadavg()[0].toFixed(1)} after it (other work on the machine shows here). ` +
        `${options.connections} keep-alive connections, ${options.warmup} s warm-up, ${options.duration} s measured per scenario; production build, LOG_LEVEL=warn. ` +
        `Server RSS after setup: ${int(idleRss)} MiB.`,
      '',
      table(
        ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU', 'CPU µs/req (main thread)', ...(database ? ['database server CPU µs/req'] : []), 'statements/req', 'peak RSS MiB'],
        results.map(({ name, title, load, server }) => [
          `\`${name}\` ${title}`,
          int(load.requestsPerSecond),
          fixed(load.p50),
          fixed(load.p99),
          formatErrors(load),
          `${int(server.cpuPercent)} %`,
          `${int(server.cpuUsPerRequest)} (${int(server.mainThreadCpuUsPerRequest)})`,
          ...(database ? [int(server.databaseCpuUsPerRequest)] : []),
          statementCell(server),
          int(server.peakRssMiB),
        ]),
        ['l', 'r', 'r', 'r', 'l', 'r', 'r', ...(database ? ['r'] : []), 'l', 'r'],
      ),
    );
    if (ceilings.rs256 !== undefined) {
      const rate = (name) => results.find((r) => r.name === name)?.load.requestsPerSecond;
      const rows = [[`RS256 signatures/s (jose SignJWT, CryptoKey from importPKCS8, 32 in flight)`, int(ceilings.rs256), '']];
      if (rate('cc-jwt')) rows[0][2] = `\`cc-jwt\` at ${fixed((100 * rate('cc-jwt')) / ceilings.rs256, 0)} % of it`;
      rows.push([`argon2id verifications/s (@node-rs/argon2, ${ceilings.argon2Parameters}, 16 in flight)`, int(ceilings.argon2), '']);
      if (rate('password')) rows[1][2] = `\`password\` at ${fixed((100 * rate('password')) / ceilings.argon2, 0)} % of it`;
      report.push('', table(['raw ceiling, same run (measured just before the scenario it bounds)', 'per second', ''], rows, ['l', 'r', 'l']));
    }
    if (options.sqlShapes) {
      report.push('', table(['scenario', 'statements of one request, by shape'], results.map(({ name, server }) => [`\`${name}\``, shapesCell(server)]), ['l', 'l']));
    }
    const peak = Math.max(...results.map((r) => r.server.peakRssMiB));
    report.push('', `Peak RSS over all measured windows: ${int(peak)} MiB (${results[0]?.server.peakRssSource ?? 'VmHWM'}). Whole run: ${((Date.now() - started) / 1000).toFixed(0)} s.`);
    for (const { name, server, profileFile } of results) {
      if (!profileFile) continue;
      report.push('', profileMarkdown(JSON.parse(readFileSync(profileFile, 'utf8')), { title: `CPU profile, ${name}`, requests: server.requests, mainThreadUs: server.mainThreadCpuUsPerRequest, top: 12 }));
    }
    console.log(report.join('\n'));
    if (options.jsonFile) writeFileSync(options.jsonFile, JSON.stringify({ host, options, ceilings, results }, null, 2));
  } finally {
    await gatehouse.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
