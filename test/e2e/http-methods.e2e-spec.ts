import { startApp, type TestApp } from '../support/app';

/** SPEC §2 endpoints with the methods each answers; the router answers HEAD wherever it answers GET. */
const ENDPOINTS = [
  { name: 'token', paths: ['/oauth2/token', '/oidc/token', '/api/v1/oauth2/token'], allow: ['POST'] },
  { name: 'introspection', paths: ['/oauth2/introspect'], allow: ['POST'] },
  { name: 'revocation', paths: ['/oauth2/revoke'], allow: ['POST'] },
  { name: 'UserInfo', paths: ['/oauth2/userinfo', '/oidc/me'], allow: ['GET', 'HEAD', 'POST'] },
  { name: 'authorization', paths: ['/oauth2/authorize', '/oidc/auth'], allow: ['GET', 'HEAD', 'POST'] },
  { name: 'end session', paths: ['/oauth2/logout', '/oidc/session/end'], allow: ['GET', 'HEAD', 'POST'] },
  { name: 'JWKS', paths: ['/oauth2/jwks', '/.well-known/jwks.json'], allow: ['GET', 'HEAD'] },
  { name: 'discovery', paths: ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'], allow: ['GET', 'HEAD'] },
  { name: 'password encryption keys', paths: ['/oauth2/password-encryption-keys', '/api/v3/system'], allow: ['GET', 'HEAD'] },
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const wrongMethods = ENDPOINTS.flatMap((endpoint) =>
  endpoint.paths.flatMap((path) => METHODS.filter((m) => !endpoint.allow.includes(m)).map((method) => ({ method, path, endpoint }))),
);

describe('Wrong methods on the OAuth endpoints (SPEC §3.1: 405 with an OAuth body)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const send = (method: string, path: string) => t.http[method.toLowerCase() as 'get'](path);

  it.each(wrongMethods.map((c) => [c.method, c.path, c.endpoint] as const))('%s %s is 405 with Allow and invalid_request', async (method, path, endpoint) => {
    const res = await send(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(endpoint.allow.join(', '));
    expect(res.headers['cache-control']).toBe('no-store');
    if (method !== 'HEAD') {
      const verbs = endpoint.allow.filter((m) => m !== 'HEAD').join(' and ');
      expect(res.body).toEqual({ error: 'invalid_request', error_description: `The ${endpoint.name} endpoint accepts only ${verbs}` });
    }
  });

  it('answers the same with a query string and a trailing slash', async () => {
    for (const path of ['/oauth2/introspect?token=x', '/oauth2/revoke/', '/oidc/token/?a=b']) {
      const res = await t.http.put(path);
      expect([path, res.status, res.headers.allow]).toEqual([path, 405, 'POST']);
    }
  });

  it('still answers 404 for paths that are no endpoint', async () => {
    const res = await t.http.put('/oauth2/tokens');
    expect(res.status).toBe(404);
  });

  it.each(ENDPOINTS.flatMap((e) => e.paths.flatMap((path) => e.allow.map((method) => [method, path] as const))))(
    '%s %s is routed (never 404 or 405)',
    async (method, path) => {
      const res = await send(method, path);
      expect([404, 405]).not.toContain(res.status);
    },
  );
});
