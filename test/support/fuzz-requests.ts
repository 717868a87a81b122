import { base64url } from 'jose';
import { ISSUER } from './app';
import { JWT_BEARER } from './client-assertions';
import { CLIENT_CERT_HEADER } from './certificates';
import { encodePairs, oddJson, ODD_STRINGS, percentEncode, Rng, type FuzzRequest } from './fuzz';
import type { LoginForm } from './login-form';

export const FUZZ_CALLBACK = 'https://app.example/callback';

/** A registered client and how to authenticate as it (the secret, a pool of signed assertions, a certificate). */
export interface FuzzClient {
  clientId: string;
  method: string;
  secret?: string;
  /** Client assertions signed in advance (generators are synchronous); each valid once, then a replay. */
  assertions?: string[];
  /** The client certificate, URL-encoded as the trusted proxy passes it. */
  certificate?: string;
}

/** Everything the generators aim at: the suite registers it before the run. */
export interface FuzzTargets {
  /** One client per token_endpoint_auth_method. */
  clients: FuzzClient[];
  /** A registered user's credentials. */
  user: { id: string; username: string; password: string };
  /** A second user the admin API requests change. */
  targetUser: { id: string };
  /** A client the admin API requests change. */
  targetClientId: string;
  /** Tokens a login returned (some requests present them, valid or not). */
  tokens: { accessToken: string; refreshToken: string; idToken: string };
  /** Refresh tokens of other logins of the confidential client: each rotates once, then is reuse. */
  refreshTokens: string[];
  /** Unredeemed authorization codes of the confidential client, with their PKCE verifiers. */
  codes: { code: string; verifier: string }[];
  admin: string;
  /** A login page's form (hidden fields, cookie). */
  form: LoginForm;
  /** Clients whose registered redirect URI carries an odd string (authorize redirects to them). */
  redirecting: { clientId: string; redirectUri: string }[];
}

/** Latin-1 printable only: Node's HTTP client refuses anything else in a header before it is sent. */
export const headerSafe = (value: string) => value.replace(/[^\x20-\x7e\xa0-\xff]/g, '');

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * Hostile requests to every endpoint: the token endpoint with every grant and every client
 * authentication method, authorization (GET and POST), the login form, UserInfo, introspection,
 * revocation, logout, the admin API with a valid admin token and without. Most requests are nearly
 * valid, so they get past the first check and reach the deeper ones. `generate(rng)` is a pure
 * function of the PRNG's state (given the same targets).
 */
export function fuzzRequests(targets: FuzzTargets, unique: (prefix: string) => string): (rng: Rng) => FuzzRequest {
  const { user, tokens, admin, form } = targets;
  const byMethod = (method: string) => targets.clients.find((c) => c.method === method);
  const confidential = byMethod('client_secret_basic')!;

  return (rng: Rng): FuzzRequest => {
    const odd = () => rng.pick(ODD_STRINGS);
    const maybe = (good: string, p = 0.5) => (rng.chance(p) ? good : odd());
    /** Name-value pairs for `fields`: each valid, odd, left out or repeated. */
    const pairs = (fields: Record<string, string>): [string, string][] => {
      const oddRate = rng.pick([0, 0.1, 0.2, 0.5]);
      const out: [string, string][] = [];
      for (const [name, good] of Object.entries(fields)) {
        const roll = rng.next();
        if (roll < oddRate) out.push([name, odd()]);
        else if (oddRate > 0 && roll < oddRate + 0.05) out.push([name, good], [name, odd()]);
        else if (oddRate > 0 && roll < oddRate + 0.1) continue;
        else out.push([name, good]);
      }
      if (oddRate > 0 && rng.chance(0.3)) out.push([odd().slice(0, 300), odd()]);
      return out;
    };
    const contentType = () =>
      rng.chance(0.8)
        ? 'application/x-www-form-urlencoded'
        : rng.pick([
            'application/json',
            'text/plain',
            'multipart/form-data; boundary=x',
            'application/x-www-form-urlencoded; charset=utf-16',
            'application/x-www-form-urlencoded;;;charset',
            'application/xml',
            'x/y',
          ]);
    /** A form body; sometimes with raw bytes that are not UTF-8, or as JSON. */
    const formBody = (fields: [string, string][], type: string): string | Buffer => {
      if (type === 'application/json') return rng.chance(0.5) ? JSON.stringify(Object.fromEntries(fields)) : JSON.stringify(oddJson(rng));
      const text = encodePairs(fields, rng);
      return rng.chance(0.1) ? Buffer.concat([Buffer.from(text), Buffer.from([0x26, 0x78, 0x3d, 0xff, 0xfe, 0xc3, 0x28, 0x00])]) : text;
    };
    /** A JWT-shaped string: odd header and claims, a junk signature. */
    const oddJwt = () =>
      `${base64url.encode(JSON.stringify(rng.chance(0.5) ? { alg: rng.pick(['none', 'HS256', 'RS256', 'ES256', 'EdDSA', odd()]), kid: odd() } : oddJson(rng)))}.${base64url.encode(
        JSON.stringify(rng.chance(0.5) ? { iss: odd(), sub: odd(), aud: rng.pick([`${ISSUER}/oauth2/token`, odd()]), exp: rng.pick([0, 2 ** 53, -1]), jti: odd() } : oddJson(rng)),
      )}.${rng.pick(['', 'x', odd()])}`;
    /** Client authentication by any method, as the client's own or broken. */
    const clientAuth = (): { headers: Record<string, string>; fields: Record<string, string> } => {
      const client = rng.pick(targets.clients);
      const broken = rng.chance(0.25);
      switch (client.method) {
        case 'client_secret_basic':
          if (broken) {
            return rng.pick([
              () => ({ headers: { Authorization: `Basic ${Buffer.from(`${odd()}:${odd()}`).toString('base64')}` }, fields: {} }),
              () => ({ headers: { Authorization: headerSafe(`Basic ${odd()}`) }, fields: {} }),
              () => ({ headers: { Authorization: basic(client.clientId, client.secret!) }, fields: { client_id: odd(), client_secret: odd() } }),
            ])();
          }
          return { headers: { Authorization: basic(client.clientId, client.secret!) }, fields: {} };
        case 'client_secret_post':
          return { headers: {}, fields: { client_id: client.clientId, client_secret: broken ? odd() : client.secret! } };
        case 'client_secret_jwt':
        case 'private_key_jwt': {
          const assertion = broken || !client.assertions?.length ? oddJwt() : rng.pick(client.assertions);
          const fields: Record<string, string> = { client_assertion_type: rng.chance(0.9) ? JWT_BEARER : odd(), client_assertion: assertion };
          if (rng.chance(0.5)) fields.client_id = maybe(client.clientId, 0.8);
          return { headers: {}, fields };
        }
        case 'tls_client_auth':
        case 'self_signed_tls_client_auth': {
          const cert = broken ? headerSafe(rng.pick([odd(), percentEncode(`-----BEGIN CERTIFICATE-----\n${odd()}\n-----END CERTIFICATE-----`), client.certificate!.slice(0, 200)])) : client.certificate!;
          const headers: Record<string, string> = rng.chance(0.9) ? { [CLIENT_CERT_HEADER]: cert } : {};
          if (rng.chance(0.2)) headers['X-Forwarded-For'] = headerSafe(rng.pick(['10.0.0.1', '::1, 127.0.0.1', odd(), '1.2.3.4, 5.6.7.8, 9.10.11.12']));
          return { headers, fields: { client_id: maybe(client.clientId, 0.9) } };
        }
        default:
          return { headers: {}, fields: { client_id: maybe(client.clientId, 0.8) } };
      }
    };
    const bearer = (): Record<string, string> => {
      switch (rng.int(6)) {
        case 0:
          return {};
        case 1:
          return { Authorization: `Bearer ${tokens.accessToken}` };
        case 2:
          return { Authorization: `Bearer ${tokens.idToken}` };
        case 3:
          return { Authorization: `Bearer ${admin}` };
        case 4:
          return { Authorization: headerSafe(`Bearer ${rng.chance(0.5) ? odd() : oddJwt()}`) };
        default:
          return { Authorization: headerSafe(`${rng.pick(['bearer', 'Bearer  ', 'Basic', 'DPoP', ''])} ${odd()}`) };
      }
    };
    // The admin API is mostly called with a valid admin token, so the requests reach validation.
    const adminAuth = () => (rng.chance(0.85) ? { Authorization: `Bearer ${admin}` } : bearer());
    const authorizeFields = () => {
      const { clientId, redirectUri } = rng.pick(targets.redirecting);
      return pairs({
        response_type: rng.chance(0.7) ? 'code' : 'token',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: 'openid profile',
        state: odd(),
        nonce: 'n-1',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        response_mode: rng.pick(['query', 'form_post', odd()]),
        prompt: rng.pick(['login', 'none', odd()]),
        max_age: rng.pick(['0', '600', '-1', '99999999999', odd()]),
        login_hint: 'alice',
        request: 'eyJ.x.y',
      });
    };
    const jsonBody = (fields: Record<string, () => unknown>): string => {
      if (rng.chance(0.1)) return rng.pick(['[]', '[{}]', '"x"', '1', 'null', '{"a":', '{"__proto__":{"x":1}}', '\u0000', JSON.stringify(oddJson(rng, 5))]);
      const oddRate = rng.pick([0, 0, 0.1, 0.4]);
      const body: Record<string, unknown> = {};
      for (const [name, good] of Object.entries(fields)) {
        const roll = rng.next();
        if (roll < oddRate) body[name] = rng.chance(0.5) ? odd() : oddJson(rng);
        else if (roll < 0.8) body[name] = good();
      }
      if (oddRate > 0 && rng.chance(0.2)) body[odd().slice(0, 40)] = oddJson(rng);
      return JSON.stringify(body);
    };
    const adminId = (good: string) => percentEncode(maybe(good, 0.6).slice(0, 600), rng.chance(0.3)) || 'x';

    const generators: [weight: number, generate: () => FuzzRequest][] = [
      // Token endpoint: every grant type, every client authentication method.
      [
        30,
        () => {
          const auth = clientAuth();
          const grant = rng.chance(0.9) ? rng.pick(['client_credentials', 'password', 'authorization_code', 'refresh_token']) : odd();
          const params: Record<string, string> =
            {
              client_credentials: { scope: rng.pick(['api:read', 'openid', '']) },
              // A right password costs a hash: mostly wrong ones.
              password: { username: rng.chance(0.3) ? user.username : odd(), password: maybe(user.password, 0.15), scope: 'openid', password_encrypt_type: 'none', refresh_expiry: '60', max_exchange_period: '1', token_format: 'opaque' },
              authorization_code: (() => {
                const real = rng.chance(0.5) ? rng.pick(targets.codes) : undefined;
                return { code: real?.code ?? rng.pick(['x'.repeat(43), odd()]), redirect_uri: FUZZ_CALLBACK, code_verifier: real && rng.chance(0.7) ? real.verifier : 'v'.repeat(43) };
              })(),
              refresh_token: { refresh_token: rng.chance(0.7) ? rng.pick([tokens.refreshToken, ...targets.refreshTokens]) : odd(), scope: rng.pick(['openid', 'openid offline_access', 'api:read']), refresh_expiry: '0', app_tid: 'x' },
            }[grant] ?? {};
          const type = contentType();
          const body = formBody([['grant_type', grant], ...Object.entries(auth.fields), ...pairs(params)], type);
          const headers: Record<string, string> = { ...auth.headers, 'Content-Type': type };
          // The end user's address a trusted backend forwards: valid, odd, several.
          if (rng.chance(0.2)) headers['Gatehouse-End-User-IP'] = headerSafe(rng.pick(['203.0.113.7', '2001:db8::1', '::ffff:10.0.0.1', '1.2.3.4, 5.6.7.8', odd()]));
          return { method: 'post', path: rng.pick(['/oauth2/token', '/oidc/token', '/api/v1/oauth2/token']), headers, body };
        },
      ],
      // Authorization endpoint by GET, with a raw query string.
      [10, () => ({ method: 'get', path: `${rng.pick(['/oauth2/authorize', '/oidc/auth'])}?${encodePairs(authorizeFields(), rng)}`, headers: {} })],
      // Authorization request by POST (form-serialized).
      [
        5,
        () => {
          const type = contentType();
          return { method: 'post', path: '/oauth2/authorize', headers: { 'Content-Type': type }, body: formBody(authorizeFields(), type) };
        },
      ],
      // The login form: the real hidden fields, odd credentials, CSRF token and cookie.
      [
        10,
        () => {
          const fields: [string, string][] = Object.entries(form.hidden).map(([n, v]) => [n, rng.chance(0.9) ? v : odd()]);
          fields.push(...pairs({ username: user.username, password: rng.chance(0.1) ? user.password : odd(), action: rng.pick(['login', 'login', 'cancel', odd()]), csrf_token: form.hidden.csrf_token }));
          const cookie = rng.chance(0.8) ? form.cookie : headerSafe(`${rng.pick(['gatehouse_login', 'x', ''])}=${odd()}; ${odd()}`);
          return { method: 'post', path: form.action, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie }, body: formBody(fields, 'application/x-www-form-urlencoded') };
        },
      ],
      // UserInfo by GET and POST.
      [
        8,
        () => {
          const method = rng.pick(['get', 'post'] as const);
          const path = rng.pick(['/oauth2/userinfo', '/oidc/me']);
          if (method === 'get') return { method, path, headers: bearer() };
          const type = contentType();
          return { method, path, headers: { ...bearer(), 'Content-Type': type }, body: formBody(pairs({ access_token: rng.chance(0.7) ? tokens.accessToken : oddJwt() }), type) };
        },
      ],
      // Introspection and revocation, with every client authentication method.
      [
        12,
        () => {
          const auth = clientAuth();
          const type = contentType();
          const fields = pairs({ token: rng.pick([tokens.accessToken, tokens.refreshToken, tokens.idToken, admin, oddJwt()]), token_type_hint: rng.pick(['access_token', 'refresh_token', odd()]) });
          return { method: 'post', path: rng.pick(['/oauth2/introspect', '/oauth2/revoke']), headers: { ...auth.headers, 'Content-Type': type }, body: formBody([...Object.entries(auth.fields), ...fields], type) };
        },
      ],
      // RP-initiated logout by GET and POST (the endpoint may not exist yet: a 404 is no failure).
      [
        6,
        () => {
          const fields = pairs({
            id_token_hint: rng.pick([tokens.idToken, oddJwt(), odd()]),
            client_id: rng.pick(targets.clients).clientId,
            post_logout_redirect_uri: rng.pick([FUZZ_CALLBACK, odd()]),
            state: odd(),
            ui_locales: odd(),
            logout_hint: odd(),
            // The confirmation form's fields.
            csrf_token: `${Math.floor(Date.now() / 1000) + 600}.${'A'.repeat(43)}`,
            action: rng.pick(['logout', 'cancel', odd()]),
          });
          const path = rng.pick(['/oauth2/logout', '/oidc/session/end']);
          const cookie: Record<string, string> = rng.chance(0.5)
            ? { Cookie: headerSafe(rng.pick([form.cookie, `gatehouse_sso=${rng.pick(['A'.repeat(43), odd()])}; ${form.cookie}`, odd()])) }
            : {};
          if (rng.chance(0.5)) return { method: 'get', path: `${path}?${encodePairs(fields, rng)}`, headers: cookie };
          const type = contentType();
          return { method: 'post', path, headers: { ...cookie, 'Content-Type': type }, body: formBody(fields, type) };
        },
      ],
      // Admin API: clients.
      [
        8,
        () => {
          const body = jsonBody({
            client_id: () => unique('fz'),
            client_name: () => odd().slice(0, 255),
            token_endpoint_auth_method: () => rng.pick(['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt', 'tls_client_auth', odd()]),
            grant_types: () => rng.pick([['authorization_code'], ['client_credentials'], [odd()]]),
            redirect_uris: () => [rng.pick([FUZZ_CALLBACK, odd()])],
            post_logout_redirect_uris: () => [rng.pick([FUZZ_CALLBACK, odd()])],
            backchannel_logout_uri: () => rng.pick(['http://127.0.0.1:1/backchannel', odd()]),
            backchannel_logout_session_required: () => rng.pick([true, odd()]),
            logout_revokes_refresh_tokens: () => rng.pick([false, odd()]),
            scope: () => 'openid profile',
            default_scope: () => 'openid',
            access_token_ttl: () => 60,
            access_token_audience: () => odd().slice(0, 1024),
            jwks: () => ({ keys: [oddJson(rng)] }),
            jwks_uri: () => rng.pick(['http://127.0.0.1:1/jwks', odd()]),
            tls_client_auth_subject_dn: () => odd(),
            allowed_cors_origins: () => [odd()],
            trust_end_user_ip_header: () => rng.pick([true, false, odd()]),
          });
          const op = rng.int(4);
          const headers = { ...adminAuth(), 'Content-Type': rng.chance(0.9) ? 'application/json' : contentType() };
          if (op === 0) return { method: 'post', path: '/admin/clients', headers, body };
          if (op === 1) return { method: 'patch', path: `/admin/clients/${adminId(targets.targetClientId)}`, headers, body };
          if (op === 2) return { method: rng.pick(['get', 'delete'] as const), path: `/admin/clients/${adminId(unique('none'))}`, headers: adminAuth() };
          return { method: 'post', path: `/admin/clients/${adminId(unique('none'))}/${rng.pick(['secret', 'unlock', odd()])}`, headers: adminAuth() };
        },
      ],
      // Admin API: users.
      [
        7,
        () => {
          const body = jsonBody({
            // Valid for the DTO, odd for the database: NUL, 4-byte characters, lone surrogates, maximal lengths.
            username: () => `${unique('u')}${odd().replace(/[\s@]/g, '')}`.slice(0, 255),
            email: () => `${unique('fz')}@example.com`,
            // Rarely a valid password: each one costs a hash.
            password: () => (rng.chance(0.2) ? `${odd()}password`.slice(0, 1024) : odd()),
            password_expires_at: () => rng.pick(['2030-01-01T00:00:00Z', odd()]),
            groups: () => [odd().slice(0, 100) || 'g'],
            name: () => odd().slice(0, 255),
            address: () => ({ formatted: odd().slice(0, 255) }),
            disabled: () => false,
          });
          const headers = { ...adminAuth(), 'Content-Type': 'application/json' };
          switch (rng.int(5)) {
            case 0:
              return { method: 'post', path: '/admin/users', headers, body };
            case 1:
              return { method: 'patch', path: `/admin/users/${adminId(targets.targetUser.id)}`, headers, body };
            case 2:
              return { method: 'post', path: `/admin/users/${adminId(targets.targetUser.id)}/${rng.pick(['password', 'lock', 'unlock'])}`, headers, body };
            case 3:
              return rng.chance(0.5)
                ? { method: 'get', path: `/admin/users/${adminId(targets.targetUser.id)}`, headers: adminAuth() }
                : { method: rng.pick(['get', 'delete'] as const), path: `/admin/users/${adminId(targets.targetUser.id)}/sessions`, headers: adminAuth() };
            default:
              return { method: 'get', path: `/admin/users?${encodePairs(pairs({ search: 'a', limit: '10', offset: '0' }), rng)}`, headers: adminAuth() };
          }
        },
      ],
      // Admin API: audit events, policy, key rotation (rarely: it generates keys).
      [
        4,
        () => {
          const roll = rng.int(20);
          if (roll < 10) return { method: 'get', path: `/admin/audit-events?${encodePairs(pairs({ user: user.id, client: confidential.clientId, type: 'login.failure', limit: '5' }), rng)}`, headers: adminAuth() };
          if (roll < 18) {
            const body = jsonBody({
              lockout_threshold: () => rng.pick([0, 5, 1000]),
              lockout_duration_seconds: () => 900,
              password_max_age_days: () => 0,
              initial_password_ttl_hours: () => 72,
              refresh_token_grace_seconds: () => rng.pick([0, 30]),
              sso_session_idle_seconds: () => rng.pick([0, 1800, odd()]),
              sso_session_max_seconds: () => rng.pick([36000, 31536001, odd()]),
            });
            return { method: 'put', path: '/admin/policy', headers: { ...adminAuth(), 'Content-Type': 'application/json' }, body };
          }
          if (roll < 19) return { method: 'get', path: rng.pick(['/admin/policy', '/admin/keys']), headers: adminAuth() };
          return { method: 'post', path: '/admin/keys/rotate', headers: bearer() };
        },
      ],
    ];
    const total = generators.reduce((n, [weight]) => n + weight, 0);
    let roll = rng.int(total);
    for (const [weight, generate] of generators) {
      if (roll < weight) {
        const request = generate();
        // Now and then a header every endpoint reads: an odd request id, forwarded-for, origin.
        if (rng.chance(0.05)) request.headers['X-Request-Id'] = headerSafe(odd()).slice(0, 200) || 'x';
        if (rng.chance(0.05)) request.headers.Origin = headerSafe(rng.pick(['https://app.example', 'null', odd()]));
        return request;
      }
      roll -= weight;
    }
    throw new Error('unreachable');
  };
}
