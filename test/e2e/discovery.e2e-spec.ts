import { decodeJwt } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { clientTokenRequest, login, loginName } from '../support/login';
import { authorizePath, loginForCode, pkcePair } from '../support/login-form';
import { atHashOf, clientPost, introspect, userinfo, verifyAgainstJwks } from '../support/oidc';

const CB = 'https://app.example/callback';

type Metadata = Record<string, unknown>;

/**
 * SPEC §2: discovery advertises only what is true. Every value of the document is exercised through
 * HTTP here; a value this suite has no way to exercise fails the suite, so that whoever advertises
 * something new proves it here too.
 */
describe('Discovery metadata: every advertised value is true (SPEC §2, OIDC Discovery 1.0, RFC 8414)', () => {
  let t: TestApp;
  let meta: Metadata;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    const res = await t.http.get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    meta = res.body;
    user = await createUser(t, {
      username: unique('Full'),
      email: `${unique('full')}@example.com`,
      email_verified: true,
      phone_number: '+4915112345678',
      phone_number_verified: false,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      middle_name: 'Augusta',
      nickname: 'ada',
      profile: 'https://example.com/ada',
      picture: 'https://example.com/ada.png',
      website: 'https://ada.example.com',
      gender: 'female',
      birthdate: '1815-12-10',
      zoneinfo: 'Europe/London',
      locale: 'en-GB',
      address: { street_address: '12 St James Square', locality: 'London', postal_code: 'SW1Y 4JH', country: 'GB' },
      groups: ['analysts', 'engineers'],
    });
  });
  afterAll(() => t.close());

  const list = (name: string) => {
    const value = meta[name];
    expect(Array.isArray(value)).toBe(true);
    expect((value as unknown[]).length).toBeGreaterThan(0);
    return value as string[];
  };
  /** The advertised URL on the test server: the issuer replaced by the server the tests talk to. */
  const localPath = (url: unknown) => {
    expect(typeof url).toBe('string');
    expect((url as string).startsWith(`${ISSUER}/`)).toBe(true);
    return (url as string).slice(ISSUER.length);
  };
  const noExerciser = (field: string, value: string) => new Error(`discovery advertises ${field} "${value}" but this suite has no way to prove it: add one`);

  const ALL_GRANTS = ['authorization_code', 'refresh_token', 'password', 'client_credentials'];
  const ALL_SCOPES = 'openid profile email address phone offline_access groups';

  /** A client registered with `method` that can use every grant and scope; public clients get what they may use. */
  function clientWith(method: string, extra: Record<string, unknown> = {}): Promise<CreatedClient> {
    const grant_types = method === 'none' ? ['authorization_code', 'refresh_token', 'password'] : ALL_GRANTS;
    return createClient(t, { token_endpoint_auth_method: method, grant_types, redirect_uris: [CB], scope: `${ALL_SCOPES} api:read`, default_scope: 'openid', ...extra });
  }

  async function codeFlow(client: CreatedClient, extra: Record<string, string> = {}) {
    const pkce = pkcePair();
    const { code, location } = await loginForCode(
      t,
      { response_type: 'code', client_id: client.client_id, redirect_uri: CB, code_challenge: pkce.challenge, code_challenge_method: 'S256', ...extra },
      { username: loginName(user), password: user.password },
    );
    const res = await clientTokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: extra.code_verifier ?? pkce.verifier });
    return { res, location };
  }

  /** Fields this suite knows how to check; a new one fails the suite until it is exercised below. */
  const CHECKED_FIELDS = [
    'issuer',
    'authorization_endpoint',
    'token_endpoint',
    'jwks_uri',
    'userinfo_endpoint',
    'introspection_endpoint',
    'revocation_endpoint',
    'service_documentation',
    'grant_types_supported',
    'response_types_supported',
    'response_modes_supported',
    'code_challenge_methods_supported',
    'authorization_response_iss_parameter_supported',
    'request_parameter_supported',
    'request_uri_parameter_supported',
    'token_endpoint_auth_methods_supported',
    'introspection_endpoint_auth_methods_supported',
    'revocation_endpoint_auth_methods_supported',
    'scopes_supported',
    'subject_types_supported',
    'id_token_signing_alg_values_supported',
    'claims_supported',
  ];

  it('advertises only fields this suite proves, at both well-known paths, with the issuer of the tokens', async () => {
    expect(Object.keys(meta).filter((field) => !CHECKED_FIELDS.includes(field))).toEqual([]);
    const rfc8414 = await t.http.get('/.well-known/oauth-authorization-server');
    expect(rfc8414.status).toBe(200);
    expect(rfc8414.body).toEqual(meta);
    expect(meta.issuer).toBe(ISSUER);
    // OIDC Discovery §3: these are REQUIRED.
    for (const field of ['issuer', 'authorization_endpoint', 'jwks_uri', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']) {
      expect(meta).toHaveProperty(field);
    }
    const tokens = await login(t, await clientWith('client_secret_basic'), user, { scope: 'openid' });
    expect(decodeJwt(tokens.id_token!).iss).toBe(meta.issuer);
    expect(decodeJwt(tokens.access_token).iss).toBe(meta.issuer);
  });

  it('every advertised endpoint answers at its URL', async () => {
    const client = await clientWith('client_secret_basic');
    const tokens = await login(t, client, user, { scope: 'openid offline_access' });
    const exercise: Record<string, (path: string) => Promise<void>> = {
      authorization_endpoint: async (path) => {
        const res = await t.http.get(`${path}?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid' })}`);
        expect(res.status).toBe(200);
        expect(res.text).toContain('<form method="post"');
      },
      token_endpoint: async (path) => {
        const res = await t.http.post(path).auth(client.client_id, client.client_secret!).type('form').send({ grant_type: 'client_credentials', scope: 'api:read' });
        expect(res.status).toBe(200);
        expect(res.body.token_type).toBe('Bearer');
      },
      jwks_uri: async (path) => {
        const res = await t.http.get(path);
        expect(res.status).toBe(200);
        expect(res.body.keys.length).toBeGreaterThan(0);
      },
      userinfo_endpoint: async (path) => {
        const res = await t.http.get(path).auth(tokens.access_token, { type: 'bearer' });
        expect(res.status).toBe(200);
        expect(res.body.sub).toBe(user.id);
      },
      introspection_endpoint: async (path) => {
        const res = await t.http.post(path).auth(client.client_id, client.client_secret!).type('form').send({ token: tokens.access_token });
        expect(res.status).toBe(200);
        expect(res.body.active).toBe(true);
      },
      revocation_endpoint: async (path) => {
        const res = await t.http.post(path).auth(client.client_id, client.client_secret!).type('form').send({ token: tokens.refresh_token! });
        expect(res.status).toBe(200);
        expect(await introspect(t, client, tokens.refresh_token!)).toEqual({ active: false });
      },
      service_documentation: async (path) => {
        const res = await t.http.get(path);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
      },
    };
    const advertised = Object.keys(meta).filter((field) => field.endsWith('_endpoint') || field === 'jwks_uri' || field === 'service_documentation');
    expect(advertised.length).toBeGreaterThanOrEqual(7);
    for (const field of advertised) {
      if (!exercise[field]) throw noExerciser('endpoint', field);
      await exercise[field](localPath(meta[field]));
    }
  });

  it('every grant type in grant_types_supported obtains a token', async () => {
    const client = await clientWith('client_secret_basic');
    const obtain: Record<string, () => Promise<{ status: number; body: Record<string, unknown> }>> = {
      client_credentials: () => clientTokenRequest(t, client, { grant_type: 'client_credentials', scope: 'api:read' }),
      password: () => clientTokenRequest(t, client, { grant_type: 'password', username: loginName(user), password: user.password, scope: 'openid' }),
      authorization_code: async () => (await codeFlow(client, { scope: 'openid' })).res,
      refresh_token: async () => {
        const first = await login(t, client, user, { scope: 'openid offline_access' });
        return clientTokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: first.refresh_token! });
      },
    };
    for (const grantType of list('grant_types_supported')) {
      if (!obtain[grantType]) throw noExerciser('grant type', grantType);
      const res = await obtain[grantType]();
      expect({ grantType, status: res.status }).toEqual({ grantType, status: 200 });
      expect(res.body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    }
  });

  describe('client authentication methods', () => {
    /** A token obtained with the method: client_credentials for confidential clients, the code flow for public ones. */
    async function tokenFor(client: CreatedClient) {
      if (client.token_endpoint_auth_method === 'none') return (await codeFlow(client, { scope: 'openid offline_access' })).res;
      return clientTokenRequest(t, client, { grant_type: 'client_credentials', scope: 'api:read' });
    }

    const KNOWN = ['client_secret_basic', 'client_secret_post', 'none'];

    it('every token_endpoint_auth_methods_supported value authenticates at the token endpoint, and a wrong credential does not', async () => {
      for (const method of list('token_endpoint_auth_methods_supported')) {
        if (!KNOWN.includes(method)) throw noExerciser('token endpoint auth method', method);
        const client = await clientWith(method);
        const res = await tokenFor(client);
        expect({ method, status: res.status }).toEqual({ method, status: 200 });
        expect(res.body.access_token).toEqual(expect.any(String));
        if (method !== 'none') {
          const wrong = await clientTokenRequest(t, { ...client, client_secret: `${client.client_secret}x` }, { grant_type: 'client_credentials' });
          expect({ method, status: wrong.status, body: wrong.body }).toEqual({ method, status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } });
        }
      }
    });

    it('every introspection_endpoint_auth_methods_supported value authenticates at the introspection endpoint', async () => {
      for (const method of list('introspection_endpoint_auth_methods_supported')) {
        if (!KNOWN.includes(method)) throw noExerciser('introspection auth method', method);
        const client = await clientWith(method);
        const token = (await tokenFor(client)).body.access_token as string;
        const res = await clientPost(t, client, localPath(meta.introspection_endpoint), { token });
        expect({ method, status: res.status }).toEqual({ method, status: 200 });
        expect(res.body).toMatchObject({ active: true, client_id: client.client_id });
      }
    });

    it('every revocation_endpoint_auth_methods_supported value authenticates at the revocation endpoint', async () => {
      for (const method of list('revocation_endpoint_auth_methods_supported')) {
        if (!KNOWN.includes(method)) throw noExerciser('revocation auth method', method);
        const client = await clientWith(method, { access_token_format: 'opaque' });
        const token = (await tokenFor(client)).body.access_token as string;
        const res = await clientPost(t, client, localPath(meta.revocation_endpoint), { token });
        expect({ method, status: res.status }).toEqual({ method, status: 200 });
        expect(await introspect(t, client, token)).toEqual({ active: false });
      }
    });
  });

  describe('authorization endpoint', () => {
    it('every response_types_supported and response_modes_supported value returns a code in the redirect query', async () => {
      const client = await clientWith('client_secret_basic');
      expect(list('response_modes_supported')).toEqual(['query']);
      for (const responseType of list('response_types_supported')) {
        if (responseType !== 'code') throw noExerciser('response type', responseType);
        for (const mode of list('response_modes_supported')) {
          const { res, location } = await codeFlow(client, { response_type: responseType, response_mode: mode, state: 'st' });
          expect(location.hash).toBe('');
          expect(location.searchParams.get('state')).toBe('st');
          expect(res.status).toBe(200);
        }
      }
      // Anything else is refused with a redirect naming the error.
      const other = await t.http.get(authorizePath({ response_type: 'token', client_id: client.client_id, redirect_uri: CB, state: 'st' }));
      expect(other.status).toBe(302);
      expect(Object.fromEntries(new URL(other.headers.location).searchParams)).toMatchObject({ error: 'unsupported_response_type', state: 'st' });
    });

    it('every code_challenge_methods_supported value works end to end', async () => {
      for (const method of list('code_challenge_methods_supported')) {
        const client = await clientWith('none', method === 'plain' ? { allow_pkce_plain: true } : {});
        const pkce = pkcePair();
        const challenge = { S256: pkce.challenge, plain: pkce.verifier }[method];
        if (!challenge) throw noExerciser('code challenge method', method);
        const { res } = await codeFlow(client, { code_challenge: challenge, code_challenge_method: method, code_verifier: pkce.verifier, scope: 'openid' });
        expect({ method, status: res.status }).toEqual({ method, status: 200 });
        const wrong = await codeFlow(client, { code_challenge: challenge, code_challenge_method: method, code_verifier: `${pkce.verifier}x`, scope: 'openid' });
        expect(wrong.res.body).toEqual({ error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' });
      }
    });

    it('authorization_response_iss_parameter_supported: every redirect, success or error, carries iss (RFC 9207)', async () => {
      expect(meta.authorization_response_iss_parameter_supported).toBe(true);
      const client = await clientWith('client_secret_basic');
      const { location } = await codeFlow(client);
      expect(location.searchParams.get('iss')).toBe(meta.issuer);
      const error = await t.http.get(authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'unknown-scope' }));
      expect(error.status).toBe(302);
      const params = new URL(error.headers.location).searchParams;
      expect(params.get('error')).toBe('invalid_scope');
      expect(params.get('iss')).toBe(meta.issuer);
    });

    it('request_parameter_supported and request_uri_parameter_supported are false, and such requests are refused', async () => {
      expect(meta.request_parameter_supported).toBe(false);
      expect(meta.request_uri_parameter_supported).toBe(false);
      const client = await clientWith('client_secret_basic');
      for (const [param, error] of [
        ['request', 'request_not_supported'],
        ['request_uri', 'request_uri_not_supported'],
      ]) {
        const res = await t.http.get(authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, [param]: 'eyJhbGciOiJub25lIn0.e30.' }));
        expect(res.status).toBe(302);
        expect(new URL(res.headers.location).searchParams.get('error')).toBe(error);
      }
    });
  });

  describe('scopes, subjects, signatures and claims', () => {
    it('every scopes_supported value can be granted, with its effect', async () => {
      const client = await clientWith('client_secret_basic');
      for (const scope of list('scopes_supported')) {
        // A scope alone, except offline_access and the claim scopes, which are asked with openid to show their effect.
        const requested = scope === 'openid' ? 'openid' : `openid ${scope}`;
        const res = await clientTokenRequest(t, client, { grant_type: 'password', username: loginName(user), password: user.password, scope: requested });
        expect({ scope, status: res.status }).toEqual({ scope, status: 200 });
        expect(res.body.scope).toBe(requested);
        expect(typeof res.body.id_token).toBe('string');
        expect('refresh_token' in res.body).toBe(scope === 'offline_access');
      }
    });

    it('subject_types_supported "public": a user has the same sub at every client', async () => {
      expect(list('subject_types_supported')).toEqual(['public']);
      const [a, b] = [await clientWith('client_secret_basic'), await clientWith('client_secret_post')];
      const subs = [decodeJwt((await login(t, a, user, { scope: 'openid' })).id_token!).sub, decodeJwt((await login(t, b, user, { scope: 'openid' })).id_token!).sub];
      expect(subs).toEqual([user.id, user.id]);
    });

    it('every id_token_signing_alg_values_supported value signs an id_token that verifies against the JWKS', async () => {
      for (const alg of list('id_token_signing_alg_values_supported')) {
        const client = await clientWith('client_secret_basic', { id_token_signed_response_alg: alg });
        const tokens = await login(t, client, user, { scope: 'openid' });
        const { header, payload } = await verifyAgainstJwks(t, tokens.id_token!, { audience: client.client_id });
        expect({ alg: header.alg, kid: typeof header.kid }).toEqual({ alg, kid: 'string' });
        expect(payload.at_hash).toBe(atHashOf(tokens.access_token, alg));
        // Through the code flow too.
        const { res } = await codeFlow(client, { scope: 'openid', nonce: 'n' });
        const viaCode = await verifyAgainstJwks(t, res.body.id_token, { audience: client.client_id });
        expect(viaCode.header.alg).toBe(alg);
        expect(viaCode.payload.nonce).toBe('n');
      }
    });

    it('every claims_supported claim appears in the id_token or at UserInfo for some scope', async () => {
      const client = await clientWith('client_secret_basic');
      const tokens = await login(t, client, user, { scope: ALL_SCOPES });
      const idToken = (await verifyAgainstJwks(t, tokens.id_token!, { audience: client.client_id })).payload;
      const me = await userinfo(t, tokens.access_token);
      expect(me.status).toBe(200);
      const seen = new Set([...Object.keys(idToken), ...Object.keys(me.body)]);
      const missing = list('claims_supported').filter((claim) => !seen.has(claim));
      expect(missing).toEqual([]);
    });
  });
});
