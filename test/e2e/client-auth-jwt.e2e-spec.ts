import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSPKI, UnsecuredJWT, type JWK, type JWTPayload } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { assertionClaims, hmac, JWT_BEARER, keyPair, signJwt, type Signer } from '../support/client-assertions';
import type { TestDatabase } from '../support/database';
import { createClient, tokenRequest, unique, type CreatedClient } from '../support/fixtures';

const TOKEN_URL = `${ISSUER}/oauth2/token`;
const BAD_CLIENT = { error: 'invalid_client', error_description: 'Bad client credentials' };

/** A tiny JWKS server on 127.0.0.1 standing in for a client's jwks_uri. */
class JwksServer {
  hits: Record<string, number> = {};
  keys: JWK[] = [];
  private server!: Server;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.hits[path] = (this.hits[path] ?? 0) + 1;
      if (path === '/jwks') {
        res.setHeader('content-type', 'application/jwk-set+json');
        res.end(JSON.stringify({ keys: this.keys }));
      } else if (path === '/huge') {
        res.end(JSON.stringify({ keys: this.keys, padding: 'x'.repeat(300 * 1024) }));
      } else if (path === '/redirect') {
        res.writeHead(302, { location: '/jwks' }).end();
      } else if (path === '/not-json') {
        res.end('<html>keys</html>');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${(this.server.address() as AddressInfo).port}${path}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('Client authentication with JWT assertions: client_secret_jwt and private_key_jwt (SPEC §3.2, RFC 7523)', () => {
  let t: TestApp & { database: TestDatabase };
  const jwksServer = new JwksServer();

  let rsa: Awaited<ReturnType<typeof keyPair>>;
  let ec: Awaited<ReturnType<typeof keyPair>>;
  let ed: Awaited<ReturnType<typeof keyPair>>;
  let ps: Awaited<ReturnType<typeof keyPair>>;
  let stranger: Awaited<ReturnType<typeof keyPair>>;

  let secretJwt: CreatedClient;
  let privateKeyJwt: CreatedClient;
  let uriClient: CreatedClient;
  let basicClient: CreatedClient;

  beforeAll(async () => {
    [rsa, ec, ed, ps, stranger] = await Promise.all([
      keyPair('RS256', 'rsa-1'),
      keyPair('ES256', 'ec-1'),
      keyPair('EdDSA', 'ed-1'),
      keyPair('PS256', 'ps-1'),
      keyPair('RS256', 'rsa-1'),
    ]);
    await jwksServer.start();
    jwksServer.keys = [ec.jwk];
    t = await startApp();
    const common = { scope: 'api:read', default_scope: 'api:read' };
    secretJwt = await createClient(t, { ...common, token_endpoint_auth_method: 'client_secret_jwt' });
    privateKeyJwt = await createClient(t, { ...common, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [rsa.jwk, ec.jwk, ed.jwk, ps.jwk] } });
    uriClient = await createClient(t, { ...common, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksServer.url('/jwks') });
    basicClient = await createClient(t, common);
  });
  afterAll(async () => {
    await t.close();
    await jwksServer.stop();
  });

  /** Claims valid right now (on `app`'s clock) for `clientId`; `overrides` replace them, undefined values remove them. */
  function claims(clientId: string, overrides: Record<string, unknown> = {}, app: TestApp = t): JWTPayload {
    return assertionClaims(app, clientId, overrides);
  }

  const sign = signJwt;

  async function assertion(client: CreatedClient, signer: Signer, overrides: Record<string, unknown> = {}): Promise<string> {
    return sign(claims(client.client_id, overrides), signer);
  }

  function withAssertion(jwt: string, extra: Record<string, string> = {}, app: TestApp = t, path = '/oauth2/token') {
    return app.http
      .post(path)
      .type('form')
      .send({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: jwt, ...extra });
  }

  function expectBadClient(res: { status: number; body: unknown; headers: Record<string, string> }) {
    expect(res.status).toBe(401);
    expect(res.body).toEqual(BAD_CLIENT);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
  }

  function expectToken(res: { status: number; body: Record<string, unknown> }) {
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
    expect(res.status).toBe(200);
  }

  const replayKey = (clientId: string, jti: string) => createHash('sha256').update(`client_assertion:${clientId}:${jti}`).digest('hex');

  async function usedJti(clientId: string, jti: string): Promise<number | null> {
    const rows = await t.db.query('SELECT expires_at FROM used_jtis WHERE key_hash = ?', [replayKey(clientId, jti)]);
    return rows.length ? Number(rows[0].expires_at) : null;
  }

  describe('client_secret_jwt', () => {
    it('authenticates an HS256 assertion made with the client secret and spends its jti until exp plus the 30 s skew', async () => {
      const payload = claims(secretJwt.client_id);
      const res = await withAssertion(await sign(payload, hmac(secretJwt.client_secret!)));
      expectToken(res);
      const token = JSON.parse(Buffer.from((res.body.access_token as string).split('.')[1], 'base64url').toString());
      expect(token).toMatchObject({ sub: secretJwt.client_id, client_id: secretJwt.client_id });
      expect(await usedJti(secretJwt.client_id, payload.jti!)).toBe((payload.exp! + 30) * 1000);
    });

    it('accepts HS384 and HS512, and a client_id parameter naming the same client', async () => {
      for (const alg of ['HS384', 'HS512']) {
        expectToken(await withAssertion(await assertion(secretJwt, hmac(secretJwt.client_secret!, alg))));
      }
      expectToken(await withAssertion(await assertion(secretJwt, hmac(secretJwt.client_secret!)), { client_id: secretJwt.client_id }));
    });

    it('stores the secret sealed (AES-256-GCM), next to the usual digest, and never in clear', async () => {
      const [row] = await t.db.query('SELECT secret_digest, secret_encrypted FROM clients WHERE client_id = ?', [secretJwt.client_id]);
      expect(row.secret_digest).toBe(createHash('sha256').update(secretJwt.client_secret!).digest('hex'));
      expect(row.secret_encrypted).toMatch(/^s1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
      expect(row.secret_encrypted).not.toContain(secretJwt.client_secret);
      const [other] = await t.db.query('SELECT secret_encrypted FROM clients WHERE client_id = ?', [basicClient.client_id]);
      expect(other.secret_encrypted).toBeNull();
    });

    it('binds the sealed secret to its client: copied onto another client, it does not open', async () => {
      const victim = await createClient(t, { token_endpoint_auth_method: 'client_secret_jwt', scope: 'api:read', default_scope: 'api:read' });
      const [row] = await t.db.query('SELECT secret_encrypted FROM clients WHERE client_id = ?', [secretJwt.client_id]);
      await t.db.query('UPDATE clients SET secret_encrypted = ? WHERE client_id = ?', [row.secret_encrypted, victim.client_id]);
      expectBadClient(await withAssertion(await assertion(victim, hmac(secretJwt.client_secret!))));
      expectBadClient(await withAssertion(await assertion(victim, hmac(victim.client_secret!))));
    });

    it('refuses a MAC made with another secret, and the client secret itself in client_secret_post', async () => {
      expectBadClient(await withAssertion(await assertion(secretJwt, hmac('x'.repeat(43)))));
      const post = await tokenRequest(t, { grant_type: 'client_credentials', client_id: secretJwt.client_id, client_secret: secretJwt.client_secret! });
      expectBadClient(post);
    });

    it('works under KEY_ENCRYPTION_SECRET too (sealed with a key derived from it)', async () => {
      const other = await startApp({ env: { KEY_ENCRYPTION_SECRET: 'k'.repeat(40) } });
      try {
        const client = await createClient(other, { token_endpoint_auth_method: 'client_secret_jwt', scope: 'api:read', default_scope: 'api:read' });
        const [row] = await other.db.query('SELECT secret_encrypted FROM clients WHERE client_id = ?', [client.client_id]);
        expect(row.secret_encrypted).toMatch(/^k1\./);
        const jwt = await sign(claims(client.client_id, {}, other), hmac(client.client_secret!));
        expectToken(await withAssertion(jwt, {}, other));
      } finally {
        await other.close();
      }
    });

    it('follows the secret through rotation and method changes (admin API)', async () => {
      const admin = await t.adminToken();
      const client = await createClient(t, { token_endpoint_auth_method: 'client_secret_basic', scope: 'api:read', default_scope: 'api:read' });
      // Switching to client_secret_jwt issues a new secret: only the digest of the old one exists.
      const switched = await t.http.patch(`/admin/clients/${client.client_id}`).auth(admin, { type: 'bearer' }).send({ token_endpoint_auth_method: 'client_secret_jwt' });
      expect(switched.status).toBe(200);
      expect(switched.body.client_secret).toEqual(expect.any(String));
      expect(switched.body.client_secret).not.toBe(client.client_secret);
      expectBadClient(await withAssertion(await assertion(client, hmac(client.client_secret!))));
      expectToken(await withAssertion(await assertion(client, hmac(switched.body.client_secret))));
      // Another change keeps it.
      const renamed = await t.http.patch(`/admin/clients/${client.client_id}`).auth(admin, { type: 'bearer' }).send({ client_name: 'renamed' });
      expect(renamed.body.client_secret).toBeUndefined();
      expectToken(await withAssertion(await assertion(client, hmac(switched.body.client_secret))));
      // Rotation seals the new secret; the old one stops at once.
      const rotated = await t.http.post(`/admin/clients/${client.client_id}/secret`).auth(admin, { type: 'bearer' });
      expect(rotated.status).toBe(200);
      expectBadClient(await withAssertion(await assertion(client, hmac(switched.body.client_secret))));
      expectToken(await withAssertion(await assertion(client, hmac(rotated.body.client_secret))));
      // Back to client_secret_basic: same secret, and the sealed copy is gone.
      const back = await t.http.patch(`/admin/clients/${client.client_id}`).auth(admin, { type: 'bearer' }).send({ token_endpoint_auth_method: 'client_secret_basic' });
      expect(back.body.client_secret).toBeUndefined();
      const [row] = await t.db.query('SELECT secret_encrypted FROM clients WHERE client_id = ?', [client.client_id]);
      expect(row.secret_encrypted).toBeNull();
      expect((await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: rotated.body.client_secret })).status).toBe(200);
    });
  });

  describe('private_key_jwt with registered jwks', () => {
    it.each([
      ['RS256', () => rsa],
      ['ES256', () => ec],
      ['EdDSA', () => ed],
      ['PS256', () => ps],
    ])('authenticates an assertion signed %s', async (_alg, pair) => {
      const payload = claims(privateKeyJwt.client_id);
      expectToken(await withAssertion(await sign(payload, pair().signer)));
      expect(await usedJti(privateKeyJwt.client_id, payload.jti!)).toBe((payload.exp! + 30) * 1000);
    });

    it('accepts every private_key_jwt algorithm discovery advertises', async () => {
      const discovery = await t.http.get('/.well-known/openid-configuration');
      const algs = (discovery.body.token_endpoint_auth_signing_alg_values_supported as string[]).filter((alg) => !alg.startsWith('HS'));
      expect(algs).toHaveLength(11);
      for (const alg of algs) {
        const pair = await keyPair(alg, `key-${alg}`);
        const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks: { keys: [{ ...pair.jwk, alg }] } });
        const res = await withAssertion(await assertion(client, pair.signer));
        expect({ alg, status: res.status }).toEqual({ alg, status: 200 });
      }
    });

    it('tries every key of the right type when the assertion names no kid', async () => {
      const second = await keyPair('ES256', 'ec-2');
      const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks: { keys: [ec.jwk, second.jwk] } });
      expectToken(await withAssertion(await assertion(client, { ...second.signer, kid: undefined })));
      expectBadClient(await withAssertion(await assertion(client, { ...stranger.signer, alg: 'RS256', kid: undefined })));
    });

    it('has no secret: none is issued, none may be supplied, none can be rotated', async () => {
      expect(privateKeyJwt.client_secret).toBeUndefined();
      const [row] = await t.db.query('SELECT secret_digest, secret_encrypted FROM clients WHERE client_id = ?', [privateKeyJwt.client_id]);
      expect(row).toEqual({ secret_digest: null, secret_encrypted: null });
      const admin = await t.adminToken();
      const supplied = await t.http
        .post('/admin/clients')
        .auth(admin, { type: 'bearer' })
        .send({ client_id: unique('pkj'), grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [rsa.jwk] }, client_secret: 's'.repeat(40) });
      expect(supplied.status).toBe(400);
      expect(supplied.body.fields).toEqual({ client_secret: ['a client using private_key_jwt has no secret'] });
      const rotate = await t.http.post(`/admin/clients/${privateKeyJwt.client_id}/secret`).auth(admin, { type: 'bearer' });
      expect(rotate.status).toBe(400);
      expect(rotate.body.fields).toEqual({ token_endpoint_auth_method: ['a client using private_key_jwt has no secret to rotate'] });
    });
  });

  describe('private_key_jwt with jwks_uri', () => {
    it('fetches the client key set from a local http server and caches it', async () => {
      const before = jwksServer.hits['/jwks'] ?? 0;
      expectToken(await withAssertion(await assertion(uriClient, ec.signer)));
      expectToken(await withAssertion(await assertion(uriClient, ec.signer)));
      expect(jwksServer.hits['/jwks']).toBe(before + 1);
    });

    it('fetches again for an unknown kid (key rotation), at most once per 30 s', async () => {
      await withAssertion(await assertion(uriClient, ec.signer));
      const rotatedKey = await keyPair('ES256', 'ec-rotated');
      jwksServer.keys = [ec.jwk, rotatedKey.jwk];
      const before = jwksServer.hits['/jwks'];
      t.clock.advance(31_000);
      expectToken(await withAssertion(await assertion(uriClient, rotatedKey.signer)));
      expect(jwksServer.hits['/jwks']).toBe(before + 1);
      // A kid nobody published right after that: refused without another fetch.
      const unknown = await keyPair('ES256', 'ec-unknown');
      expectBadClient(await withAssertion(await assertion(uriClient, unknown.signer)));
      expect(jwksServer.hits['/jwks']).toBe(before + 1);
    });

    it.each([
      ['answers 404', '/missing'],
      ['is larger than 256 KiB', '/huge'],
      ['redirects', '/redirect'],
      ['is not JSON', '/not-json'],
    ])('refuses the assertion when the jwks_uri %s', async (_what, path) => {
      const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks_uri: jwksServer.url(path) });
      const before = jwksServer.hits[path] ?? 0;
      const keySetHits = jwksServer.hits['/jwks'];
      expectBadClient(await withAssertion(await assertion(client, ec.signer)));
      expect(jwksServer.hits[path]).toBe(before + 1);
      // Redirects are not followed.
      expect(jwksServer.hits['/jwks']).toBe(keySetHits);
    });

    it('refuses loopback and private jwks_uri hosts when JWKS_URI_BLOCK_PRIVATE=true, before connecting', async () => {
      // An instance with the block on, on this suite's database: the clients were registered before
      // the setting was turned on (registration with it on refuses them, below).
      const blocked = await startApp({ database: t.database, env: { JWKS_URI_BLOCK_PRIVATE: 'true' } });
      try {
        const before = jwksServer.hits['/jwks'];
        for (const host of ['127.0.0.1', 'localhost']) {
          const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks_uri: jwksServer.url('/jwks', host) });
          const jwt = await sign(claims(client.client_id, {}, blocked), ec.signer);
          expectBadClient(await withAssertion(jwt, {}, blocked));
        }
        expect(jwksServer.hits['/jwks']).toBe(before);
        // Registering or changing to such a jwks_uri is refused while the block is on.
        const adminToken = await blocked.adminToken();
        for (const host of ['127.0.0.1', 'localhost']) {
          const res = await blocked.http
            .post('/admin/clients')
            .auth(adminToken, { type: 'bearer' })
            .send({ token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], scope: 'api:read', jwks_uri: jwksServer.url('/jwks', host) });
          expect(res.status).toBe(400);
          expect(JSON.stringify(res.body)).toMatch(/jwks_uri: (127\.0\.0\.1 is|localhost resolves to (127\.0\.0\.1|::1),) not a public address \(JWKS_URI_BLOCK_PRIVATE\)/);
        }
        expect(jwksServer.hits['/jwks']).toBe(before);
        // Inline jwks are unaffected.
        const inline = await createClient(blocked, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks: { keys: [ec.jwk] } });
        expectToken(await withAssertion(await sign(claims(inline.client_id, {}, blocked), ec.signer), {}, blocked));
      } finally {
        await blocked.close({ keepDatabase: true });
      }
    });
  });

  describe('audience', () => {
    it('accepts the issuer, the token endpoint URL and, at an alias, the alias URL', async () => {
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: ISSUER })));
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: [ 'https://other.example', TOKEN_URL ] })));
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/oidc/token` }), {}, t, '/oidc/token'));
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/api/v1/oauth2/token` }), {}, t, '/api/v1/oauth2/token'));
    });

    it('accepts the introspection and revocation URLs only at those endpoints', async () => {
      const issued = await withAssertion(await assertion(privateKeyJwt, ec.signer));
      const token = issued.body.access_token as string;
      const introspect = await t.http
        .post('/oauth2/introspect')
        .type('form')
        .send({ token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/oauth2/introspect` }) });
      expect(introspect.status).toBe(200);
      expect(introspect.body).toMatchObject({ active: true, client_id: privateKeyJwt.client_id });
      const introspectWithTokenAud = await t.http
        .post('/oauth2/introspect')
        .type('form')
        .send({ token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(privateKeyJwt, ec.signer) });
      expect(introspectWithTokenAud.status).toBe(200);
      const revoke = await t.http
        .post('/oauth2/revoke')
        .type('form')
        .send({ token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/oauth2/revoke` }) });
      expect(revoke.status).toBe(200);
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/oauth2/introspect` })));
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, ec.signer, { aud: `${ISSUER}/oauth2/revoke` })));
    });
  });

  describe('every failure is 401 invalid_client "Bad client credentials"', () => {
    const now = () => t.clock.nowSeconds();

    it.each<[string, () => Record<string, unknown>]>([
      ['a wrong aud', () => ({ aud: 'https://elsewhere.example/oauth2/token' })],
      ['no aud', () => ({ aud: undefined })],
      ['an aud with a trailing slash', () => ({ aud: `${TOKEN_URL}/` })],
      ['an expired assertion (beyond the 30 s skew)', () => ({ iat: now() - 120, exp: now() - 31 })],
      // Well past the 330 s limit, so that a second boundary between signing and checking cannot let it through.
      ['exp more than 5 minutes (plus skew) ahead', () => ({ exp: now() + 345 })],
      ['no exp', () => ({ exp: undefined })],
      ['no jti', () => ({ jti: undefined })],
      ['an empty jti', () => ({ jti: '' })],
      ['a jti that is not a string', () => ({ jti: 42 })],
      ['an nbf in the future', () => ({ nbf: now() + 120 })],
      ['an iat in the future', () => ({ iat: now() + 120 })],
      ['iss different from sub', () => ({ iss: basicClient.client_id })],
      ['no iss', () => ({ iss: undefined })],
      ['sub naming another client', () => ({ sub: secretJwt.client_id })],
    ])('%s', async (_rule, overrides) => {
      const payload = claims(privateKeyJwt.client_id, overrides());
      expectBadClient(await withAssertion(await sign(payload, ec.signer)));
      if (typeof payload.jti === 'string' && payload.jti) expect(await usedJti(privateKeyJwt.client_id, payload.jti)).toBeNull();
    });

    it('accepts exp exactly 5 minutes ahead, and an assertion expired less than the 30 s skew ago', async () => {
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { exp: now() + 300 })));
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { iat: now() - 60, exp: now() - 10 })));
    });

    it('a replayed jti, without spending the jti on a forgery first', async () => {
      const jti = randomUUID();
      // A forged assertion with that jti does not burn it for the real client.
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, stranger.signer, { jti })));
      expect(await usedJti(privateKeyJwt.client_id, jti)).toBeNull();
      const jwt = await assertion(privateKeyJwt, ec.signer, { jti });
      expectToken(await withAssertion(jwt));
      expectBadClient(await withAssertion(jwt));
      // A new assertion reusing the jti is a replay too, while the first one could still be valid.
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, ec.signer, { jti })));
      // The same jti for another client is another key.
      expectToken(await withAssertion(await assertion(secretJwt, hmac(secretJwt.client_secret!), { jti })));
    });

    it('a jti may come back once the assertion that used it can no longer be valid', async () => {
      const jti = randomUUID();
      expectToken(await withAssertion(await assertion(privateKeyJwt, ec.signer, { jti, exp: now() + 10 })));
      t.clock.advance(41_000);
      const again = claims(privateKeyJwt.client_id, { jti });
      expectToken(await withAssertion(await sign(again, ec.signer)));
      expect(await usedJti(privateKeyJwt.client_id, jti)).toBe((again.exp! + 30) * 1000);
    });

    it('a replay on a second instance on the same database, and concurrent use on two instances', async () => {
      const second = await startApp({ database: t.database });
      // Earlier tests moved the first instance's clock; the second one runs at the same time.
      second.clock.advance(t.clock.nowMs() - second.clock.nowMs());
      try {
        const jwt = await assertion(privateKeyJwt, ec.signer);
        expectToken(await withAssertion(jwt));
        expectBadClient(await withAssertion(jwt, {}, second));
        const other = await assertion(privateKeyJwt, ec.signer);
        expectToken(await withAssertion(other, {}, second));
        expectBadClient(await withAssertion(other));

        const raced = await assertion(privateKeyJwt, ec.signer);
        const results = await Promise.all([withAssertion(raced), withAssertion(raced, {}, second), withAssertion(raced), withAssertion(raced, {}, second)]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
      } finally {
        await second.close({ keepDatabase: true });
      }
    });

    it('a wrong signature: another key with the same kid, a tampered payload', async () => {
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, stranger.signer)));
      const [header, , signature] = (await assertion(privateKeyJwt, ec.signer)).split('.');
      const forged = Buffer.from(JSON.stringify(claims(basicClient.client_id))).toString('base64url');
      expectBadClient(await withAssertion(`${header}.${forged}.${signature}`));
    });

    it('alg none, and HS256 keyed with the public key (algorithm confusion) for private_key_jwt', async () => {
      const unsecured = new UnsecuredJWT(claims(privateKeyJwt.client_id)).encode();
      expectBadClient(await withAssertion(unsecured));
      const publicPem = await exportSPKI(rsa.publicKey);
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, hmac(publicPem))));
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, hmac(JSON.stringify(rsa.jwk)))));
    });

    it('a client_id parameter naming another client', async () => {
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, ec.signer), { client_id: basicClient.client_id }));
    });

    it('an unknown client', async () => {
      const ghost = { client_id: 'no-such-client' } as CreatedClient;
      expectBadClient(await withAssertion(await assertion(ghost, ec.signer)));
      expectBadClient(await withAssertion(await assertion(ghost, hmac('s'.repeat(43)))));
    });

    it('the wrong method: an assertion from a client registered for another one', async () => {
      // client_secret_basic client MACing with its own (correct) secret
      expectBadClient(await withAssertion(await assertion(basicClient, hmac(basicClient.client_secret!))));
      // client_secret_jwt client signing with a key (it has none registered) and private_key_jwt client MACing
      expectBadClient(await withAssertion(await assertion(secretJwt, ec.signer)));
      expectBadClient(await withAssertion(await assertion(privateKeyJwt, hmac('s'.repeat(43)))));
      // private_key_jwt client using Basic with made-up credentials
      const basic = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: privateKeyJwt.client_id, secret: 's'.repeat(43) });
      expect(basic.status).toBe(401);
      expect(basic.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
    });

    it('a disabled client', async () => {
      const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', scope: 'api:read', default_scope: 'api:read', jwks: { keys: [ec.jwk] }, disabled: true });
      expectBadClient(await withAssertion(await assertion(client, ec.signer)));
    });

    it('a wrong or missing client_assertion_type, and assertions that are not JWS', async () => {
      const jwt = await assertion(privateKeyJwt, ec.signer);
      for (const form of [
        { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: jwt },
        { client_assertion: jwt },
        { client_assertion_type: JWT_BEARER, client_assertion: 'not-a-jwt' },
        { client_assertion_type: JWT_BEARER, client_assertion: 'a.b.c' },
        { client_assertion_type: JWT_BEARER, client_assertion: `${jwt}.extra.parts` },
      ]) {
        expectBadClient(await t.http.post('/oauth2/token').type('form').send({ grant_type: 'client_credentials', ...form }));
      }
    });
  });

  it('an assertion together with another credential is 400 invalid_request', async () => {
    const jwt = await assertion(secretJwt, hmac(secretJwt.client_secret!));
    const res = await withAssertion(jwt, { client_secret: secretJwt.client_secret! });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Only one client authentication method may be used per request' });
    const basic = await t.http
      .post('/oauth2/token')
      .auth(basicClient.client_id, basicClient.client_secret!)
      .type('form')
      .send({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: jwt });
    expect(basic.status).toBe(400);
  });

  describe('registration (admin API)', () => {
    const post = async (body: Record<string, unknown>) =>
      t.http
        .post('/admin/clients')
        .auth(await t.adminToken(), { type: 'bearer' })
        .send({ client_id: unique('reg'), grant_types: ['client_credentials'], ...body });

    it('private_key_jwt needs jwks (with a key) or jwks_uri', async () => {
      for (const keys of [{}, { jwks: { keys: [] } }]) {
        const res = await post({ token_endpoint_auth_method: 'private_key_jwt', ...keys });
        expect(res.status).toBe(400);
        expect(res.body.fields).toEqual({ jwks: ["private_key_jwt needs the client's public keys: jwks (with at least one key) or jwks_uri"] });
      }
    });

    it.each<[string, () => unknown, string]>([
      ['not a JWK Set', () => ({ key: 1 }), 'jwks must be a JWK Set: {"keys": [...]}'],
      ['a private key', () => ({ keys: [{ ...rsa.jwk, d: 'AAAA' }] }), 'jwks keys[0] must be a public key (no private key members)'],
      ['a symmetric key', () => ({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }), 'jwks keys[0] must have kty RSA, EC or OKP'],
      ['a broken key', () => ({ keys: [ec.jwk, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] }), 'jwks keys[1] is not a valid JWK'],
      ['an unsupported curve', () => ({ keys: [{ ...ed.jwk, crv: 'X25519' }] }), 'jwks keys[0] has an unsupported crv (Ed25519)'],
    ])('refuses jwks that is %s', async (_what, jwks, message) => {
      const res = await post({ token_endpoint_auth_method: 'private_key_jwt', jwks: jwks() });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ jwks: [message] });
    });

    it('refuses an RSA key shorter than 2048 bits', async () => {
      const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      const res = await post({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ jwks: ['jwks keys[0] RSA keys must have at least 2048 bits'] });
    });
  });

  it('is advertised in discovery, with the assertion algorithms, for all three endpoints', async () => {
    const res = await t.http.get('/.well-known/openid-configuration');
    const methods = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'];
    const algs = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
    expect(res.body).toMatchObject({
      token_endpoint_auth_methods_supported: methods,
      token_endpoint_auth_signing_alg_values_supported: algs,
      // Public clients may not introspect (SPEC §4).
      introspection_endpoint_auth_methods_supported: methods.filter((method) => method !== 'none'),
      introspection_endpoint_auth_signing_alg_values_supported: algs,
      revocation_endpoint_auth_methods_supported: methods,
      revocation_endpoint_auth_signing_alg_values_supported: algs,
    });
  });

  it('documents the assertion parameters in the OpenAPI document', async () => {
    const res = await t.http.get('/docs-json');
    for (const path of ['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke']) {
      const schema = res.body.paths[path].post.requestBody.content['application/x-www-form-urlencoded'].schema;
      expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['client_assertion_type', 'client_assertion']));
    }
    expect(res.body.paths['/oauth2/token'].post.description).toContain('private_key_jwt');
    expect(res.body.components.schemas.CreateClientDto.properties.token_endpoint_auth_method.enum).toEqual(
      expect.arrayContaining(['client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth']),
    );
  });
});
