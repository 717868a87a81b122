import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, tokenRequest, type CreatedClient } from '../support/fixtures';

describe('Token endpoint: request rules (SPEC §3.1, §3.2) and client_credentials (§3.6)', () => {
  let t: TestApp;
  let basicClient: CreatedClient;
  let postClient: CreatedClient;

  beforeAll(async () => {
    t = await startApp();
    basicClient = await createClient(t, { scope: 'api:read api:write openid offline_access', default_scope: 'api:read' });
    postClient = await createClient(t, { token_endpoint_auth_method: 'client_secret_post', scope: 'api:read' , default_scope: 'api:read'});
  });
  afterAll(() => t.close());

  const basic = () => ({ id: basicClient.client_id, secret: basicClient.client_secret! });

  function expectNoStore(res: { headers: Record<string, string> }) {
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  }

  it('issues an RFC 9068 JWT access token that verifies against the JWKS', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read api:write' }, basic());
    expect(res.status).toBe(200);
    expectNoStore(res);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read api:write' });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.id_token).toBeUndefined();

    const address = t.app.getHttpServer().address() as { port: number };
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${address.port}/oauth2/jwks`));
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token, jwks, { issuer: ISSUER, audience: basicClient.client_id, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ iss: ISSUER, sub: basicClient.client_id, aud: basicClient.client_id, client_id: basicClient.client_id, scope: 'api:read api:write' });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.jti).toEqual(expect.any(String));
  });

  it('uses the default scope and silently drops openid and offline_access', async () => {
    const byDefault = await tokenRequest(t, { grant_type: 'client_credentials' }, basic());
    expect(byDefault.body.scope).toBe('api:read');
    const dropped = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'openid api:write offline_access' }, basic());
    expect(dropped.status).toBe(200);
    expect(dropped.body.scope).toBe('api:write');
  });

  it('answers on the two alias paths', async () => {
    for (const path of ['/oidc/token', '/api/v1/oauth2/token']) {
      const res = await t.http.post(path).auth(basicClient.client_id, basicClient.client_secret!).type('form').send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    }
  });

  it('authenticates client_secret_post', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials', client_id: postClient.client_id, client_secret: postClient.client_secret! });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api:read');
  });

  it('issues opaque access tokens on request (token_format=opaque), stored only as a hash', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials', token_format: 'opaque' }, basic());
    expect(res.status).toBe(200);
    expect(res.body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await t.db.query('SELECT token_hash FROM access_tokens');
    expect(rows.map((r: { token_hash: string }) => r.token_hash)).not.toContain(res.body.access_token);
    expect(rows.length).toBe(1);
  });

  describe('invalid_request', () => {
    it('refuses a body that is not form-encoded', async () => {
      const res = await t.http.post('/oauth2/token').auth(basicClient.client_id, basicClient.client_secret!).send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The request body must be application/x-www-form-urlencoded' });
    });

    it('refuses malformed JSON and unknown media types without a 5xx', async () => {
      const json = await t.http.post('/oauth2/token').set('Content-Type', 'application/json').send('{"grant_type":');
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_request');
      const xml = await t.http.post('/oauth2/token').set('Content-Type', 'application/xml').send('<a/>');
      expect(xml.status).toBe(400);
      expect(xml.body.error).toBe('invalid_request');
    });

    it('refuses an oversized body in the OAuth error shape', async () => {
      const res = await t.http
        .post('/oauth2/token')
        .type('form')
        .send(`grant_type=client_credentials&padding=${'x'.repeat(70 * 1024)}`);
      expect(res.status).toBe(413);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    });

    it('refuses a repeated parameter', async () => {
      const res = await t.http
        .post('/oauth2/token')
        .auth(basicClient.client_id, basicClient.client_secret!)
        .type('form')
        .send('grant_type=client_credentials&scope=api:read&scope=api:write');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Parameter "scope" must not be repeated' });
    });

    it('refuses two client authentication methods at once', async () => {
      const res = await t.http
        .post('/oauth2/token')
        .auth(basicClient.client_id, basicClient.client_secret!)
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: basicClient.client_id, client_secret: basicClient.client_secret! });
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body.error).toBe('invalid_request');
    });

    it('requires grant_type', async () => {
      const res = await tokenRequest(t, { scope: 'api:read' }, basic());
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'grant_type is required' });
    });

    it('answers other methods with 405 and an OAuth body', async () => {
      const res = await t.http.get('/oauth2/token');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.body.error).toBe('invalid_request');
      expectNoStore(res);
    });
  });

  describe('invalid_client', () => {
    const bad = { error: 'invalid_client', error_description: 'Bad client credentials' };

    it('reads the same for a wrong secret, an unknown client and the wrong method, with a Basic challenge', async () => {
      const wrongSecret = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: basicClient.client_id, secret: 'nope' });
      const unknown = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: 'no-such-client', secret: 'nope' });
      // postClient is registered for client_secret_post, so Basic is the wrong method even with the right secret.
      const wrongMethod = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: postClient.client_id, secret: postClient.client_secret! });
      for (const res of [wrongSecret, unknown, wrongMethod]) {
        expect(res.status).toBe(401);
        expect(res.body).toEqual(bad);
        expect(res.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
        expectNoStore(res);
      }
    });

    it('has no Basic challenge when the client used the body', async () => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials', client_id: postClient.client_id, client_secret: 'wrong' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(bad);
      expect(res.headers['www-authenticate']).toBeUndefined();
    });

    it('refuses a request without any client authentication', async () => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(bad);
    });

    it('refuses a disabled client', async () => {
      const client = await createClient(t, { disabled: true });
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(bad);
    });

    it('decodes form-urlencoded Basic credentials (RFC 6749 §2.3.1)', async () => {
      const client = await createClient(t, { client_id: 'weird:id+plus%percent', client_secret: 'secret with :colon and +plus and 32+ chars' });
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
      expect(res.status).toBe(200);
    });
  });

  it('unauthorized_client when the grant is not registered on the client', async () => {
    const codeOnly = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: ['https://app.example/cb'] });
    const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: codeOnly.client_id, secret: codeOnly.client_secret! });
    expect(res.status).toBe(400);
    expectNoStore(res);
    expect(res.body.error).toBe('unauthorized_client');
  });

  it('unsupported_grant_type for an unknown grant_type', async () => {
    const res = await tokenRequest(t, { grant_type: 'urn:example:unknown' }, basic());
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('invalid_scope for a scope not registered on the client', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read admin' }, basic());
    expect(res.status).toBe(400);
    expectNoStore(res);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'Scope not allowed for this client: admin' });
  });

  it('publishes discovery metadata built from the issuer', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await t.http.get(path);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/oauth2/token`,
        jwks_uri: `${ISSUER}/oauth2/jwks`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
      });
      expect(res.body.grant_types_supported).toContain('client_credentials');
    }
  });

  it('serves the same JWKS on both paths, keys of RS256, ES256 and EdDSA', async () => {
    const a = await t.http.get('/oauth2/jwks');
    const b = await t.http.get('/.well-known/jwks.json');
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(a.body.keys.map((k: { alg: string }) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const key of a.body.keys) expect(key.d).toBeUndefined();
  });

  it('signs with the kid of the RS256 key in the JWKS', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials' }, basic());
    const jwks = await t.http.get('/oauth2/jwks');
    const { kid } = decodeProtectedHeader(res.body.access_token);
    expect(jwks.body.keys.find((k: { kid: string }) => k.kid === kid).alg).toBe('RS256');
  });
});
