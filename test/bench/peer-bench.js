// npm run bench:peer: Gatehouse and node-oidc-provider (in-memory adapter) side by side, each in a
// process of its own, through the same scenarios in the same run: client_credentials with an RS256
// JWT and with an opaque access token, and chained refresh rotation answering a new RS256 JWT access
// token and id_token. The servers take turns (A B, then B A, ...) for BENCH_ROUNDS rounds, and the
// report gives the Gatehouse/peer ratio of each round and their median. Knobs: docs/performance.md.
'use strict';
const { loadavg } = require('node:os');
const { randomBytes } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Gatehouse, chainedRefresh } = require('./lib/gatehouse');
const { basic, form, FORM, call, json } = require('./lib/http');
const { formatErrors, sumErrors } = require('./lib/load');
const { fixed, int, log, machine, measure, readOptions, selectScenarios, statementCell, stopOnInterrupt, table, warmUp } = require('./lib/measure');
const { ServerProcess, freePort, localDatabaseServer } = require('./lib/server');

const SPARE_CHAINS = 10;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

class Peer {
  static async start(port) {
    port ||= await freePort();
    const peer = new Peer();
    peer.port = port;
    peer.origin = `http://127.0.0.1:${port}`;
    const secret = randomBytes(32).toString('base64url');
    peer.server = await ServerProcess.start({
      name: 'node-oidc-provider',
      args: [join(__dirname, 'lib/peer-server.mjs')],
      port,
      readyPath: '/.well-known/openid-configuration',
      env: { NODE_ENV: 'production', PORT: String(port), PEER_CLIENT_SECRET: secret, DATABASE_URL: '' },
    });
    peer.serviceAuth = basic('bench-service', secret);
    peer.appAuth = basic('bench-app', secret);
    peer.version = require('oidc-provider/package.json').version;
    return peer;
  }

  async refreshTokens(count) {
    return (await this.server.request({ cmd: 'mint-refresh', count }, { probe: false })).tokens;
  }

  scenarios(state) {
    const tokenRequest = (auth, params) => ({ method: 'POST', path: '/token', headers: { 'content-type': FORM, authorization: auth }, body: form(params) });
    return {
      'cc-jwt': { request: tokenRequest(this.serviceAuth, { grant_type: 'client_credentials', scope: 'api', resource: 'urn:bench:api' }) },
      'cc-opaque': { request: tokenRequest(this.serviceAuth, { grant_type: 'client_credentials', scope: 'api', resource: 'urn:bench:opaque' }) },
      refresh: { chained: true, request: chainedRefresh(tokenRequest(this.appAuth, {}), state, (token) => form({ grant_type: 'refresh_token', refresh_token: token })) },
    };
  }

  stop() {
    return this.server.stop();
  }
}

/** What a token response holds: "JWT RS256" / "opaque" per token, to show both servers answer the same shapes. */
function shape(response) {
  const describe = (token) => {
    if (!token) return '–';
    const parts = token.split('.');
    if (parts.length !== 3) return 'opaque';
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    return `JWT ${header.alg}${header.typ ? ` ${header.typ}` : ''}`;
  };
  return `access ${describe(response.access_token)}, id_token ${describe(response.id_token)}, refresh ${response.refresh_token ? 'yes' : 'no'}`;
}

/** One request of a scenario outside any measurement, through its own setupRequest/onResponse (so a chain advances). */
async function oneRequest(port, request) {
  const built = request.setupRequest ? request.setupRequest({ ...request }) : request;
  const res = await call(port, built.method, built.path, { body: built.body, headers: built.headers });
  if (request.onResponse) request.onResponse(res.status, res.text);
  return json(res, built.path);
}

async function main() {
  const options = readOptions();
  const host = machine();
  const started = Date.now();
  const names = selectScenarios({ 'cc-jwt': 1, 'cc-opaque': 1, refresh: 1 }, options.scenarios);
  const gatehouse = await Gatehouse.start({ port: options.port, benchDatabaseUrl: options.databaseUrl, extraNodeArgs: options.serverNodeArgs });
  const database = localDatabaseServer(options.databaseUrl);
  let peer;
  stopOnInterrupt(async () => {
    await peer?.stop();
    await gatehouse.stop();
  });
  try {
    await gatehouse.setUp();
    peer = await Peer.start(options.peerPort);
    log(`Gatehouse (${host.commit}) on ${gatehouse.database.store}, pid ${gatehouse.server.pid}; node-oidc-provider ${peer.version} in memory, pid ${peer.server.pid}`);

    const sides = {
      gatehouse: { label: 'Gatehouse', target: gatehouse, state: { refreshTokens: [] } },
      peer: { label: `node-oidc-provider ${peer.version}`, target: peer, state: { refreshTokens: [] } },
    };
    for (const side of Object.values(sides)) side.scenarios = side.target.scenarios(side.state);

    // Both servers answer the same token shapes, or the comparison means nothing.
    const shapes = {};
    for (const name of names) {
      for (const [key, side] of Object.entries(sides)) {
        if (side.scenarios[name].chained) side.state.refreshTokens = await side.target.refreshTokens(1);
        shapes[name] = { ...shapes[name], [key]: shape(await oneRequest(side.target.port, side.scenarios[name].request)) };
      }
      log(`${name}: Gatehouse answers ${shapes[name].gatehouse}; peer answers ${shapes[name].peer}`);
    }

    const runs = []; // { round, name, side, load, server }
    for (let round = 0; round < options.rounds; round++) {
      for (const name of names) {
        const order = round % 2 === 0 ? ['gatehouse', 'peer'] : ['peer', 'gatehouse'];
        for (const key of order) {
          const side = sides[key];
          const scenario = side.scenarios[name];
          const run = { origin: side.target.origin, connections: options.connections, request: scenario.request };
          const topUp = async () => {
            const missing = options.connections + SPARE_CHAINS - side.state.refreshTokens.length;
            if (missing > 0) side.state.refreshTokens.push(...(await side.target.refreshTokens(missing)));
          };
          if (scenario.chained) await topUp();
          log(`round ${round + 1}/${options.rounds}, ${name}, ${side.label}: warm-up ${options.warmup} s, measure ${options.duration} s`);
          await warmUp({ ...run, duration: options.warmup });
          if (scenario.chained) await topUp();
          // The peer keeps everything in memory: only Gatehouse's windows count the database server.
          const { load, server } = await measure(side.target.server, { ...run, duration: options.duration, database: key === 'gatehouse' ? database : undefined });
          runs.push({ round, name, side: key, load, server });
          log(`  ${int(load.requestsPerSecond)} req/s, p99 ${fixed(load.p99)} ms, errors ${formatErrors(load)}, CPU ${int(server.cpuUsPerRequest)} µs/req${key === 'gatehouse' && database ? ` + database ${int(server.databaseCpuUsPerRequest)}` : ''}, peak RSS ${int(server.peakRssMiB)} MiB`);
        }
      }
    }

    const titles = { 'cc-jwt': 'client_credentials, RS256 JWT', 'cc-opaque': 'client_credentials, opaque', refresh: 'refresh rotation, JWT access + id token' };
    const rows = names.map((name) => {
      const of = (key) => runs.filter((r) => r.name === name && r.side === key);
      const g = of('gatehouse');
      const p = of('peer');
      const ratios = g.map((run) => run.load.requestsPerSecond / p.find((q) => q.round === run.round).load.requestsPerSecond);
      const rate = (list) => int(median(list.map((r) => r.load.requestsPerSecond)));
      const p99 = (list) => fixed(median(list.map((r) => r.load.p99)));
      const cpuOf = (list) => median(list.map((r) => r.server.cpuUsPerRequest));
      const cpu = (list) => int(cpuOf(list));
      const rss = (list) => int(Math.max(...list.map((r) => r.server.peakRssMiB)));
      const errors = (list) => formatErrors(sumErrors(list.map((r) => r.load)));
      return [
        `\`${name}\` ${titles[name]}`,
        rate(g),
        rate(p),
        `**${fixed(median(ratios), 2)}×**`,
        ratios.map((r) => fixed(r, 2)).join(', '),
        `${p99(g)} / ${p99(p)}`,
        `${cpu(g)} / ${cpu(p)}`,
        `${fixed(cpuOf(p) / cpuOf(g), 2)}×`,
        ...(database ? [int(median(g.map((r) => r.server.databaseCpuUsPerRequest)))] : []),
        statementCell(g[g.length - 1].server),
        `${rss(g)} / ${rss(p)}`,
        `${errors(g)} / ${errors(p)}`,
      ];
    });
    const report = [
      `### Gatehouse (${gatehouse.database.store}) vs node-oidc-provider ${peer.version} (in memory), ${new Date(started).toISOString().slice(0, 10)}`,
      '',
      `${host.cores} cores (${host.cpu}), Node.js ${host.node}, commit ${host.commit}; load average ${host.loadavg[0].toFixed(1)} before the run and ${loadavg()[0].toFixed(1)} after it (other work on the machine shows here). ` +
        `${options.connections} keep-alive connections, ${options.rounds} alternating rounds of ${options.warmup} s warm-up + ${options.duration} s measured per server and scenario; medians over the rounds.`,
      '',
      table(
        ['scenario', 'Gatehouse req/s', 'peer req/s', 'ratio', 'ratio per round', 'p99 ms G / P', 'CPU µs/req G / P', 'CPU ratio P/G', ...(database ? ['Gatehouse database server CPU µs/req'] : []), 'Gatehouse statements/req', 'peak RSS MiB G / P', 'errors G / P (all rounds)'],
        rows,
        ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r', ...(database ? ['r'] : []), 'l', 'r', 'l'],
      ),
      '',
      'Token shapes answered: ' + names.map((name) => `\`${name}\` Gatehouse ${shapes[name].gatehouse}; peer ${shapes[name].peer}`).join('. ') + '.',
      `Whole run: ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ];
    console.log(report.join('\n'));
    if (options.jsonFile) writeFileSync(options.jsonFile, JSON.stringify({ host, options, shapes, runs }, null, 2));
  } finally {
    await peer?.stop();
    await gatehouse.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
