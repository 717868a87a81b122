import type { TestApp } from './app';

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export interface CreatedClient {
  client_id: string;
  client_secret?: string;
  [field: string]: unknown;
}

/** Registers a client through the admin API; confidential client_credentials client by default. */
export async function createClient(t: TestApp, body: Record<string, unknown> = {}): Promise<CreatedClient> {
  const res = await t.http
    .post('/admin/clients')
    .auth(await t.adminToken(), { type: 'bearer' })
    .send({ client_id: unique('client'), grant_types: ['client_credentials'], ...body });
  if (res.status !== 201) throw new Error(`createClient: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CreatedClient;
}

export interface CreatedUser {
  id: string;
  password: string;
  [field: string]: unknown;
}

export const DEFAULT_PASSWORD = 'correct horse battery staple';

/** Creates a user through the admin API; returns the response plus the password used. */
export async function createUser(t: TestApp, body: Record<string, unknown> = {}): Promise<CreatedUser> {
  const password = (body.password as string) ?? DEFAULT_PASSWORD;
  const res = await t.http
    .post('/admin/users')
    .auth(await t.adminToken(), { type: 'bearer' })
    .send({ username: unique('user'), password, ...body });
  if (res.status !== 201) throw new Error(`createUser: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...(res.body as { id: string }), password };
}

/** POSTs a form to the token endpoint, optionally with HTTP Basic client authentication. */
export function tokenRequest(t: TestApp, form: Record<string, string>, basic?: { id: string; secret: string }) {
  const req = t.http.post('/oauth2/token').type('form');
  if (basic) req.auth(encodeURIComponent(basic.id), encodeURIComponent(basic.secret));
  return req.send(form);
}

/** Every OIDC profile claim with a value, plus phone, address and groups: for claim-mapping tests. */
export const FULL_PROFILE = {
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
};

/** Admin API requests authorised with `token()`; both getters are read per call, as suites set them in beforeAll. */
export function adminApi(app: () => TestApp, token: () => string) {
  const bearer = { type: 'bearer' } as const;
  return {
    post: (path: string) => app().http.post(path).auth(token(), bearer),
    get: (path: string) => app().http.get(path).auth(token(), bearer),
    patch: (path: string) => app().http.patch(path).auth(token(), bearer),
    delete: (path: string) => app().http.delete(path).auth(token(), bearer),
  };
}
