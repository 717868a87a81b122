import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { CertificateFactory, CLIENT_CERT_HEADER, TLS_PROXY_ENV } from '../support/certificates';
import { clientAssertion, hmac, JWT_BEARER } from '../support/client-assertions';
import { createClient, unique, type CreatedClient } from '../support/fixtures';

const BAD_CLIENT = { error: 'invalid_client', error_description: 'Bad client credentials' };
const BASIC_CHALLENGE = 'Basic realm="gatehouse"';
const LIMIT = 3;

let addressCounter = 0;
/** A fresh source address (TRUSTED_PROXIES trusts the test's 127.0.0.1, so X-Forwarded-For counts). */
const nextAddress = () => `198.51.100.${++addressCounter}`;

interface AuditEventBody {
  type: string;
  client_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/**
 * Failed client authentication (issue 10 §4, issue 13 §5): every failure is audited with a reason
 * only admins see, while the wire answer stays the byte-identical 401 invalid_client; repeated
 * failures of one client from one address get 429 (CLIENT_AUTH_FAILURE_LIMIT); the opt-in client
 * lockout of the policy locks a client_id across instances until it ends or an admin unlocks it.
 */
describe('Client authentication failures: audit, per-address throttling, client lockout', () => {
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;
  // Uncached (CACHE_TTL_SECONDS=0): a policy PUT on A holds on B at once, which the lockout cases need
  // (with the default, within CACHE_TTL_SECONDS: test/e2e/cache-instances.e2e-spec.ts).
  const env = { TRUSTED_PROXIES: '127.0.0.1', CLIENT_AUTH_FAILURE_LIMIT: String(LIMIT), CACHE_TTL_SECONDS: '0' };

  beforeAll(async () => {
    ({ a, b } = await startInstances(env));
  });
  afterAll(() => closeInstances(a, b));

  const both = () => [a, b];
  const advanceBoth = (ms: number) => both().forEach((t) => t.clock.advance(ms));
  /** Counting windows are calendar minutes: a test that counts within one starts at the beginning of the next. */
  const startOfMinute = () => advanceBoth(60_000 - (a.clock.nowMs() % 60_000) + 500);

  /** client_credentials with HTTP Basic from `address`. */
  const basicToken = (t: TestApp, id: string, secret: string, address: string) =>
    t.http
      .post('/oauth2/token')
      .set('X-Forwarded-For', address)
      .auth(encodeURIComponent(id), encodeURIComponent(secret))
      .type('form')
      .send({ grant_type: 'client_credentials' });
  /** client_credentials with the credentials in the body (client_secret_post) from `address`. */
  const postToken = (t: TestApp, form: Record<string, string>, address: string) =>
    t.http
      .post('/oauth2/token')
      .set('X-Forwarded-For', address)
      .type('form')
      .send({ grant_type: 'client_credentials', ...form });

  const auditEvents = async (query: Record<string, string>): Promise<AuditEventBody[]> => {
    const res = await a.http
      .get('/admin/audit-events')
      .query({ limit: '1000', ...query })
      .auth(await a.adminToken(), { type: 'bearer' });
    expect(res.status).toBe(200);
    return res.body as AuditEventBody[];
  };
  const failuresOf = (clientId: string) => auditEvents({ client: clientId, type: 'client.auth.failure' });
  const putPolicy = async (changes: Record<string, number>) => {
    const token = await a.adminToken();
    const current = await a.http.get('/admin/policy').auth(token, { type: 'bearer' });
    const res = await a.http
      .put('/admin/policy')
      .auth(token, { type: 'bearer' })
      .send({ ...current.body, ...changes });
    expect(res.status).toBe(200);
  };

  const expectBadClient = (res: { status: number; body: unknown; headers: Record<string, string> }, basic: boolean) => {
    expect(res.status).toBe(401);
    expect(res.body).toEqual(BAD_CLIENT);
    expect(res.headers['www-authenticate']).toBe(basic ? BASIC_CHALLENGE : undefined);
  };

  describe('every failure is audited with its reason, for admins only (issue 10 §4)', () => {
    let basicClient: CreatedClient;
    beforeAll(async () => {
      basicClient = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
    });

    it('an integrator sending client_secret_post to a client_secret_basic client finds wrong_method under ?client=<id>', async () => {
      const res = await postToken(a, { client_id: basicClient.client_id, client_secret: basicClient.client_secret! }, nextAddress());
      expectBadClient(res, false);
      const [event, ...others] = await failuresOf(basicClient.client_id);
      expect(others).toEqual([]);
      expect(event).toMatchObject({
        type: 'client.auth.failure',
        client_id: basicClient.client_id,
        details: { reason: 'wrong_method', method_presented: 'client_secret_post', method_registered: 'client_secret_basic' },
      });
      // The presented secret is kept nowhere in the event.
      expect(JSON.stringify(event)).not.toContain(basicClient.client_secret!);
    });

    it('wrong_secret over Basic: the same 401 with the Basic challenge, the cause in the audit', async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
      const address = nextAddress();
      const wrong = `${client.client_secret}-not`;
      expectBadClient(await basicToken(b, client.client_id, wrong, address), true);
      const events = await failuresOf(client.client_id);
      expect(events.map((e) => [e.details.reason, e.ip])).toEqual([['wrong_secret', address]]);
      expect(JSON.stringify(events)).not.toContain(wrong);
    });

    it('unknown_client keeps the presented client_id, so a typo can be found too', async () => {
      const typo = unique('no-such-client');
      expectBadClient(await basicToken(a, typo, 'whatever-secret', nextAddress()), true);
      expect((await failuresOf(typo)).map((e) => e.details)).toEqual([{ reason: 'unknown_client' }]);
    });

    it('disabled: correct credentials of a disabled client', async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_post' });
      const patched = await a.http
        .patch(`/admin/clients/${client.client_id}`)
        .auth(await a.adminToken(), { type: 'bearer' })
        .send({ disabled: true });
      expect(patched.status).toBe(200);
      expectBadClient(await postToken(a, { client_id: client.client_id, client_secret: client.client_secret! }, nextAddress()), false);
      expect((await failuresOf(client.client_id)).map((e) => e.details)).toEqual([{ reason: 'disabled' }]);
    });

    it('expired_assertion and replayed_assertion (client_secret_jwt), never the assertion itself', async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_jwt' });
      const signer = hmac(client.client_secret!);
      const now = a.clock.nowSeconds();
      const expired = await clientAssertion(a, client.client_id, signer, { iat: now - 600, exp: now - 300 });
      const assertionForm = (assertion: string) => ({ client_assertion_type: JWT_BEARER, client_assertion: assertion });
      expectBadClient(await postToken(a, assertionForm(expired), nextAddress()), false);

      const once = await clientAssertion(a, client.client_id, signer);
      expect((await postToken(a, assertionForm(once), nextAddress())).status).toBe(200);
      expectBadClient(await postToken(b, assertionForm(once), nextAddress()), false);

      const events = await failuresOf(client.client_id);
      expect(events.map((e) => e.details.reason)).toEqual(['replayed_assertion', 'expired_assertion']);
      expect(JSON.stringify(events)).not.toContain(once.split('.')[2]);
      expect(JSON.stringify(events)).not.toContain(expired.split('.')[2]);
    });

    it('certificate_mismatch, wrong_method with a certificate, public_client at introspection: the reason of the registered method wins', async () => {
      const certs = new CertificateFactory();
      const m = await startApp({ env: { ...TLS_PROXY_ENV, CLIENT_AUTH_FAILURE_LIMIT: String(LIMIT) } });
      try {
        const ca = certs.selfSigned('/O=Example/CN=Test CA', { keyType: 'ec' });
        const intruder = certs.issued(ca, '/O=Example/CN=intruder');
        const pki = await createClient(m, { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=billing,O=Example' });
        const secretClient = await createClient(m, { token_endpoint_auth_method: 'client_secret_basic' });
        const publicClient = await createClient(m, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://app.example/cb'] });
        const withCertificate = (clientId: string, path = '/oauth2/token', form: Record<string, string> = { grant_type: 'client_credentials' }) =>
          m.http.post(path).set(CLIENT_CERT_HEADER, intruder.escaped).type('form').send({ ...form, client_id: clientId });

        // Three strategies match (tls_client_auth, self_signed_tls_client_auth, none); the registered one explains.
        expectBadClient(await withCertificate(pki.client_id), false);
        expectBadClient(await withCertificate(secretClient.client_id), false);
        expectBadClient(await m.http.post('/oauth2/introspect').type('form').send({ token: 'x', client_id: publicClient.client_id }), false);

        const reasons = async (clientId: string) => {
          const res = await m.http
            .get('/admin/audit-events')
            .query({ client: clientId, type: 'client.auth.failure' })
            .auth(await m.adminToken(), { type: 'bearer' });
          return res.body.map((e: AuditEventBody) => e.details);
        };
        expect(await reasons(pki.client_id)).toEqual([{ reason: 'certificate_mismatch' }]);
        expect(await reasons(secretClient.client_id)).toEqual([
          { reason: 'wrong_method', method_presented: 'tls_client_auth', method_registered: 'client_secret_basic' },
        ]);
        expect(await reasons(publicClient.client_id)).toEqual([{ reason: 'public_client' }]);
      } finally {
        await m.close();
        certs.remove();
      }
    });

    it(`a flood of unknown client_ids from one address is audited at most CLIENT_AUTH_FAILURE_LIMIT (${LIMIT}) times per minute and instance`, async () => {
      const address = nextAddress();
      startOfMinute();
      for (let i = 0; i < 15; i++) expectBadClient(await basicToken(a, unique('flood'), 'x', address), true);
      const fromAddress = (await auditEvents({ type: 'client.auth.failure' })).filter((e) => e.ip === address);
      expect(fromAddress).toHaveLength(LIMIT);
      expect(fromAddress.every((e) => e.details.reason === 'unknown_client')).toBe(true);
      advanceBoth(60_000);
      expectBadClient(await basicToken(a, unique('flood'), 'x', address), true);
      expect((await auditEvents({ type: 'client.auth.failure' })).filter((e) => e.ip === address)).toHaveLength(LIMIT + 1);
    });

    it('a failure of an unknown client_id stores no failure count', async () => {
      const before = await a.db.query('SELECT COUNT(*) AS n FROM client_auth_failures');
      await putPolicy({ client_lockout_threshold: 2 });
      try {
        for (let i = 0; i < 3; i++) expectBadClient(await basicToken(a, 'never-registered', 'x', nextAddress()), true);
      } finally {
        await putPolicy({ client_lockout_threshold: 0 });
      }
      expect(await a.db.query('SELECT COUNT(*) AS n FROM client_auth_failures')).toEqual(before);
    });
  });

  describe(`repeated failures per (client, address): ${LIMIT} per minute, then 429 (CLIENT_AUTH_FAILURE_LIMIT)`, () => {
    it('refuses that pair with 429 and Retry-After, correct secret included; other addresses keep working; the next minute it works again', async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
      const address = nextAddress();
      startOfMinute();
      // Failures counted on both instances.
      for (let i = 0; i < LIMIT; i++) expectBadClient(await basicToken(both()[i % 2], client.client_id, 'wrong-secret', address), true);

      for (const t of both()) {
        const refused = await basicToken(t, client.client_id, client.client_secret!, address);
        expect(refused.status).toBe(429);
        expect(refused.body).toEqual({ error: 'too_many_requests', error_description: 'Too many failed client authentications from this address. Try again later.' });
        const retryAfter = Number(refused.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expect((await basicToken(b, client.client_id, client.client_secret!, nextAddress())).status).toBe(200);
      // Refusals while throttled are neither counted nor audited.
      expect(await failuresOf(client.client_id)).toHaveLength(LIMIT);

      advanceBoth(60_000);
      expect((await basicToken(a, client.client_id, client.client_secret!, address)).status).toBe(200);
    });

    it('is off with CLIENT_AUTH_FAILURE_LIMIT=0 (the test default elsewhere)', async () => {
      const c = await startApp({ env: { TRUSTED_PROXIES: '127.0.0.1', CLIENT_AUTH_FAILURE_LIMIT: '0' } });
      try {
        const client = await createClient(c, { token_endpoint_auth_method: 'client_secret_basic' });
        const address = nextAddress();
        for (let i = 0; i < LIMIT + 2; i++) expectBadClient(await basicToken(c, client.client_id, 'wrong-secret', address), true);
        expect((await basicToken(c, client.client_id, client.client_secret!, address)).status).toBe(200);
      } finally {
        await c.close();
      }
    });
  });

  describe('client lockout (policy client_lockout_threshold, off by default)', () => {
    afterEach(() => putPolicy({ client_lockout_threshold: 0, client_lockout_duration_seconds: 3600 }));

    it('is off by default: many failures, then the correct secret works', async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
      for (let i = 0; i < 8; i++) expectBadClient(await basicToken(both()[i % 2], client.client_id, 'wrong-secret', nextAddress()), true);
      expect((await basicToken(a, client.client_id, client.client_secret!, nextAddress())).status).toBe(200);
    });

    it('locks after the threshold across instances and addresses; invalid_client even with the right secret, audited `locked`', async () => {
      await putPolicy({ client_lockout_threshold: 3, client_lockout_duration_seconds: 600 });
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
      expectBadClient(await basicToken(a, client.client_id, 'wrong-1', nextAddress()), true);
      expectBadClient(await basicToken(b, client.client_id, 'wrong-2', nextAddress()), true);
      // A success resets the count...
      expect((await basicToken(a, client.client_id, client.client_secret!, nextAddress())).status).toBe(200);
      for (let i = 0; i < 3; i++) expectBadClient(await basicToken(both()[i % 2], client.client_id, `wrong-${i}`, nextAddress()), true);
      // ...and three in a row lock, on both instances, for every address.
      for (const t of both()) expectBadClient(await basicToken(t, client.client_id, client.client_secret!, nextAddress()), true);

      const events = await auditEvents({ client: client.client_id });
      expect(events.filter((e) => e.type === 'client.locked')).toHaveLength(1);
      const reasons = events.filter((e) => e.type === 'client.auth.failure').map((e) => e.details.reason);
      expect(reasons).toEqual(['locked', 'locked', 'wrong_secret', 'wrong_secret', 'wrong_secret', 'wrong_secret', 'wrong_secret']);

      // The lock ends after client_lockout_duration_seconds.
      advanceBoth(601_000);
      expect((await basicToken(b, client.client_id, client.client_secret!, nextAddress())).status).toBe(200);
    });

    it('concurrent failures on two instances count exactly: exactly one of them takes the lock', async () => {
      await putPolicy({ client_lockout_threshold: 5, client_lockout_duration_seconds: 600 });
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_post' });
      const attempts = Array.from({ length: 12 }, (_, i) =>
        postToken(both()[i % 2], { client_id: client.client_id, client_secret: `wrong-${i}` }, nextAddress()),
      );
      for (const res of await Promise.all(attempts)) expectBadClient(res, false);
      const events = await auditEvents({ client: client.client_id });
      expect(events.filter((e) => e.type === 'client.locked')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'client.auth.failure')).toHaveLength(12);
      expectBadClient(await postToken(a, { client_id: client.client_id, client_secret: client.client_secret! }, nextAddress()), false);
    });

    it('POST /admin/clients/{id}/unlock lifts the lock on every instance (404 for an unknown client)', async () => {
      await putPolicy({ client_lockout_threshold: 2, client_lockout_duration_seconds: 0 });
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_basic' });
      for (let i = 0; i < 2; i++) expectBadClient(await basicToken(a, client.client_id, 'wrong', nextAddress()), true);
      // Duration 0: locked until an administrator unlocks, however long it takes.
      advanceBoth(48 * 3600_000);
      expectBadClient(await basicToken(b, client.client_id, client.client_secret!, nextAddress()), true);

      const token = await b.adminToken();
      const unlocked = await b.http.post(`/admin/clients/${client.client_id}/unlock`).auth(token, { type: 'bearer' });
      expect(unlocked.status).toBe(200);
      expect(unlocked.body.client_id).toBe(client.client_id);
      expect(unlocked.body).not.toHaveProperty('client_secret');
      for (const t of both()) expect((await basicToken(t, client.client_id, client.client_secret!, nextAddress())).status).toBe(200);
      const [event] = await auditEvents({ client: client.client_id, type: 'admin.client.unlocked' });
      expect(event.details).toMatchObject({ cleared: true });

      const missing = await b.http.post(`/admin/clients/${unique('missing')}/unlock`).auth(token, { type: 'bearer' });
      expect(missing.status).toBe(404);
      const anonymous = await b.http.post(`/admin/clients/${client.client_id}/unlock`);
      expect(anonymous.status).toBe(401);
    });

    it('the policy keeps the client lockout settings when a PUT leaves them out', async () => {
      await putPolicy({ client_lockout_threshold: 7, client_lockout_duration_seconds: 120 });
      const token = await a.adminToken();
      const { client_lockout_threshold: _t, client_lockout_duration_seconds: _d, ...rest } = (await a.http.get('/admin/policy').auth(token, { type: 'bearer' })).body;
      const res = await a.http.put('/admin/policy').auth(token, { type: 'bearer' }).send(rest);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ client_lockout_threshold: 7, client_lockout_duration_seconds: 120 });
      expect((await b.http.get('/admin/policy').auth(await b.adminToken(), { type: 'bearer' })).body).toMatchObject({ client_lockout_threshold: 7 });
    });
  });

  describe('passport strategies belong to their application (issue 12 item 9)', () => {
    it("each application in a process authenticates with its own strategies (its own clock), also after another one closed", async () => {
      const client = await createClient(a, { token_endpoint_auth_method: 'client_secret_jwt' });
      const signer = hmac(client.client_secret!);
      const form = async () => ({ client_assertion_type: JWT_BEARER, client_assertion: await clientAssertion(a, client.client_id, signer) });
      const c = await startApp({ database: a.database, env });
      try {
        // c's clock is an hour ahead: an assertion made on a's clock is expired there, and only there.
        c.clock.advance(a.clock.nowMs() - c.clock.nowMs() + 3600_000);
        expect((await postToken(a, await form(), nextAddress())).status).toBe(200);
        expectBadClient(await postToken(c, await form(), nextAddress()), false);
        expect((await failuresOf(client.client_id)).map((e) => e.details.reason)).toEqual(['expired_assertion']);
      } finally {
        await c.close({ keepDatabase: true });
      }
      expect((await postToken(a, await form(), nextAddress())).status).toBe(200);
      expect((await postToken(b, await form(), nextAddress())).status).toBe(200);
    });
  });
});
