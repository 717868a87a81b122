// Plain HTTP for setting a benchmark up (admin calls, logins, minting codes): keep-alive, loopback only.
'use strict';
const http = require('node:http');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function call(port, method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (params) => new URLSearchParams(params).toString();
const FORM = 'application/x-www-form-urlencoded';

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; returns the results in order. */
async function pooled(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

function json(res, what) {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text);
}

module.exports = { call, basic, form, FORM, pooled, json, agent };
