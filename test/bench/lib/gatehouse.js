// Gatehouse under benchmark: the built service (dist/main.js) in a process of its own on a
// throw-away database, set up over HTTP only (admin API, token endpoint, hosted login page), so the
// benchmark runs unchanged against any version of the service that keeps its HTTP contract.
'use strict';
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ServerProcess, freePort } = require('./server');
const { call, basic, form, FORM, pooled, json } = require('./http');

const ROOT = join(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/main.js');
const ADMIN_ID = 'bench-admin';
const ADMIN_SECRET = `bench-admin-${randomBytes(24).toString('hex')}`;
const REDIRECT_URI = 'http://127.0.0.1/bench/callback';
/** The scope of every user login in the benchmark: access + refresh + id token, and a custom API scope as the peer's resource. */
const LOGIN_SCOPE = 'openid profile offline_access api';
const USER = { username: 'bench-user', password: 'correct horse battery staple', email: 'bench-user@example.com', name: 'Bench User' };
const PKCE_VERIFIER = randomBytes(32).toString('base64url');
const PKCE_CHALLENGE = createHash('sha256').update(PKCE_VERIFIER).digest('base64url');

/** A database of its own: a temporary SQLite file, or a new database on the server of BENCH_DATABASE_URL. */
async function createDatabase(benchDatabaseUrl) {
  const name = `gh_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  if (!benchDatabaseUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    return { store: 'sqlite', url: `sqlite:${join(dir, 'bench.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const server = new URL(benchDatabaseUrl.replace(/^mariadb:/, 'mysql:'));
  if (server.protocol !== 'mysql:') throw new Error('BENCH_DATABASE_URL must be mysql://user:password@host:port/db');
  const mysql = require('mysql2/promise');
  const admin = () =>
    mysql.createConnection({
      host: server.hostname,
      port: Number(server.port || 3306),
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
    });
  const connection = await admin();
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await connection.end();
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  return {
    store: 'mariadb',
    url: url.href,
    drop: async () => {
      const c = await admin();
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

class Gatehouse {
  static async start({ port, benchDatabaseUrl, extraNodeArgs = [], sqlShapes = false }) {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm run bench does)`);
    port ||= await freePort();
    const gatehouse = new Gatehouse();
    gatehouse.port = port;
    gatehouse.origin = `http://127.0.0.1:${port}`;
    gatehouse.database = await createDatabase(benchDatabaseUrl);
    try {
      gatehouse.server = await ServerProcess.start({
        name: 'Gatehouse',
        args: [...extraNodeArgs, MAIN],
        port,
        readyPath: '/health/ready',
        env: {
          NODE_ENV: 'production',
          PORT: String(port),
          ISSUER: gatehouse.origin,
          DATABASE_URL: gatehouse.database.url,
          BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_ID,
          BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
          KEY_ENCRYPTION_SECRET: `bench-key-encryption-${randomBytes(24).toString('hex')}`,
          // Warnings and errors only: no per-request or start-up chatter.
          LOG_LEVEL: 'warn',
          // invalid-client measures the failure path (401) itself, from one address: without this,
          // the per-(client, address) limit would answer 429 after its 20th failure of each minute.
          CLIENT_AUTH_FAILURE_LIMIT: '0',
          CLUSTER_WORKERS: '1',
          BENCH_PROBE_SQL: sqlShapes ? '1' : '',
        },
      });
    } catch (error) {
      await gatehouse.database.drop();
      throw error;
    }
    return gatehouse;
  }

  call(method, path, options) {
    return call(this.port, method, path, options);
  }

  async stop() {
    try {
      await this.server?.stop();
    } finally {
      await this.database.drop();
    }
  }

  /** Admin token, one client_credentials client, one user-facing client, one user. */
  async setUp() {
    const admin = json(
      await this.call('POST', '/oauth2/token', {
        body: form({ grant_type: 'client_credentials' }),
        headers: { 'content-type': FORM, authorization: basic(ADMIN_ID, ADMIN_SECRET) },
      }),
      'admin token',
    ).access_token;
    const adminJson = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
    const createClient = async (body) => json(await this.call('POST', '/admin/clients', { body: JSON.stringify(body), headers: adminJson }), 'create client');
    const service = await createClient({ client_name: 'bench service', grant_types: ['client_credentials'], scope: 'api' });
    const app = await createClient({
      client_name: 'bench app',
      grant_types: ['password', 'authorization_code', 'refresh_token'],
      redirect_uris: [REDIRECT_URI],
      scope: LOGIN_SCOPE,
      default_scope: 'openid',
    });
    json(await this.call('POST', '/admin/users', { body: JSON.stringify(USER), headers: adminJson }), 'create user');
    this.serviceAuth = basic(service.client_id, service.client_secret);
    this.serviceAuthWrong = basic(service.client_id, `${service.client_secret.slice(0, -1)}${service.client_secret.endsWith('A') ? 'B' : 'A'}`);
    this.app = app;
    this.appAuth = basic(app.client_id, app.client_secret);
    // A user's JWT access token (the login scope) for UserInfo and introspection.
    this.userAccessToken = (await this.passwordLogin()).access_token;
  }

  async passwordLogin() {
    return json(
      await this.call('POST', '/oauth2/token', {
        body: form({ grant_type: 'password', username: USER.username, password: USER.password, scope: LOGIN_SCOPE }),
        headers: { 'content-type': FORM, authorization: this.appAuth },
      }),
      'password login',
    );
  }

  /** `count` fresh refresh tokens, each the head of a new family (one password login each). */
  async refreshTokens(count) {
    const logins = await pooled(count, 8, () => this.passwordLogin());
    return logins.map((login) => {
      if (!login.refresh_token) throw new Error('the password login returned no refresh token');
      return login.refresh_token;
    });
  }

  /**
   * `count` authorization codes, minted as a browser would: one login through the hosted login page
   * (GET the authorization endpoint, POST its login form with the hidden fields and the login
   * cookie: one argon2id verification), then, with the single sign-on cookie that login set, one GET
   * of the authorization endpoint per code, read off its 303 without the form (SPEC §5). The
   * exchange of such a code does the same work as that of a code minted by its own login (its
   * family records the browser session either way), and minting costs no argon2id per code, so the
   * `code` scenario gets a measured window as long as the others'.
   */
  async mintCodes(count, concurrency = 8, onProgress = () => {}) {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: this.app.client_id,
      redirect_uri: REDIRECT_URI,
      scope: LOGIN_SCOPE,
      state: 'bench',
      code_challenge: PKCE_CHALLENGE,
      code_challenge_method: 'S256',
    });
    const codeOf = (res, what) => {
      if (res.status !== 302 && res.status !== 303) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
      const code = new URL(res.headers.location).searchParams.get('code');
      if (!code) throw new Error(`${what}: redirect without a code: ${res.headers.location}`);
      return code;
    };
    const page = await this.call('GET', `/oauth2/authorize?${query}`);
    if (page.status !== 200) throw new Error(`authorize: HTTP ${page.status} ${page.text.slice(0, 300)}`);
    const { action, hidden, cookie } = parseLoginForm(page);
    const login = await this.call('POST', action, {
      body: form({ ...hidden, action: 'login', username: USER.username, password: USER.password }),
      headers: { 'content-type': FORM, cookie },
    });
    const first = codeOf(login, 'login form');
    const sso = cookieNamed(login, 'gatehouse_sso');
    if (!sso) throw new Error('the login set no single sign-on cookie');
    let minted = 1;
    const more = await pooled(count - 1, concurrency, async () => {
      const code = codeOf(await this.call('GET', `/oauth2/authorize?${query}`, { headers: { cookie: sso } }), 'authorize with the SSO cookie');
      if (++minted % 2000 === 0) onProgress(minted);
      return code;
    });
    return [first, ...more];
  }

  /** Every scenario of `npm run bench`, as autocannon requests. Chained state lives in `state`. */
  scenarios(state) {
    const tokenRequest = (auth, params) => ({
      method: 'POST',
      path: '/oauth2/token',
      headers: { 'content-type': FORM, authorization: auth },
      body: form(params),
    });
    return {
      'cc-jwt': {
        title: 'client_credentials, RS256 JWT',
        request: tokenRequest(this.serviceAuth, { grant_type: 'client_credentials', scope: 'api' }),
      },
      'cc-opaque': {
        title: 'client_credentials, opaque (row written)',
        request: tokenRequest(this.serviceAuth, { grant_type: 'client_credentials', scope: 'api', token_format: 'opaque' }),
      },
      password: {
        title: 'password grant (argon2id verify)',
        request: tokenRequest(this.appAuth, { grant_type: 'password', username: USER.username, password: USER.password, scope: LOGIN_SCOPE }),
      },
      code: {
        title: 'authorization_code exchange (PKCE S256)',
        finite: true,
        request: {
          ...tokenRequest(this.appAuth, {}),
          setupRequest: (req) => ({
            ...req,
            body: form({ grant_type: 'authorization_code', code: state.codes.pop() ?? 'exhausted', redirect_uri: REDIRECT_URI, code_verifier: PKCE_VERIFIER }),
          }),
        },
      },
      refresh: {
        title: 'refresh_token rotation (JWT access + id token)',
        chained: true,
        request: chainedRefresh(tokenRequest(this.appAuth, {}), state, (token) => form({ grant_type: 'refresh_token', refresh_token: token })),
      },
      introspect: {
        title: 'introspection of a user JWT',
        request: {
          method: 'POST',
          path: '/oauth2/introspect',
          headers: { 'content-type': FORM, authorization: this.appAuth },
          body: form({ token: this.userAccessToken }),
        },
      },
      userinfo: {
        title: 'UserInfo (bearer JWT)',
        request: { method: 'GET', path: '/oauth2/userinfo', headers: { authorization: `Bearer ${this.userAccessToken}` } },
      },
      jwks: { title: 'JWKS', request: { method: 'GET', path: '/oauth2/jwks' } },
      'invalid-client': {
        title: 'client_credentials with a wrong secret (401 expected)',
        expectStatus: 401,
        request: tokenRequest(this.serviceAuthWrong, { grant_type: 'client_credentials', scope: 'api' }),
      },
    };
  }
}

/**
 * Chained refresh rotation. autocannon resets its per-connection context between requests, so
 * chains are kept on a stack: a connection's response pushes the rotated token and, in the same
 * tick, the same connection's next request pops it, so each connection keeps refreshing its own
 * chain. A failed refresh drops its chain and the connection starts on a spare one (when any).
 */
function chainedRefresh(base, state, bodyFor) {
  return {
    ...base,
    setupRequest: (req) => ({ ...req, body: bodyFor(state.refreshTokens.pop() ?? 'exhausted') }),
    onResponse: (status, body) => {
      if (status !== 200) return;
      const token = JSON.parse(body).refresh_token;
      if (token) state.refreshTokens.push(token);
    },
  };
}

/** `name=value` of the cookie `name` a response set (any prefix, e.g. `__Host-`), or undefined. */
function cookieNamed(res, name) {
  return [].concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).find((c) => c.replace(/^__Host-/, '').startsWith(`${name}=`));
}

function unescapeHtml(value) {
  return value.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

/** The hosted login page's form: where it posts, its hidden inputs, and the login cookie it set (as test/support/login-form.ts reads it). */
function parseLoginForm(page) {
  const action = /<form method="post" action="([^"]*)">/.exec(page.text);
  if (!action) throw new Error(`no login form in: ${page.text.slice(0, 300)}`);
  const hidden = {};
  for (const match of page.text.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) hidden[unescapeHtml(match[1])] = unescapeHtml(match[2]);
  const cookie = cookieNamed(page, 'gatehouse_login');
  if (!cookie) throw new Error('the login page set no cookie');
  return { action: unescapeHtml(action[1]), hidden, cookie };
}

module.exports = { Gatehouse, chainedRefresh, USER, LOGIN_SCOPE };
