import { ISSUER, startApp, type TestApp } from '../support/app';
import { CertificateFactory, CLIENT_CERT_HEADER, publicJwk, TLS_PROXY_ENV } from '../support/certificates';
import { clientAssertion, hmac, keyPair } from '../support/client-assertions';
import { createClient, createUser, tokenRequest, unique } from '../support/fixtures';
import { describeRequest, judge, requestSeed, Rng, shrink, type FuzzRequest, type FuzzResponse } from '../support/fuzz';
import { FUZZ_CALLBACK, fuzzRequests, type FuzzClient, type FuzzTargets } from '../support/fuzz-requests';
import { captureLogs } from '../support/logs';
import { testStore } from '../support/database';
import { loginForCode, openLoginPage, pkcePair } from '../support/login-form';
import { ODD_STRINGS } from '../support/fuzz';

/**
 * Hostile input at volume: thousands of generated requests to every endpoint, on each store, from
 * a seeded generator. No request may get a 5xx, a body with a stack trace or internals, an unsafe
 * Location header, or make the service log an error; none may hang; the service is healthy after.
 *
 * Reproducing a failure: the failure message names the seed and the request number, and prints
 * the request shrunk to a minimal one that still fails, as a curl command.
 *   FUZZ_SEED=<seed> FUZZ_REQUESTS=<n> npx jest --selectProjects e2e:sqlite test/e2e/fuzz.e2e-spec.ts
 *   FUZZ_SEED=<seed> FUZZ_ONLY=<request number> ...    (sends that one request only, after the same set-up)
 */

const SEED = parseSeed(process.env.FUZZ_SEED ?? '0x6a7e');
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
/** Longer than any request takes on a loaded machine; a request without an answer by then hangs. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Requests go in rounds; a share of the rounds run in parallel. */
const ROUND = 50;
const PARALLEL_SHARE = 0.3;
const CONCURRENCY = 16;

function parseSeed(text: string): number {
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer (decimal or 0x...), not ${JSON.stringify(text)}`);
  return seed >>> 0;
}

interface Failure {
  index: number;
  problem: string;
  request: FuzzRequest;
  response: FuzzResponse;
}

describe(`Hostile input at volume: ${REQUESTS} generated requests to every endpoint (seed 0x${SEED.toString(16)})`, () => {
  let t: TestApp;
  const logs = captureLogs();
  const certs = new CertificateFactory();
  let generate: (rng: Rng) => FuzzRequest;

  beforeAll(async () => {
    // Behind a trusted TLS proxy (so the certificate methods are live), per-IP throttling on with a
    // limit the run never reaches, warnings logged (to look for stack traces in them too).
    t = await startApp({ env: { ...TLS_PROXY_ENV, LOGIN_RATE_LIMIT: '1000000', LOGIN_RATE_LIMIT_PER_CLIENT: '1000000', LOG_LEVEL: 'warn' }, logStream: logs.stream });
    const grants = ['password', 'authorization_code', 'refresh_token', 'client_credentials'];
    const common = { grant_types: grants, redirect_uris: [FUZZ_CALLBACK], scope: 'openid profile email offline_access api:read' };
    const confidential = await createClient(t, { ...common, client_name: 'Fuzz <App>' });
    // Trusted to forward its end user's address (Gatehouse-End-User-IP), so the generator's header is read.
    const post = await createClient(t, { ...common, token_endpoint_auth_method: 'client_secret_post', trust_end_user_ip_header: true });
    const pub = await createClient(t, { ...common, grant_types: ['password', 'authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' });
    const secretJwt = await createClient(t, { ...common, token_endpoint_auth_method: 'client_secret_jwt' });
    const keys = await keyPair('ES256', 'fuzz-key');
    const privateJwt = await createClient(t, { ...common, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.jwk] } });
    const ca = certs.selfSigned('/O=Fuzz/CN=Fuzz CA', { keyType: 'ec' });
    const pkiCert = certs.issued(ca, '/C=DE/O=Fuzz/CN=fuzz.example.com');
    const pki = await createClient(t, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=fuzz.example.com,O=Fuzz,C=DE' });
    const selfCert = certs.selfSigned('/CN=fuzz-self-signed', { keyType: 'ec' });
    const selfSigned = await createClient(t, { ...common, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [await publicJwk(selfCert)] } });
    const assertions = async (clientId: string, signer: Parameters<typeof clientAssertion>[2]) => {
      const out: string[] = [];
      for (let i = 0; i < 40; i++) out.push(await clientAssertion(t, clientId, signer, { aud: i % 2 ? ISSUER : `${ISSUER}/oauth2/token`, exp: t.clock.nowSeconds() + 3600 }));
      return out;
    };
    const clients: FuzzClient[] = [
      { clientId: confidential.client_id, method: 'client_secret_basic', secret: confidential.client_secret },
      { clientId: post.client_id, method: 'client_secret_post', secret: post.client_secret },
      { clientId: pub.client_id, method: 'none' },
      { clientId: secretJwt.client_id, method: 'client_secret_jwt', assertions: await assertions(secretJwt.client_id, hmac(secretJwt.client_secret!)) },
      { clientId: privateJwt.client_id, method: 'private_key_jwt', assertions: await assertions(privateJwt.client_id, keys.signer) },
      { clientId: pki.client_id, method: 'tls_client_auth', certificate: pkiCert.escaped },
      { clientId: selfSigned.client_id, method: 'self_signed_tls_client_auth', certificate: selfCert.escaped },
    ];
    // Every method works before the run (else the generator would only test refusals).
    const probe = await t.http.post('/oauth2/token').set(CLIENT_CERT_HEADER, pkiCert.escaped).type('form').send({ grant_type: 'client_credentials', client_id: pki.client_id });
    expect(probe.status).toBe(200);

    const user = await createUser(t, { email: `${unique('fuzz')}@example.com` });
    const admin = await t.adminToken();
    const login = await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid offline_access' }, { id: confidential.client_id, secret: confidential.client_secret! });
    expect(login.status).toBe(200);
    const { form } = await openLoginPage(t, { response_type: 'code', client_id: confidential.client_id, redirect_uri: FUZZ_CALLBACK, state: 's' });
    // Clients whose redirect URI carries an odd string, as far as the admin API accepts them: the
    // authorization endpoint then redirects to them, on its success and on its error paths.
    const redirecting = [{ clientId: confidential.client_id, redirectUri: FUZZ_CALLBACK }];
    for (const value of ODD_STRINGS) {
      const redirectUri = `https://app.example/cb${value.slice(0, 100)}`;
      const res = await t.http.post('/admin/clients').auth(admin, { type: 'bearer' }).send({ grant_types: ['authorization_code'], redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' });
      if (res.status === 201) redirecting.push({ clientId: res.body.client_id, redirectUri });
    }
    // Real codes and refresh tokens, so that some requests get past the lookup into redemption and rotation.
    const refreshTokens: string[] = [];
    const codes: { code: string; verifier: string }[] = [];
    for (let i = 0; i < 15; i++) {
      const res = await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid offline_access' }, { id: confidential.client_id, secret: confidential.client_secret! });
      refreshTokens.push(res.body.refresh_token);
      const { verifier, challenge } = pkcePair();
      const { code } = await loginForCode(
        t,
        { response_type: 'code', client_id: confidential.client_id, redirect_uri: FUZZ_CALLBACK, scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256' },
        { username: user.username as string, password: user.password },
      );
      codes.push({ code, verifier });
    }
    const targets: FuzzTargets = {
      refreshTokens,
      codes,
      clients,
      user: { id: user.id, username: user.username as string, password: user.password },
      targetUser: await createUser(t),
      targetClientId: (await createClient(t, { grant_types: ['client_credentials'] })).client_id,
      tokens: { accessToken: login.body.access_token, refreshToken: login.body.refresh_token, idToken: login.body.id_token },
      admin,
      form,
      redirecting,
    };
    generate = fuzzRequests(targets, unique);
  });
  afterAll(async () => {
    certs.remove();
    await t?.close();
  });

  /** Sends one request; a hang (no answer within the timeout) or a reset is status -1. */
  async function send(spec: FuzzRequest): Promise<FuzzResponse> {
    let req = t.http[spec.method](spec.path).timeout(REQUEST_TIMEOUT_MS).redirects(0);
    for (const [name, value] of Object.entries(spec.headers)) req = req.set(name, value);
    if (spec.body !== undefined) req = req.send(spec.body);
    return req.then(
      (r) => ({ status: r.status, text: r.text ?? '', headers: r.headers }),
      (error: Error & { response?: { status: number; text: string; headers: Record<string, string> } }) =>
        error.response ? { status: error.response.status, text: error.response.text ?? '', headers: error.response.headers } : { status: -1, text: `no response: ${error.message}`, headers: {} },
    );
  }

  /** The log lines of one request, found by the X-Request-Id it was answered with. */
  function logsOf(res: FuzzResponse): Record<string, unknown>[] {
    const id = res.headers['x-request-id'];
    return logs.entries().filter((entry) => (entry.req as { id?: unknown } | undefined)?.id === id);
  }

  /** Answers by status, for the figures. */
  const statuses: Record<number, number> = {};

  /** Sends request `index` of the seed, and judges it. */
  async function run(index: number, failures: Failure[]): Promise<void> {
    const request = generate(new Rng(requestSeed(SEED, index)));
    const response = await send(request);
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    const problem = judge(response, id(response) ? logsOf(response) : []);
    if (problem) failures.push({ index, problem, request, response });
  }
  const id = (res: FuzzResponse) => typeof res.headers['x-request-id'] === 'string';

  describe('defects the generator found, kept as plain cases', () => {
    it('a JSON string escaping half a surrogate pair ("\\ud800") is a 400 on the admin API, not a 500 from the email validator (seed 0x3039, #4441)', async () => {
      const admin = await t.adminToken();
      const user = await createUser(t);
      for (const body of ['{"email":"\\ud800"}', '{"email":"a\\udc00@example.com"}', '{"name":"\\ud800"}', '{"\\ud800":1}']) {
        const res = await t.http.patch(`/admin/users/${user.id}`).auth(admin, { type: 'bearer' }).set('Content-Type', 'application/json').send(body);
        expect({ body, status: res.status, message: res.body.error_description ?? res.body.message }).toEqual({
          body,
          status: 400,
          message: 'The request body contains a string that is not valid Unicode (an unpaired surrogate)',
        });
      }
      const created = await t.http.post('/admin/users').auth(admin, { type: 'bearer' }).set('Content-Type', 'application/json').send('{"username":"surrogate","password":"long enough password","email":"\\ud800"}');
      expect(created.status).toBe(400);
      // A whole pair (an emoji) is fine.
      const emoji = await t.http.patch(`/admin/users/${user.id}`).auth(admin, { type: 'bearer' }).set('Content-Type', 'application/json').send('{"name":"\\ud83d\\ude00"}');
      expect({ status: emoji.status, name: emoji.body.name }).toEqual({ status: 200, name: '😀' });
    });
  });

  it('answers every request without a 5xx, a stack trace, an unsafe redirect, a logged error or a hang; healthy afterwards', async () => {
    const failures: Failure[] = [];
    const logsBefore = logs.entries().length;
    const schedule = new Rng(SEED ^ 0x5eed);
    const indexes = ONLY === undefined ? Array.from({ length: REQUESTS }, (_, i) => i) : [ONLY];
    let parallel = 0;
    for (let start = 0; start < indexes.length; start += ROUND) {
      const round = indexes.slice(start, start + ROUND);
      if (schedule.chance(PARALLEL_SHARE)) {
        // Concurrently: CONCURRENCY requests in flight at any time.
        parallel += round.length;
        let next = 0;
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          while (next < round.length) await run(round[next++], failures);
        }));
      } else {
        for (const index of round) await run(index, failures);
      }
    }
    // Log lines written outside any request (a crashed background task, an unhandled rejection).
    await new Promise((r) => setTimeout(r, 100));
    const stray = logs.entries().slice(logsBefore).filter((entry) => !entry.req && judge({ status: 200, text: '', headers: {} }, [entry]));

    // Shrink the first few failures to minimal requests that still fail the same way.
    const reports: string[] = [];
    for (const failure of failures.slice(0, 3)) {
      const { request: minimal, attempts } = await shrink(failure.request, async (candidate) => {
        const res = await send(candidate);
        return judge(res, id(res) ? logsOf(res) : []) === failure.problem;
      });
      reports.push(
        [
          `request #${failure.index} of seed 0x${SEED.toString(16)}: ${failure.problem} (${failure.response.status} ${failure.response.text.slice(0, 300)})`,
          `  replay:  FUZZ_SEED=0x${SEED.toString(16)} FUZZ_ONLY=${failure.index} npx jest test/e2e/fuzz.e2e-spec.ts`,
          `  minimal (${attempts} attempts): ${describeRequest(minimal).slice(0, 4000)}`,
          `  sent:    ${describeRequest(failure.request).slice(0, 4000)}`,
        ].join('\n'),
      );
    }
    const summary = { requests: indexes.length, parallel, failures: failures.length, strayLogLines: stray.length };
    process.stdout.write(`[fuzz ${testStore()}] seed 0x${SEED.toString(16)}: ${indexes.length} requests (${parallel} in parallel rounds), answers by status ${JSON.stringify(statuses)}, ${failures.length} failures\n`);
    expect({ summary, reports, stray: stray.slice(0, 5) }).toEqual({ summary: { ...summary, failures: 0, strayLogLines: 0 }, reports: [], stray: [] });

    // Healthy afterwards: alive, the database reachable, and a plain login still works.
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/health/ready')).status).toBe(200);
    expect((await t.http.get('/.well-known/openid-configuration')).status).toBe(200);
  }, 30 * 60_000);
});
