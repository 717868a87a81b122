// The one load generator of both benchmarks: autocannon, keep-alive connections, one request in
// flight per connection. Latencies are kept exactly (autocannon's own histogram rounds to whole
// milliseconds), and every response that is not 2xx is counted by status.
'use strict';
const { performance } = require('node:perf_hooks');
const autocannon = require('autocannon');

/**
 * @param {object} options
 * @param {string} options.url origin, e.g. http://127.0.0.1:3000
 * @param {number} options.connections
 * @param {number} [options.duration] seconds (ignored when amount is given)
 * @param {number} [options.amount] total requests, for scenarios with a finite supply (codes)
 * @param {object} options.request autocannon request: method, path, headers, body, setupRequest, onResponse
 * @param {number} [options.expectStatus] the status every response should have (default: any 2xx)
 */
function runLoad({ url, connections, duration, amount, request, expectStatus }) {
  const latencies = [];
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        timeout: 10,
        ...(amount ? { amount } : { duration }),
        requests: [request],
      },
      (error, result) => {
        if (error) return reject(error);
        latencies.sort((a, b) => a - b);
        // A run of `amount` requests ends, in autocannon, at the first whole second after its last
        // response (result.duration counts the idle rest): its length is up to that response.
        const seconds = amount ? (lastResponseAt - startedAt) / 1000 : result.duration;
        const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] : NaN);
        const byStatus = {};
        const expected = (status) => (expectStatus ? Number(status) === expectStatus : /^2\d\d$/.test(status));
        for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
          if (!expected(status)) byStatus[status] = count;
        }
        resolve({
          seconds,
          responses: latencies.length,
          requestsPerSecond: latencies.length / seconds,
          p50: at(0.5),
          p99: at(0.99),
          // Responses other than the expected ones (non-2xx unless the scenario expects a status).
          unexpected: Object.values(byStatus).reduce((a, b) => a + b, 0),
          byStatus,
          socketErrors: result.errors - result.timeouts,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastResponseAt = performance.now();
    });
  });
}

/** How the errors of a run read in a table cell: "0", or "12 (401×10, timeout×2)". */
function formatErrors(load) {
  const parts = Object.entries(load.byStatus).map(([status, count]) => `${status}×${count}`);
  if (load.timeouts) parts.push(`timeout×${load.timeouts}`);
  if (load.socketErrors) parts.push(`socket×${load.socketErrors}`);
  const total = load.unexpected + load.timeouts + load.socketErrors;
  return total ? `${total} (${parts.join(', ')})` : '0';
}

/** The errors of several runs added up, in the shape formatErrors reads. */
function sumErrors(loads) {
  const total = { byStatus: {}, unexpected: 0, timeouts: 0, socketErrors: 0 };
  for (const load of loads) {
    for (const [status, count] of Object.entries(load.byStatus)) total.byStatus[status] = (total.byStatus[status] ?? 0) + count;
    total.unexpected += load.unexpected;
    total.timeouts += load.timeouts;
    total.socketErrors += load.socketErrors;
  }
  return total;
}

module.exports = { runLoad, formatErrors, sumErrors };
