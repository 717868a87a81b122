import { decodeJwt } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { CertificateFactory, publicJwk, TLS_PROXY_ENV, type TestCertificate } from '../support/certificates';
import { hmac, keyPair, type TestKeyPair } from '../support/client-assertions';
import { createClient, createUser, unique, FULL_PROFILE, type CreatedUser } from '../support/fixtures';
import { clientTokenRequest, login, loginName } from '../support/login';
import { authorizePath, loginForCode, openLoginPage, pkcePair, submitLogin } from '../support/login-form';
import { atHashOf, clientPost, introspect, userinfo, verifyAgainstJwks, type AuthenticatingClient } from '../support/oidc';
import { CookieJar, LogoutReceiver } from '../support/sso';

const CB = 'https://app.example/callback';
const BAD_CLIENT = { error: 'invalid_client', error_description: 'Bad client credentials' };
/** The client_id of a resource server registered as a client (SPEC §4 introspection). */
const RESOURCE_SERVER = unique('resource-server');
/** The subject of the tls_client_auth test certificate, in OpenSSL's form and as registered (RFC 4514). */
const TLS_SUBJECT = '/O=Gatehouse Test/CN=discovery-client';
const TLS_SUBJECT_DN = 'CN=discovery-client,O=Gatehouse Test';

/**
 * The configurations whose documents differ: the certificate methods (RFC 8705) are advertised only
 * behind a trusted TLS-terminating proxy that passes client certificates on. Each document is proven.
 */
const SETUPS = [
  { setup: 'default configuration', env: {}, certificateMethods: [] as string[] },
  {
    setup: 'behind a trusted TLS proxy passing client certificates (TRUSTED_PROXIES, TRUSTED_CLIENT_CERT_HEADER)',
    env: TLS_PROXY_ENV,
    certificateMethods: ['tls_client_auth', 'self_signed_tls_client_auth'],
  },
];

/**
 * Client key pairs by alg, made once (RSA generation is slow): the one a client registers, and a
 * stranger's under the same kid for the wrong-credential check.
 */
const keyPairs = new Map<string, Promise<TestKeyPair>>();
function clientKeyPair(alg: string, role: 'registered' | 'stranger'): Promise<TestKeyPair> {
  const id = `${role}/${alg}`;
  if (!keyPairs.has(id)) keyPairs.set(id, keyPair(alg, `key-${alg}`));
  return keyPairs.get(id)!;
}

type Metadata = Record<string, unknown>;

/**
 * SPEC §2: discovery advertises only what is true. Every value of the document is exercised through
 * HTTP here; a value this suite has no way to exercise fails the suite, so that whoever advertises
 * something new proves it here too.
 */
describe.each(SETUPS)('Discovery metadata: every advertised value is true (SPEC §2, OIDC Discovery 1.0, RFC 8414), $setup', ({ env, certificateMethods }) => {
  let t: TestApp;
  let meta: Metadata;
  let user: CreatedUser;
  /** A confidential client that introspects the tokens whose audience names it. */
  let resourceServer: AuthenticatingClient;
  const certs = new CertificateFactory();
  /** tls_client_auth: a certificate with the registered subject, and one from the same CA with another. */
  let tlsCert: TestCertificate;
  let otherSubjectCert: TestCertificate;
  /** self_signed_tls_client_auth: the registered certificate, and another one. */
  let selfSignedCert: TestCertificate;
  let otherSelfSignedCert: TestCertificate;

  beforeAll(async () => {
    const ca = certs.selfSigned('/O=Gatehouse Test/CN=Discovery Test CA');
    tlsCert = certs.issued(ca, TLS_SUBJECT);
    otherSubjectCert = certs.issued(ca, '/O=Gatehouse Test/CN=someone-else');
    selfSignedCert = certs.selfSigned('/CN=discovery-self-signed');
    otherSelfSignedCert = certs.selfSigned('/CN=discovery-self-signed');
    t = await startApp({ env });
    const res = await t.http.get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    meta = res.body;
    resourceServer = await createClient(t, { client_id: RESOURCE_SERVER });
    user = await createUser(t, {
      username: unique('Full'),
      email: `${unique('full')}@example.com`,
      email_verified: true,
      ...FULL_PROFILE,
    });
  });
  afterAll(async () => {
    await t.close();
    certs.remove();
  });

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

  /**
   * A client registered with `method` that can use every grant and scope (public clients get what they
   * may use), with the credential the test presents for it: its secret, or the key or certificate
   * registered here for the methods without one.
   */
  async function clientWith(method: string, extra: Record<string, unknown> = {}): Promise<AuthenticatingClient> {
    const grant_types = method === 'none' ? ['authorization_code', 'refresh_token', 'password'] : ALL_GRANTS;
    const registration: Record<string, unknown> = {};
    const credential: Pick<AuthenticatingClient, 'signer' | 'certificate'> = {};
    if (method === 'private_key_jwt') {
      const pair = await clientKeyPair('ES256', 'registered');
      registration.jwks = { keys: [pair.jwk] };
      credential.signer = pair.signer;
    } else if (method === 'tls_client_auth') {
      registration.tls_client_auth_subject_dn = TLS_SUBJECT_DN;
      credential.certificate = tlsCert;
    } else if (method === 'self_signed_tls_client_auth') {
      registration.jwks = { keys: [await publicJwk(selfSignedCert)] };
      credential.certificate = selfSignedCert;
    }
    const client = await createClient(t, {
      token_endpoint_auth_method: method,
      grant_types,
      redirect_uris: [CB],
      scope: `${ALL_SCOPES} api:read`,
      default_scope: 'openid',
      ...registration,
      ...extra,
    });
    return { ...client, ...credential };
  }

  /** The same client presenting a credential that is not its own, with the same method (and alg). */
  async function withWrongCredential(client: AuthenticatingClient): Promise<AuthenticatingClient> {
    const method = client.token_endpoint_auth_method as string;
    switch (method) {
      case 'client_secret_basic':
      case 'client_secret_post':
        return { ...client, client_secret: `${client.client_secret}x` };
      case 'client_secret_jwt':
        return { ...client, signer: hmac(`${client.client_secret}x`, client.signer?.alg) };
      case 'private_key_jwt':
        // Another key of the same type, under the registered kid.
        return { ...client, signer: (await clientKeyPair(client.signer!.alg, 'stranger')).signer };
      case 'tls_client_auth':
        return { ...client, certificate: otherSubjectCert };
      case 'self_signed_tls_client_auth':
        return { ...client, certificate: otherSelfSignedCert };
      case 'none':
        // A public client's only credential is its client_id.
        return { ...client, client_id: unique('unregistered') };
      default:
        throw noExerciser('client authentication method', method);
    }
  }

  async function codeFlow(client: AuthenticatingClient, extra: Record<string, string> = {}) {
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
    'token_endpoint_auth_signing_alg_values_supported',
    'introspection_endpoint_auth_signing_alg_values_supported',
    'revocation_endpoint_auth_signing_alg_values_supported',
    'scopes_supported',
    'subject_types_supported',
    'id_token_signing_alg_values_supported',
    'claims_supported',
    'prompt_values_supported',
    'end_session_endpoint',
    'backchannel_logout_supported',
    'backchannel_logout_session_supported',
    'frontchannel_logout_supported',
    'frontchannel_logout_session_supported',
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
      end_session_endpoint: async (path) => {
        // Without an id_token_hint, the user is asked to confirm.
        const res = await t.http.get(path);
        expect(res.status).toBe(200);
        expect(res.text).toContain('name="csrf_token"');
      },
      service_documentation: async (path) => {
        const res = await t.http.get(path);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
      },
    };
    const advertised = Object.keys(meta).filter((field) => field.endsWith('_endpoint') || field === 'jwks_uri' || field === 'service_documentation');
    expect(advertised.length).toBeGreaterThanOrEqual(8);
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
    async function tokenFor(client: AuthenticatingClient) {
      if (client.token_endpoint_auth_method === 'none') return (await codeFlow(client, { scope: 'openid offline_access' })).res;
      return clientTokenRequest(t, client, { grant_type: 'client_credentials', scope: 'api:read' });
    }

    const KNOWN = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none'];

    /**
     * Per endpoint: its metadata fields, the client registration it needs, and the proof that a client
     * authenticates there (the request does what the endpoint does) while the same request with a
     * wrong credential is refused and changes nothing. `what` names the case in failure messages.
     */
    const ENDPOINTS: {
      endpoint: string;
      methods: string;
      algs: string;
      registration: Record<string, unknown>;
      prove(client: AuthenticatingClient, wrong: AuthenticatingClient, what: string): Promise<void>;
    }[] = [
      {
        endpoint: 'token_endpoint',
        methods: 'token_endpoint_auth_methods_supported',
        algs: 'token_endpoint_auth_signing_alg_values_supported',
        registration: {},
        async prove(client, wrong, what) {
          const res = await tokenFor(client);
          expect({ what, status: res.status }).toEqual({ what, status: 200 });
          expect(res.body.access_token).toEqual(expect.any(String));
          const refused = await clientPost(t, wrong, localPath(meta.token_endpoint), { grant_type: 'client_credentials' });
          expect({ what, status: refused.status, body: refused.body }).toEqual({ what, status: 401, body: BAD_CLIENT });
        },
      },
      {
        endpoint: 'introspection_endpoint',
        methods: 'introspection_endpoint_auth_methods_supported',
        algs: 'introspection_endpoint_auth_signing_alg_values_supported',
        registration: {},
        async prove(client, wrong, what) {
          const token = (await tokenFor(client)).body.access_token as string;
          const res = await clientPost(t, client, localPath(meta.introspection_endpoint), { token });
          expect({ what, status: res.status }).toEqual({ what, status: 200 });
          expect(res.body).toMatchObject({ active: true, client_id: client.client_id });
          const refused = await clientPost(t, wrong, localPath(meta.introspection_endpoint), { token });
          expect({ what, status: refused.status, body: refused.body }).toEqual({ what, status: 401, body: BAD_CLIENT });
        },
      },
      {
        endpoint: 'revocation_endpoint',
        methods: 'revocation_endpoint_auth_methods_supported',
        algs: 'revocation_endpoint_auth_signing_alg_values_supported',
        // The resource server the tokens are for watches them: public clients may revoke but not introspect.
        registration: { access_token_format: 'opaque', access_token_audience: RESOURCE_SERVER },
        async prove(client, wrong, what) {
          const token = (await tokenFor(client)).body.access_token as string;
          const refused = await clientPost(t, wrong, localPath(meta.revocation_endpoint), { token });
          expect({ what, status: refused.status, body: refused.body }).toEqual({ what, status: 401, body: BAD_CLIENT });
          expect(await introspect(t, resourceServer, token)).toMatchObject({ active: true, client_id: client.client_id });
          const res = await clientPost(t, client, localPath(meta.revocation_endpoint), { token });
          expect({ what, status: res.status }).toEqual({ what, status: 200 });
          expect(await introspect(t, resourceServer, token)).toEqual({ active: false });
        },
      },
    ];

    it.each(ENDPOINTS)('every $methods value authenticates at the $endpoint, and a wrong credential does not', async ({ methods, registration, prove }) => {
      for (const method of list(methods)) {
        if (!KNOWN.includes(method)) throw noExerciser(methods, method);
        const client = await clientWith(method, registration);
        await prove(client, await withWrongCredential(client), method);
      }
    });

    /** A client authenticating with assertions signed with `alg`: HMAC with its secret, or a key pair of its own. */
    async function clientSigningWith(alg: string, registration: Record<string, unknown>): Promise<AuthenticatingClient> {
      if (alg.startsWith('HS')) {
        const client = await clientWith('client_secret_jwt', registration);
        return { ...client, signer: hmac(client.client_secret!, alg) };
      }
      let pair: TestKeyPair;
      try {
        pair = await clientKeyPair(alg, 'registered');
      } catch {
        throw noExerciser('client assertion alg', alg);
      }
      return { ...(await clientWith('private_key_jwt', { ...registration, jwks: { keys: [pair.jwk] } })), signer: pair.signer };
    }

    it.each(ENDPOINTS)('every $algs value signs a client assertion accepted at the $endpoint, and one by a wrong key or secret is not', async ({ methods, algs, registration, prove }) => {
      for (const alg of list(algs)) {
        const client = await clientSigningWith(alg, registration);
        // RFC 8414 §2: the algs are those of the assertion methods, so the method is advertised too.
        expect({ alg, methodAdvertised: list(methods).includes(client.token_endpoint_auth_method as string) }).toEqual({ alg, methodAdvertised: true });
        await prove(client, await withWrongCredential(client), alg);
      }
    });

    it('introspection_endpoint_auth_methods_supported leaves out none, which the token and revocation endpoints list: a public client is refused at introspection (RFC 7662 §2.1)', async () => {
      expect(list('token_endpoint_auth_methods_supported')).toContain('none');
      expect(list('revocation_endpoint_auth_methods_supported')).toContain('none');
      expect(list('introspection_endpoint_auth_methods_supported')).toEqual(list('token_endpoint_auth_methods_supported').filter((method) => method !== 'none'));
      const publicClient = await clientWith('none');
      const token = (await tokenFor(publicClient)).body.access_token as string;
      const refused = await clientPost(t, publicClient, localPath(meta.introspection_endpoint), { token });
      expect({ status: refused.status, body: refused.body }).toEqual({ status: 401, body: BAD_CLIENT });
    });

    it(`the certificate methods (RFC 8705) are ${certificateMethods.length ? '' : 'not '}advertised in this configuration`, () => {
      for (const { methods } of ENDPOINTS) {
        expect(list(methods).filter((method) => method.includes('tls_client_auth'))).toEqual(certificateMethods);
      }
    });
  });

  describe('authorization endpoint', () => {
    it('every response_types_supported and response_modes_supported value returns a code the client can redeem', async () => {
      const client = await clientWith('client_secret_basic');
      expect(list('response_modes_supported')).toEqual(['query', 'form_post']);
      const byMode: Record<string, (responseType: string) => Promise<void>> = {
        query: async (responseType) => {
          const { res, location } = await codeFlow(client, { response_type: responseType, response_mode: 'query', state: 'st' });
          expect(location.hash).toBe('');
          expect(location.searchParams.get('state')).toBe('st');
          expect(res.status).toBe(200);
        },
        // A page whose form posts the response to the redirect_uri.
        form_post: async (responseType) => {
          const { form } = await openLoginPage(t, { response_type: responseType, client_id: client.client_id, redirect_uri: CB, response_mode: 'form_post', state: 'st' });
          const page = await submitLogin(t, form, { username: loginName(user), password: user.password });
          expect(page.status).toBe(200);
          expect(page.text).toContain(`<form method="post" action="${CB}">`);
          expect(page.text).toContain('<input type="hidden" name="state" value="st">');
          const code = /name="code" value="([^"]+)"/.exec(page.text)![1];
          const res = await clientTokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: CB });
          expect(res.status).toBe(200);
        },
      };
      for (const responseType of list('response_types_supported')) {
        if (responseType !== 'code') throw noExerciser('response type', responseType);
        for (const mode of list('response_modes_supported')) {
          if (!byMode[mode]) throw noExerciser('response mode', mode);
          await byMode[mode](responseType);
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

    it('every prompt_values_supported value does what it says with a single sign-on session', async () => {
      const client = await clientWith('client_secret_basic');
      const browser = new CookieJar();
      const params = (extra: Record<string, string>) => authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', ...extra });
      const page = await browser.get(t, params({}));
      await browser.submitLogin(t, page, { username: loginName(user), password: user.password });
      const prove: Record<string, () => Promise<void>> = {
        none: async () => {
          const withSession = await browser.get(t, params({ prompt: 'none' }));
          expect(new URL(withSession.headers.location).searchParams.get('code')).toBeTruthy();
          const without = await t.http.get(params({ prompt: 'none' }));
          expect(new URL(without.headers.location).searchParams.get('error')).toBe('login_required');
        },
        login: async () => {
          expect((await browser.get(t, params({}))).status).toBe(302);
          const res = await browser.get(t, params({ prompt: 'login' }));
          expect(res.status).toBe(200);
          expect(res.text).toContain('name="password"');
        },
      };
      for (const prompt of list('prompt_values_supported')) {
        if (!prove[prompt]) throw noExerciser('prompt value', prompt);
        await prove[prompt]();
      }
    });

    it('backchannel_logout_supported and backchannel_logout_session_supported: logout sends a logout token with the sid; no front-channel logout', async () => {
      expect(meta.backchannel_logout_supported).toBe(true);
      expect(meta.backchannel_logout_session_supported).toBe(true);
      expect(meta.frontchannel_logout_supported).toBe(false);
      expect(meta.frontchannel_logout_session_supported).toBe(false);
      const receiver = new LogoutReceiver();
      await receiver.start();
      try {
        const client = await clientWith('client_secret_basic', { backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true });
        const browser = new CookieJar();
        const page = await browser.get(t, authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid' }));
        const done = await browser.submitLogin(t, page, { username: loginName(user), password: user.password });
        const code = new URL(done.headers.location).searchParams.get('code')!;
        const idToken = (await clientTokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: CB })).body.id_token as string;
        const logout = await browser.get(t, `${localPath(meta.end_session_endpoint)}?${new URLSearchParams({ id_token_hint: idToken })}`);
        expect(logout.status).toBe(200);
        const [delivery] = await receiver.waitFor(1);
        const { payload } = await verifyAgainstJwks(t, delivery.body.get('logout_token')!, { audience: client.client_id, typ: 'logout+jwt' });
        expect(payload.sid).toBe(decodeJwt(idToken).sid);
        expect(payload.sub).toBe(user.id);
      } finally {
        await receiver.stop();
      }
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
