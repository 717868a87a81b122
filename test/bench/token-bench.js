// Token endpoint benchmark: boots the built service (dist/) on a throw-away SQLite database (or
// BENCH_DATABASE_URL), then drives it from this process over loopback with keep-alive connections.
// Bounded: a fixed number of requests per scenario. Usage: npm run bench
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const http = require('node:http');

const PORT = Number(process.env.BENCH_PORT || 39123);
const REQUESTS = Number(process.env.BENCH_REQUESTS || 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 32);
const ADMIN_ID = 'bench-admin';
const ADMIN_SECRET = 'bench-admin-secret-0123456789abcdefghijkl';
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function call(method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (params) => new URLSearchParams(params).toString();
const FORM = 'application/x-www-form-urlencoded';

async function waitForServer() {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await call('GET', '/health/live')).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('service did not start');
}

async function scenario(name, makeRequest, requests = REQUESTS) {
  let done = 0;
  let failures = 0;
  const latencies = [];
  const started = process.hrtime.bigint();
  async function worker() {
    while (done < requests) {
      done++;
      const t0 = process.hrtime.bigint();
      const res = await makeRequest();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (res.status !== 200) failures++;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  console.log(
    `${name.padEnd(38)} ${(latencies.length / seconds).toFixed(0).padStart(6)} req/s  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms  failures ${failures}`,
  );
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const env = {
    ...process.env,
    PORT: String(PORT),
    DATABASE_URL: process.env.BENCH_DATABASE_URL || `sqlite:${join(dir, 'bench.sqlite')}`,
    BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_ID,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
    LOG_LEVEL: 'error',
  };
  const server = spawn(process.execPath, [join(__dirname, '../../dist/main.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitForServer();
    const admin = JSON.parse(
      (await call('POST', '/oauth2/token', { body: form({ grant_type: 'client_credentials' }), headers: { 'content-type': FORM, authorization: basic(ADMIN_ID, ADMIN_SECRET) } })).text,
    ).access_token;
    const adminJson = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
    const client = JSON.parse(
      (await call('POST', '/admin/clients', { body: JSON.stringify({ grant_types: ['client_credentials', 'password'], scope: 'api openid' }), headers: adminJson })).text,
    );
    const clientAuth = { 'content-type': FORM, authorization: basic(client.client_id, client.client_secret) };
    console.log(`Gatehouse token endpoint, ${REQUESTS} requests per scenario, concurrency ${CONCURRENCY}, ${env.DATABASE_URL.split(':')[0]}`);
    await scenario('client_credentials (JWT)', () => call('POST', '/oauth2/token', { body: form({ grant_type: 'client_credentials', scope: 'api' }), headers: clientAuth }));
    await scenario('client_credentials (opaque)', () =>
      call('POST', '/oauth2/token', { body: form({ grant_type: 'client_credentials', scope: 'api', token_format: 'opaque' }), headers: clientAuth }),
    );
    const user = { username: 'bench-user', password: 'correct horse battery staple' };
    await call('POST', '/admin/users', { body: JSON.stringify(user), headers: adminJson });
    // argon2id (19 MiB, t=2) bounds this one: it measures the password hashing budget, with fewer requests.
    await scenario(
      'password (argon2id verify)',
      () => call('POST', '/oauth2/token', { body: form({ grant_type: 'password', ...user, scope: 'api' }), headers: clientAuth }),
      Math.ceil(REQUESTS / 10),
    );
    await scenario('invalid_client (wrong secret)', async () => {
      const res = await call('POST', '/oauth2/token', { body: form({ grant_type: 'client_credentials' }), headers: { 'content-type': FORM, authorization: basic(client.client_id, 'wrong') } });
      return { status: res.status === 401 ? 200 : res.status };
    });
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
