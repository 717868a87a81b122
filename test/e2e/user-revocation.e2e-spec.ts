import type { Response } from 'supertest';
import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, createUser, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login } from '../support/login';
import { loginForCode } from '../support/login-form';

/**
 * Revocation that reaches every token (SPEC §4, §6): admin lock, disable, delete, password set and
 * DELETE /admin/users/{id}/sessions, done through one instance, end every refresh token, discard
 * every outstanding authorization code, and make every access token (opaque and JWT) inactive at
 * introspection and invalid at UserInfo on the other instance at once.
 */

const CB = 'https://app.example/callback';
const SCOPE = 'openid profile offline_access';

describe('Revocation that reaches every token of a user, across two instances', () => {
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;
  let client: CreatedClient;

  beforeAll(async () => {
    ({ a, b } = await startInstances());
    client = await createClient(a, { grant_types: ['password', 'refresh_token', 'authorization_code'], redirect_uris: [CB], scope: SCOPE, default_scope: SCOPE });
  });
  afterAll(() => closeInstances(a, b));

  const admin = async (t: TestApp) => ({ Authorization: `Bearer ${await t.adminToken()}` });
  const basic = () => ({ Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` });
  const introspect = async (t: TestApp, token: string) => {
    const res = await t.http.post('/oauth2/introspect').set(basic()).type('form').send({ token });
    expect(res.status).toBe(200);
    return res.body as { active: boolean };
  };
  const userinfo = (t: TestApp, token: string) => t.http.get('/oauth2/userinfo').set('Authorization', `Bearer ${token}`);
  const refresh = (t: TestApp, token: string) => t.http.post('/oauth2/token').set(basic()).type('form').send({ grant_type: 'refresh_token', refresh_token: token });
  const redeem = (t: TestApp, code: string) => t.http.post('/oauth2/token').set(basic()).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: CB });
  const expectInvalidToken = (res: Response) => {
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  };

  /** Everything a user can be signed in with, obtained through instance A: a JWT and an opaque session, and a code not yet redeemed. */
  async function signedIn(user: CreatedUser) {
    const jwt = await login(a, client, user);
    const opaque = await login(a, client, user, { token_format: 'opaque' });
    const { code } = await loginForCode(a, { response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid' }, { username: user.username as string, password: user.password });
    // Live on B before the action.
    expect(await introspect(b, opaque.access_token)).toMatchObject({ active: true });
    expect(await introspect(b, jwt.access_token)).toMatchObject({ active: true });
    return { jwt, opaque, code };
  }

  async function expectEverythingEnded(user: CreatedUser, session: Awaited<ReturnType<typeof signedIn>>) {
    const { jwt, opaque, code } = session;
    for (const token of [jwt.access_token, opaque.access_token, jwt.refresh_token!, opaque.refresh_token!]) {
      expect(await introspect(b, token)).toEqual({ active: false });
    }
    for (const token of [jwt.access_token, opaque.access_token]) expectInvalidToken(await userinfo(b, token));
    for (const token of [jwt.refresh_token!, opaque.refresh_token!]) {
      const res = await refresh(b, token);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    }
    const redeemed = await redeem(b, code);
    expect(redeemed.status).toBe(400);
    expect(redeemed.body.error).toBe('invalid_grant');
    const [codes] = await b.db.query('SELECT COUNT(*) AS n FROM authorization_codes WHERE user_id = ? AND consumed_at IS NULL', [user.id]);
    expect(Number(codes.n)).toBe(0);
  }

  const ACTIONS: Array<[string, (t: TestApp, id: string) => Promise<Response>, string]> = [
    ['POST /admin/users/{id}/lock', async (t, id) => t.http.post(`/admin/users/${id}/lock`).set(await admin(t)), 'user_locked'],
    ['PATCH /admin/users/{id} {"disabled":true}', async (t, id) => t.http.patch(`/admin/users/${id}`).set(await admin(t)).send({ disabled: true }), 'user_disabled'],
    ['DELETE /admin/users/{id}', async (t, id) => t.http.delete(`/admin/users/${id}`).set(await admin(t)), 'user_deleted'],
    ['POST /admin/users/{id}/password', async (t, id) => t.http.post(`/admin/users/${id}/password`).set(await admin(t)).send({ password: 'a brand new passphrase' }), 'password_set'],
    ['DELETE /admin/users/{id}/sessions', async (t, id) => t.http.delete(`/admin/users/${id}/sessions`).set(await admin(t)), 'admin'],
  ];

  it.each(ACTIONS)('%s on one instance ends every refresh token, code and access token of the user on the other', async (_name, action, reason) => {
    const user = await createUser(a);
    const bystander = await createUser(a);
    const session = await signedIn(user);
    const untouched = await login(a, client, bystander, { token_format: 'opaque' });

    const res = await action(a, user.id);
    expect(res.status).toBeLessThan(300);
    await expectEverythingEnded(user, session);
    const families = await b.db.query('SELECT revoked_reason FROM token_families WHERE user_id = ?', [user.id]);
    expect(families.map((f: { revoked_reason: string }) => f.revoked_reason)).toEqual(Array(families.length).fill(reason));
    expect(families.length).toBeGreaterThanOrEqual(2);

    // Another user's session is untouched.
    expect(await introspect(b, untouched.access_token)).toMatchObject({ active: true });
    expect((await refresh(b, untouched.refresh_token!)).status).toBe(200);
  });

  it('POST /admin/users/{id}/password with "keep_sessions": true keeps every session and code; the new password logs in', async () => {
    const user = await createUser(a);
    const { jwt, opaque, code } = await signedIn(user);
    const res = await a.http.post(`/admin/users/${user.id}/password`).set(await admin(a)).send({ password: 'a brand new passphrase', keep_sessions: true });
    expect(res.status).toBe(200);
    for (const token of [jwt.access_token, opaque.access_token, jwt.refresh_token!]) expect(await introspect(b, token)).toMatchObject({ active: true });
    expect((await userinfo(b, opaque.access_token)).status).toBe(200);
    expect((await refresh(b, jwt.refresh_token!)).status).toBe(200);
    expect((await redeem(b, code)).status).toBe(200);
    await login(b, client, { ...user, password: 'a brand new passphrase' });
  });

  it('refuses a keep_sessions that is not a boolean', async () => {
    const user = await createUser(a);
    const res = await a.http.post(`/admin/users/${user.id}/password`).set(await admin(a)).send({ password: 'a brand new passphrase', keep_sessions: 'yes' });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.fields)).toEqual(['keep_sessions']);
  });

  it('a user locked by failed logins: introspection of their JWT access token and refresh token reads inactive while the lock lasts, UserInfo refuses; active again once it expires', async () => {
    const user = await createUser(a);
    const jwt = await login(a, client, user);
    for (let i = 0; i < 5; i++) {
      const res = await a.http.post('/oauth2/token').set(basic()).type('form').send({ grant_type: 'password', username: user.username as string, password: 'wrong' });
      expect(res.body.error_description).toBe('Bad credentials');
    }
    expect(await introspect(b, jwt.access_token)).toEqual({ active: false });
    expect(await introspect(b, jwt.refresh_token!)).toEqual({ active: false });
    expectInvalidToken(await userinfo(b, jwt.access_token));
    // The default lockout lasts 900 s; the session itself was not ended.
    b.clock.advance(901_000);
    try {
      expect(await introspect(b, jwt.refresh_token!)).toMatchObject({ active: true });
    } finally {
      b.clock.advance(-901_000);
    }
  });

  it('introspection of a disabled user\'s refresh token reads inactive even when no session was ended (disabled directly in the store)', async () => {
    const user = await createUser(a);
    const session = await login(a, client, user);
    // Disabled directly in the store, as an import or another tool might: no session was ended.
    await a.db.query('UPDATE users SET disabled = ? WHERE id = ?', [true, user.id]);
    expect(await introspect(b, session.refresh_token!)).toEqual({ active: false });
    expect(await introspect(b, session.access_token)).toEqual({ active: false });
    expectInvalidToken(await userinfo(b, session.access_token));
  });
});
