// A server under benchmark: a separate Node.js process, started with the probe preloaded, observed
// through /proc (CPU time of all its threads, resident memory and its high-water mark) and asked
// for statement and response counts over IPC.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { join } = require('node:path');

const PROBE = join(__dirname, 'server-probe.js');

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds used so far (user + system) by every thread of process `pid`, or by its main thread only. */
function processCpuSeconds(pid, { mainThread = false } = {}) {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * The MariaDB/MySQL server process behind `databaseUrl` when it runs on this machine and this user
 * may read its CPU time: a `mariadbd` or `mysqld` whose command line names the URL's port (or none,
 * for 3306). Its CPU over a window is the database's share of each request, on the same cores.
 */
function localDatabaseServer(databaseUrl) {
  if (!databaseUrl) return undefined;
  let url;
  try {
    url = new URL(databaseUrl);
  } catch {
    return undefined;
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
  const port = url.port || '3306';
  let pids;
  try {
    pids = execFileSync('pgrep', ['-x', 'mariadbd|mysqld'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return undefined;
  }
  const matching = pids.filter((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const named = args.map((arg) => /^--port=(\d+)$/.exec(arg)?.[1]).find(Boolean);
      return (named ?? '3306') === port && processCpuSeconds(pid) >= 0;
    } catch {
      return false;
    }
  });
  return matching.length === 1 ? { pid: Number(matching[0]) } : undefined;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class ServerProcess {
  /**
   * @param {object} options
   * @param {string} options.name label for progress lines
   * @param {string[]} options.args node arguments after the probe (script and its arguments)
   * @param {Record<string,string>} options.env environment added to this process's
   * @param {number} options.port where it listens on 127.0.0.1
   * @param {string} options.readyPath a GET path answering 200 once it serves
   * @param {(proc: ServerProcess, message: any) => void} [options.onMessage] non-probe IPC messages
   */
  constructor(options) {
    this.options = options;
    this.pending = new Map();
    this.nextId = 1;
    this.exited = false;
    this.messageHandlers = [];
  }

  static async start(options) {
    const server = new ServerProcess(options);
    await server.spawn();
    return server;
  }

  async spawn() {
    const { args, env, name } = this.options;
    this.child = spawn(process.execPath, ['-r', PROBE, ...args], {
      env: { ...process.env, ...env },
      // The server's output goes to stderr with the progress lines, so stdout is the report alone.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    this.pid = this.child.pid;
    this.exit = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        for (const { reject } of this.pending.values()) reject(new Error(`${name} exited (${signal ?? code})`));
        this.pending.clear();
        resolve({ code, signal });
      }),
    );
    this.child.on('message', (message) => {
      if (message && message.bench === true && this.pending.has(message.id)) {
        const { resolve, reject } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) reject(new Error(message.error));
        else resolve(message.result);
        return;
      }
      for (const handler of this.messageHandlers) handler(message);
    });
    await this.waitUntilServing();
  }

  async waitUntilServing() {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.options.name} exited during start-up`);
      const status = await new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: this.options.port, path: this.options.readyPath }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', () => resolve(0));
      });
      if (status === 200) return;
      await sleep(200);
    }
    throw new Error(`${this.options.name} did not answer ${this.options.readyPath} within 60 s`);
  }

  /** Sends an IPC request to the probe (or, with `probe: false`, to the server's own handler) and waits for its answer. */
  request(message, { probe = true } = {}) {
    if (this.exited) return Promise.reject(new Error(`${this.options.name} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...message, id, bench: true, target: probe ? 'probe' : 'server' });
    });
  }

  stats() {
    return this.request({ cmd: 'stats' });
  }

  /** CPU seconds used so far (user + system) by every thread of the process, or by its main (JavaScript) thread only. */
  cpuSeconds({ mainThread = false } = {}) {
    return processCpuSeconds(this.pid, { mainThread });
  }

  status() {
    const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  }

  /** Resets VmHWM to the current RSS (Linux clear_refs "5"); false where the kernel refuses it. */
  resetPeakRss() {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  async stop() {
    if (this.exited) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }
}

/**
 * Observes a server over one measured window: CPU time, peak RSS (VmHWM after a reset, or the
 * highest of samples taken every 50 ms where the reset is refused) and the probe's counters.
 */
class Window {
  /** @param {{ pid: number } | undefined} database the local database server (localDatabaseServer), whose CPU is counted too */
  static async open(server, database) {
    await waitIdle(server);
    const window = new Window();
    window.server = server;
    window.database = database;
    window.hwmReset = server.resetPeakRss();
    window.maxRssKiB = server.status().rssKiB;
    window.sampler = setInterval(() => {
      try {
        window.maxRssKiB = Math.max(window.maxRssKiB, server.status().rssKiB);
      } catch {}
    }, 50);
    window.startStats = await server.stats();
    window.startCpu = server.cpuSeconds();
    window.startMainCpu = server.cpuSeconds({ mainThread: true });
    window.startDatabaseCpu = database ? processCpuSeconds(database.pid) : undefined;
    window.startTime = process.hrtime.bigint();
    return window;
  }

  /**
   * The end of the load: CPU share is taken over exactly the load's duration (`seconds` when the
   * load ended before this call: a run of a fixed number of requests, see runLoad).
   */
  markLoadEnd(seconds) {
    this.loadCpu = this.server.cpuSeconds() - this.startCpu;
    this.loadSeconds = seconds ?? Number(process.hrtime.bigint() - this.startTime) / 1e9;
  }

  /**
   * Closes once the server is idle again, so that the requests the load generator abandoned when
   * it stopped (the server still handles them) and deferred writes are counted with the window.
   */
  async close() {
    if (this.loadCpu === undefined) this.markLoadEnd();
    await waitIdle(this.server);
    clearInterval(this.sampler);
    const end = await this.server.stats();
    const cpu = this.server.cpuSeconds() - this.startCpu;
    const mainCpu = this.server.cpuSeconds({ mainThread: true }) - this.startMainCpu;
    const databaseCpu = this.database ? processCpuSeconds(this.database.pid) - this.startDatabaseCpu : NaN;
    const { rssKiB, hwmKiB } = this.server.status();
    const requests = end.requests - this.startStats.requests;
    const statements = {};
    for (const [kind, count] of Object.entries(end.statements)) statements[kind] = count - this.startStats.statements[kind];
    const statementTotal = Object.values(statements).reduce((a, b) => a + b, 0);
    let shapes;
    if (end.shapes) {
      shapes = {};
      for (const [shape, n] of Object.entries(end.shapes)) {
        const delta = n - (this.startStats.shapes?.[shape] ?? 0);
        if (delta > 0) shapes[shape] = delta;
      }
    }
    return {
      cpuPercent: (100 * this.loadCpu) / this.loadSeconds,
      cpuUsPerRequest: requests ? (cpu * 1e6) / requests : NaN,
      mainThreadCpuUsPerRequest: requests ? (mainCpu * 1e6) / requests : NaN,
      // NaN without a local database server (SQLite runs in the server's process, counted above).
      databaseCpuUsPerRequest: requests ? (databaseCpu * 1e6) / requests : NaN,
      peakRssMiB: (this.hwmReset ? hwmKiB : Math.max(this.maxRssKiB, rssKiB)) / 1024,
      peakRssSource: this.hwmReset ? 'VmHWM' : 'sampled',
      requests,
      responses: end.responses - this.startStats.responses,
      statements,
      statementsPerRequest: requests ? statementTotal / requests : NaN,
      shapes,
    };
  }
}

/**
 * Waits until, for three consecutive 100 ms periods, the server has used (almost) no CPU, received
 * no request and sent no statement to its database (a server waiting on a slow database uses no
 * CPU): the work of earlier requests is done. Gives up after 30 s.
 */
async function waitIdle(server, { timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const activity = (stats) => `${stats.requests}/${Object.values(stats.statements).reduce((a, b) => a + b, 0)}`;
  let quiet = 0;
  let cpu = server.cpuSeconds();
  let last = activity(await server.stats());
  while (quiet < 3 && Date.now() < deadline) {
    await sleep(100);
    const nextCpu = server.cpuSeconds();
    const next = activity(await server.stats());
    quiet = nextCpu - cpu <= 0.01 && next === last ? quiet + 1 : 0;
    cpu = nextCpu;
    last = next;
  }
}

/** A free TCP port on 127.0.0.1 (the server binds it a moment later), when BENCH_PORT / BENCH_PEER_PORT are not set. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

module.exports = { ServerProcess, Window, waitIdle, sleep, freePort, localDatabaseServer };
