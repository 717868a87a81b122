import bcrypt from 'bcryptjs';
import { hash as argon2Hash, Algorithm } from '@node-rs/argon2';
import { UsersService } from '../../src/users/users.service';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';

const DEFAULT_POLICY = {
  lockout_threshold: 5,
  lockout_duration_seconds: 900,
  password_max_age_days: 0,
  initial_password_ttl_hours: 72,
  refresh_token_grace_seconds: 0,
};
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };
const LOCKED = { error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' };

describe('Password grant (SPEC §3.3, §3.7, §3.8) and the account policy (§6)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let policyChanged = false;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, { grant_types: ['password', 'refresh_token'], access_token_ttl: 1200 });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    t.clock.reset();
    if (policyChanged) {
      await putPolicy({});
      policyChanged = false;
    }
  });

  const basic = (c: CreatedClient = client) => ({ id: c.client_id, secret: c.client_secret! });
  const login = (form: Record<string, string>, c: CreatedClient = client) => tokenRequest(t, { grant_type: 'password', ...form }, basic(c));
  const loginAs = (user: CreatedUser, password = user.password) => login({ username: user.username as string, password });

  async function admin(method: 'get' | 'post' | 'put' | 'patch', path: string, body?: object) {
    const req = t.http[method](path).auth(await t.adminToken(), { type: 'bearer' });
    const res = await (body ? req.send(body) : req);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function putPolicy(fields: Partial<typeof DEFAULT_POLICY>) {
    policyChanged = true;
    return admin('put', '/admin/policy', { ...DEFAULT_POLICY, ...fields });
  }

  async function userRow(id: string) {
    const [row] = await t.db.query('SELECT failed_login_count, locked_at, admin_locked, password_hash FROM users WHERE id = ?', [id]);
    return { failedLoginCount: Number(row.failed_login_count), lockedAt: row.locked_at == null ? null : Number(row.locked_at), passwordHash: row.password_hash as string };
  }

  async function auditEvents(userId: string, type?: string) {
    const query = type ? `?user=${userId}&type=${type}` : `?user=${userId}`;
    return (await admin('get', `/admin/audit-events${query}&limit=1000`)) as { type: string; details: Record<string, unknown>; client_id: string | null }[];
  }

  function expectNoStore(res: { headers: Record<string, string> }) {
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  }

  describe('successful login and the response (§3.8)', () => {
    it('logs in by username and returns access token and id_token for the default scope "openid profile"', async () => {
      const user = await createUser(t);
      const res = await loginAs(user);
      expect(res.status).toBe(200);
      expectNoStore(res);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 1200,
        scope: 'openid profile',
        id_token: expect.any(String),
      });
      // The login is a session (token family) of this user and client.
      const families = await t.db.query('SELECT client_id, scope, amr, revoked_at FROM token_families WHERE user_id = ?', [user.id]);
      expect(families).toEqual([{ client_id: client.client_id, scope: 'openid profile', amr: 'pwd', revoked_at: null }]);
      const [success] = await auditEvents(user.id, 'login.success');
      expect(success).toMatchObject({ type: 'login.success', client_id: client.client_id });
    });

    it('matches `username` against the username, the email and the phone number; `email` and `phone` only their own field', async () => {
      const user = await createUser(t, { email: `${unique('mail')}@example.com`, phone_number: '+4915112340001' });
      const email = user.email as string;
      const forms: Record<string, string>[] = [
        { username: (user.username as string).toUpperCase() },
        { username: email.toUpperCase() },
        { username: '+49 151 1234-0001' },
        { email: ` ${email.toUpperCase()} ` },
        { phone: '0049 (151) 12340001' },
      ];
      for (const form of forms) {
        const res = await login({ ...form, password: user.password });
        expect({ form, status: res.status }).toEqual({ form, status: 200 });
      }
      const wrongField: Record<string, string>[] = [{ email: user.username as string }, { phone: email }, { email: '+4915112340001' }, { phone: user.username as string }];
      for (const form of wrongField) {
        const res = await login({ ...form, password: user.password });
        expect({ form, status: res.status, body: res.body }).toEqual({ form, status: 400, body: BAD_CREDENTIALS });
      }
    });

    it('prefers a username match over a phone-number match of another user', async () => {
      const phone = '+4915112340002';
      const byUsername = await createUser(t, { username: phone, password: 'password of the username owner' });
      await createUser(t, { phone_number: phone, password: 'password of the phone owner' });
      const ok = await login({ username: phone, password: byUsername.password });
      expect(ok.status).toBe(200);
      const other = await login({ username: phone, password: 'password of the phone owner' });
      expect(other.body).toEqual(BAD_CREDENTIALS);
      // `phone` looks only at phone numbers.
      expect((await login({ phone, password: 'password of the phone owner' })).status).toBe(200);
    });

    it('matches exactly on both stores: no accent-insensitive match (MySQL collations equate "é" and "e")', async () => {
      const name = unique('josé');
      const user = await createUser(t, { username: name, email: `${name}@example.com` });
      expect((await login({ username: name.toUpperCase(), password: user.password })).status).toBe(200);
      expect((await login({ email: `${name.toUpperCase()}@EXAMPLE.COM`, password: user.password })).status).toBe(200);
      const plain = name.replace('é', 'e');
      expect((await login({ username: plain, password: user.password })).body).toEqual(BAD_CREDENTIALS);
      expect((await login({ email: `${plain}@example.com`, password: user.password })).body).toEqual(BAD_CREDENTIALS);
      expect((await login({ username: `${plain}@example.com`, password: user.password })).body).toEqual(BAD_CREDENTIALS);
    });

    it('is allowed for a public client that has the grant (as Keycloak\'s direct access grants)', async () => {
      const publicClient = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
      const user = await createUser(t);
      const res = await tokenRequest(t, { grant_type: 'password', client_id: publicClient.client_id, username: user.username as string, password: user.password });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    });

    it('returns a refresh token only with offline_access, stored as a hash; refresh_expiry=0 suppresses it', async () => {
      const user = await createUser(t);
      const plain = await login({ username: user.username as string, password: user.password, scope: 'openid' });
      expect(plain.body.refresh_token).toBeUndefined();

      const offline = await login({ username: user.username as string, password: user.password, scope: 'openid offline_access' });
      expect(offline.status).toBe(200);
      expect(offline.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 1200,
        scope: 'openid offline_access',
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        refresh_expires_in: 2592000,
        id_token: expect.any(String),
      });
      const stored = await t.db.query('SELECT r.token_hash FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE f.user_id = ?', [user.id]);
      expect(stored).toHaveLength(1);
      expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored[0].token_hash).not.toBe(offline.body.refresh_token);

      const shortened = await login({ username: user.username as string, password: user.password, scope: 'offline_access', refresh_expiry: '60' });
      expect(shortened.body.refresh_expires_in).toBe(60);
      const none = await login({ username: user.username as string, password: user.password, scope: 'openid offline_access', refresh_expiry: '0' });
      expect(none.status).toBe(200);
      expect(none.body.refresh_token).toBeUndefined();
      expect(none.body.refresh_expires_in).toBeUndefined();
      expect(none.body.scope).toBe('openid offline_access');
    });

    it('gives no refresh token to a client that may not use the refresh_token grant', async () => {
      const noRefresh = await createClient(t, { grant_types: ['password'] });
      const user = await createUser(t);
      const res = await login({ username: user.username as string, password: user.password, scope: 'openid offline_access' }, noRefresh);
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toBeUndefined();
    });

    it('uses the client\'s default_scope, has no id_token without openid, and issues opaque tokens on request', async () => {
      const custom = await createClient(t, { grant_types: ['password'], scope: 'openid profile email api:read', default_scope: 'email api:read' });
      const user = await createUser(t);
      const res = await login({ username: user.username as string, password: user.password, token_format: 'opaque' }, custom);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 3600, scope: 'email api:read' });
    });

    it('refuses a scope the client may not use with invalid_scope, before checking the password', async () => {
      const narrow = await createClient(t, { grant_types: ['password'], scope: 'openid profile' });
      const user = await createUser(t);
      const res = await login({ username: user.username as string, password: 'wrong password', scope: 'openid email' }, narrow);
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'Scope not allowed for this client: email' });
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
      expect(await auditEvents(user.id, 'login.failure')).toEqual([]);
    });

    it('is unauthorized_client for a client without the password grant', async () => {
      const ccOnly = await createClient(t);
      const user = await createUser(t);
      const res = await login({ username: user.username as string, password: user.password }, ccOnly);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unauthorized_client', error_description: 'The client is not allowed to use the password grant' });
    });

    it('advertises the password grant in discovery', async () => {
      const res = await t.http.get('/.well-known/openid-configuration');
      expect(res.body.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', 'password']));
    });
  });

  describe('request validation (invalid_request), checked before any account lookup', () => {
    const invalid = (description: string) => ({ error: 'invalid_request', error_description: description });
    const EXCLUSIVE = invalid('username, email and phone are mutually exclusive');

    it.each([
      [{ username: 'a', email: 'a@example.com' }],
      [{ username: 'a', phone: '+4915112345678' }],
      [{ email: 'a@example.com', phone: '+4915112345678' }],
      [{ username: 'a', email: 'a@example.com', phone: '+4915112345678' }],
    ])('refuses two or more identifiers together: %j', async (identifiers) => {
      const res = await login({ ...identifiers, password: 'whatever' });
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual(EXCLUSIVE);
    });

    it('checks exclusivity before a missing password', async () => {
      expect((await login({ username: 'a', email: 'a@example.com' })).body).toEqual(EXCLUSIVE);
    });

    it('requires an identifier ("An authorization username must be supplied."), before the password', async () => {
      const forms: Record<string, string>[] = [{ password: 'whatever' }, { username: '', password: 'whatever' }, {}];
      for (const form of forms) {
        const res = await login(form);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalid('An authorization username must be supplied.'));
      }
    });

    it('requires a password ("A password must be supplied."); an empty one counts as missing', async () => {
      const user = await createUser(t);
      const forms: Record<string, string>[] = [{ username: user.username as string }, { email: 'a@example.com', password: '' }, { phone: '+4915112345678' }];
      for (const form of forms) {
        const res = await login(form);
        expect(res.status).toBe(400);
        expectNoStore(res);
        expect(res.body).toEqual(invalid('A password must be supplied.'));
      }
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
    });

    it('refuses a repeated password or identifier', async () => {
      const res = await t.http
        .post('/oauth2/token')
        .auth(client.client_id, client.client_secret!)
        .type('form')
        .send('grant_type=password&username=a&password=x&password=y');
      expect(res.status).toBe(400);
      expect(res.body).toEqual(invalid('Parameter "password" must not be repeated'));
    });

    it('accepts password_encrypt_type=none; an unknown type or a ciphertext that does not decrypt is invalid_request and no failure', async () => {
      // Transport encryption itself is proven in password-encryption.e2e-spec.ts.
      const user = await createUser(t);
      expect((await login({ username: user.username as string, password: user.password, password_encrypt_type: 'none' })).status).toBe(200);
      for (const type of ['rot13', 'RSA', 'base64']) {
        const res = await login({ username: user.username as string, password: 'c2VjcmV0', password_encrypt_type: type });
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalid('Unsupported password_encrypt_type'));
      }
      for (const type of ['rsa', 'sm2']) {
        const res = await login({ username: user.username as string, password: 'c2VjcmV0', password_encrypt_type: type });
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalid('Password could not be decrypted'));
      }
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
    });

    it('answers odd identifiers and passwords with a 4xx, never a 5xx', async () => {
      const user = await createUser(t);
      const odd = ['\u0000', 'ä'.repeat(300), '😀', "' OR 1=1 --", '%', '_', ' ', '\uFFFD'];
      for (const value of odd) {
        for (const kind of ['username', 'email', 'phone']) {
          const res = await login({ [kind]: value, password: value });
          expect({ kind, value, status: res.status, body: res.body }).toEqual({ kind, value, status: 400, body: BAD_CREDENTIALS });
        }
      }
      const huge = await login({ username: user.username as string, password: 'p'.repeat(60_000) });
      expect(huge.body).toEqual(BAD_CREDENTIALS);
      const tooBig = await login({ username: user.username as string, password: 'p'.repeat(70_000) });
      expect(tooBig.status).toBe(413);
      // The body limit (64 KiB) answers before the grant; not a 5xx either.
    });

    it('refuses bad lifetime parameters and token_format before the login', async () => {
      const user = await createUser(t);
      const cases: [Record<string, string>, string][] = [
        [{ max_exchange_period: '0' }, 'max_exchange_period must be a whole number of hours between 1 and 4320'],
        [{ max_exchange_period: '4321' }, 'max_exchange_period must be a whole number of hours between 1 and 4320'],
        [{ refresh_expiry: '-1' }, 'refresh_expiry must be a whole number of seconds'],
        [{ token_format: 'saml' }, 'token_format must be "opaque" or "jwt"'],
      ];
      for (const [extra, description] of cases) {
        const res = await login({ username: user.username as string, password: 'wrong password', ...extra });
        expect({ extra, status: res.status, body: res.body }).toEqual({ extra, status: 400, body: invalid(description) });
      }
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
    });
  });

  describe('outcome table (§3.3), in order, all 400 invalid_grant', () => {
    it('step 1: an unknown user reads "Bad credentials", byte-identical to a wrong password, and is audited without the identifier', async () => {
      const user = await createUser(t);
      const unknown = await login({ username: unique('nobody'), password: 'some password' });
      const wrong = await loginAs(user, 'some password');
      expect(unknown.status).toBe(400);
      expect(wrong.status).toBe(400);
      expect(unknown.body).toEqual(BAD_CREDENTIALS);
      expect(unknown.text).toBe(wrong.text);
      for (const header of ['content-type', 'content-length', 'cache-control', 'pragma', 'www-authenticate']) {
        expect(unknown.headers[header]).toBe(wrong.headers[header]);
      }
      const unknownForms: Record<string, string>[] = [{ email: `${unique('nobody')}@example.com` }, { phone: '+4915199999999' }, { phone: 'not a phone' }, { username: 'x'.repeat(300) }];
      for (const form of unknownForms) {
        const res = await login({ ...form, password: 'some password' });
        expect(res.text).toBe(wrong.text);
      }
      const events = (await admin('get', '/admin/audit-events?type=login.failure&limit=1000')) as { user_id: string | null; details: Record<string, unknown> }[];
      const unknownEvents = events.filter((e) => e.details.reason === 'unknown_user');
      expect(unknownEvents.length).toBeGreaterThanOrEqual(5);
      expect(unknownEvents[0]).toMatchObject({ user_id: null, details: { reason: 'unknown_user', identifier_kind: expect.any(String) } });
      expect(JSON.stringify(events)).not.toContain('some password');
      expect(JSON.stringify(events)).not.toContain('nobody');
    });

    it('step 2: a locked user reads "User is locked" with USER_LOCKED, and the password is not checked or counted', async () => {
      const user = await createUser(t);
      await admin('post', `/admin/users/${user.id}/lock`);
      for (const password of [user.password, 'wrong password']) {
        const res = await loginAs(user, password);
        expect(res.status).toBe(400);
        expectNoStore(res);
        expect(res.body).toEqual(LOCKED);
      }
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
    });

    it('step 2 comes before steps 4-8: a locked, disabled user reads "User is locked"', async () => {
      const user = await createUser(t, { disabled: true, password_change_required: true });
      await admin('post', `/admin/users/${user.id}/lock`);
      expect((await loginAs(user)).body).toEqual(LOCKED);
    });

    it('step 3: a wrong password reads "Bad credentials" and counts toward the lockout', async () => {
      const user = await createUser(t);
      const res = await loginAs(user, 'wrong password');
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(user.id)).failedLoginCount).toBe(1);
      const [failure] = await auditEvents(user.id, 'login.failure');
      expect(failure).toMatchObject({ client_id: client.client_id, details: { reason: 'bad_password', failed_login_count: 1 } });
      expect(JSON.stringify(failure)).not.toContain('wrong password');
    });

    it('step 4: a disabled user reads "User is disabled" only after a correct password', async () => {
      const user = await createUser(t, { disabled: true });
      const res = await loginAs(user);
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'User is disabled', error_code: 'USER_DISABLED' });
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
      const reasons = (await auditEvents(user.id, 'login.failure')).map((e) => e.details.reason).sort();
      expect(reasons).toEqual(['bad_password', 'disabled']);
    });

    it('step 4 comes before steps 5-8', async () => {
      const user = await createUser(t, { disabled: true, password_is_initial: true, password_expires_at: '2000-01-01T00:00:00.000Z', password_change_required: true, require_mfa: true });
      expect((await loginAs(user)).body.error_code).toBe('USER_DISABLED');
    });

    it('step 5: an initial password past initial_password_ttl_hours reads "Initial password has expired"', async () => {
      const user = await createUser(t, { password_is_initial: true });
      expect((await loginAs(user)).status).toBe(200);
      t.clock.advance(71 * HOUR);
      expect((await loginAs(user)).status).toBe(200);
      t.clock.advance(2 * HOUR);
      const res = await loginAs(user);
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Initial password has expired', error_code: 'INITIAL_PASSWORD_EXPIRED' });
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
    });

    it('step 5: an initial password past its password_expires_at, and initial_password_ttl_hours from the policy', async () => {
      const expiring = await createUser(t, { password_is_initial: true, password_expires_at: new Date(Date.now() + HOUR).toISOString() });
      const ttl = await createUser(t, { password_is_initial: true });
      const notInitial = await createUser(t);
      await putPolicy({ initial_password_ttl_hours: 1 });
      expect((await loginAs(expiring)).status).toBe(200);
      t.clock.advance(HOUR + 60_000);
      expect((await loginAs(expiring)).body.error_code).toBe('INITIAL_PASSWORD_EXPIRED');
      expect((await loginAs(ttl)).body.error_code).toBe('INITIAL_PASSWORD_EXPIRED');
      expect((await loginAs(notInitial)).status).toBe(200);
    });

    it('step 5 comes before steps 6-8', async () => {
      const user = await createUser(t, { password_is_initial: true, password_expires_at: '2000-01-01T00:00:00.000Z', password_change_required: true });
      expect((await loginAs(user)).body.error_code).toBe('INITIAL_PASSWORD_EXPIRED');
    });

    it('step 6: a password past password_expires_at reads "Password has expired"', async () => {
      const user = await createUser(t, { password_expires_at: new Date(Date.now() + DAY).toISOString() });
      expect((await loginAs(user)).status).toBe(200);
      t.clock.advance(DAY + 60_000);
      const res = await loginAs(user);
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Password has expired', error_code: 'PASSWORD_EXPIRED' });
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
    });

    it('step 6: a password older than password_max_age_days, effective as soon as the policy is PUT', async () => {
      const user = await createUser(t);
      t.clock.advance(10 * DAY);
      expect((await loginAs(user)).status).toBe(200);
      t.clock.reset();
      await putPolicy({ password_max_age_days: 10 });
      t.clock.advance(10 * DAY - HOUR);
      expect((await loginAs(user)).status).toBe(200);
      t.clock.advance(2 * HOUR);
      expect((await loginAs(user)).body).toEqual({ error: 'invalid_grant', error_description: 'Password has expired', error_code: 'PASSWORD_EXPIRED' });
      t.clock.reset();
      // A new password starts a new age.
      await admin('post', `/admin/users/${user.id}/password`, { password: 'a brand new password' });
      t.clock.advance(10 * DAY - HOUR);
      expect((await loginAs(user, 'a brand new password')).status).toBe(200);
    });

    it('step 6 comes before steps 7-8', async () => {
      const user = await createUser(t, { password_expires_at: '2000-01-01T00:00:00.000Z', password_change_required: true, require_mfa: true });
      expect((await loginAs(user)).body.error_code).toBe('PASSWORD_EXPIRED');
    });

    it('step 7: password_change_required reads "Password change required"', async () => {
      const user = await createUser(t, { password_change_required: true });
      const res = await loginAs(user);
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Password change required', error_code: 'PASSWORD_CHANGE_REQUIRED' });
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
    });

    it('step 7 comes before step 8', async () => {
      const user = await createUser(t, { password_change_required: true, require_mfa: true });
      expect((await loginAs(user)).body.error_code).toBe('PASSWORD_CHANGE_REQUIRED');
    });

    it('step 8: MFA required by the user or by the client without a TOTP enrolled reads "MFA enrollment required"', async () => {
      const mfaClient = await createClient(t, { grant_types: ['password'], require_mfa: true });
      const mfaUser = await createUser(t, { require_mfa: true });
      const plainUser = await createUser(t);
      const expected = { error: 'invalid_grant', error_description: 'MFA enrollment required', error_code: 'MFA_ENROLLMENT_REQUIRED' };
      const byUser = await loginAs(mfaUser);
      expect(byUser.status).toBe(400);
      expectNoStore(byUser);
      expect(byUser.body).toEqual(expected);
      expect((await login({ username: plainUser.username as string, password: plainUser.password }, mfaClient)).body).toEqual(expected);
      expect((await login({ username: plainUser.username as string, password: 'wrong password' }, mfaClient)).body).toEqual(BAD_CREDENTIALS);
      expect((await loginAs(plainUser)).status).toBe(200);
    });

    it('steps 4-8 neither count toward the lockout nor reset it', async () => {
      const user = await createUser(t);
      await loginAs(user, 'wrong password');
      await admin('patch', `/admin/users/${user.id}`, { disabled: true });
      expect((await loginAs(user)).body.error_code).toBe('USER_DISABLED');
      expect((await userRow(user.id)).failedLoginCount).toBe(1);
    });
  });

  describe('lockout (Policy module)', () => {
    it('locks at exactly lockout_threshold consecutive failures, refuses the correct password, and audits the lock once', async () => {
      const user = await createUser(t);
      for (let attempt = 1; attempt <= 4; attempt++) {
        expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
        expect(await userRow(user.id)).toMatchObject({ failedLoginCount: attempt, lockedAt: null });
      }
      // The 5th failure is still reported as bad credentials; it is the one that locks.
      const before = t.clock.nowMs();
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
      const locked = await userRow(user.id);
      expect(locked.failedLoginCount).toBe(5);
      expect(locked.lockedAt).toBeGreaterThanOrEqual(before);
      expect((await admin('get', `/admin/users/${user.id}`)).locked).toBe(true);

      expect((await loginAs(user)).body).toEqual(LOCKED);
      expect((await loginAs(user, 'wrong password')).body).toEqual(LOCKED);
      expect((await userRow(user.id)).failedLoginCount).toBe(5);

      const lockEvents = await auditEvents(user.id, 'user.locked');
      expect(lockEvents).toHaveLength(1);
      expect(lockEvents[0]).toMatchObject({ client_id: client.client_id, details: { reason: 'failed_logins', threshold: 5 } });
      const reasons = (await auditEvents(user.id, 'login.failure')).map((e) => e.details.reason);
      expect(reasons.filter((r) => r === 'bad_password')).toHaveLength(5);
      expect(reasons.filter((r) => r === 'locked')).toHaveLength(2);
    });

    it('lifts the lock after lockout_duration_seconds; the next success resets the counter', async () => {
      const user = await createUser(t);
      for (let i = 0; i < 5; i++) await loginAs(user, 'wrong password');
      t.clock.advance(899_000);
      expect((await loginAs(user)).body).toEqual(LOCKED);
      t.clock.advance(2_000);
      expect((await loginAs(user)).status).toBe(200);
      expect(await userRow(user.id)).toMatchObject({ failedLoginCount: 0, lockedAt: null });
    });

    it('starts counting from zero when a failure follows an expired lock', async () => {
      const user = await createUser(t);
      for (let i = 0; i < 5; i++) await loginAs(user, 'wrong password');
      t.clock.advance(901_000);
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
      expect(await userRow(user.id)).toMatchObject({ failedLoginCount: 1, lockedAt: null });
    });

    it('resets the counter on success, so only consecutive failures lock', async () => {
      const user = await createUser(t);
      for (let i = 0; i < 4; i++) await loginAs(user, 'wrong password');
      expect((await loginAs(user)).status).toBe(200);
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
      for (let i = 0; i < 4; i++) await loginAs(user, 'wrong password');
      expect((await loginAs(user)).status).toBe(200);
    });

    it('lockout_duration_seconds=0 locks until an administrator unlocks', async () => {
      await putPolicy({ lockout_duration_seconds: 0 });
      const user = await createUser(t);
      for (let i = 0; i < 5; i++) await loginAs(user, 'wrong password');
      t.clock.advance(365 * DAY);
      expect((await loginAs(user)).body).toEqual(LOCKED);
      t.clock.reset();
      const unlocked = await admin('post', `/admin/users/${user.id}/unlock`);
      expect(unlocked).toMatchObject({ locked: false, failed_login_count: 0 });
      expect((await loginAs(user)).status).toBe(200);
      expect((await auditEvents(user.id, 'user.unlocked')).length).toBe(1);
    });

    it('an admin unlock lifts a failed-login lock at once', async () => {
      const user = await createUser(t);
      for (let i = 0; i < 5; i++) await loginAs(user, 'wrong password');
      expect((await loginAs(user)).body).toEqual(LOCKED);
      await admin('post', `/admin/users/${user.id}/unlock`);
      expect(await userRow(user.id)).toMatchObject({ failedLoginCount: 0, lockedAt: null });
      expect((await loginAs(user)).status).toBe(200);
    });

    it('an admin lock takes effect at once, outlasts the lockout duration, and only an unlock lifts it', async () => {
      const user = await createUser(t);
      expect((await loginAs(user)).status).toBe(200);
      expect(await admin('post', `/admin/users/${user.id}/lock`)).toMatchObject({ locked: true });
      expect((await loginAs(user)).body).toEqual(LOCKED);
      t.clock.advance(30 * DAY);
      expect((await loginAs(user)).body).toEqual(LOCKED);
      t.clock.reset();
      expect((await auditEvents(user.id, 'user.locked'))[0]).toMatchObject({ details: { reason: 'admin' } });
      await admin('post', `/admin/users/${user.id}/unlock`);
      expect((await loginAs(user)).status).toBe(200);
    });

    it('a policy PUT changes threshold and duration at once', async () => {
      const user = await createUser(t);
      await putPolicy({ lockout_threshold: 2, lockout_duration_seconds: 60 });
      await loginAs(user, 'wrong password');
      expect((await loginAs(user)).status).toBe(200);
      await loginAs(user, 'wrong password');
      await loginAs(user, 'wrong password');
      expect((await loginAs(user)).body).toEqual(LOCKED);
      // A longer duration applies to the lock already in force.
      await putPolicy({ lockout_threshold: 2, lockout_duration_seconds: 600 });
      t.clock.advance(120_000);
      expect((await loginAs(user)).body).toEqual(LOCKED);
      // A threshold above the user's count lifts the lock: their failures no longer reach it.
      await putPolicy({ lockout_threshold: 3, lockout_duration_seconds: 600 });
      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
      expect(await userRow(user.id)).toMatchObject({ failedLoginCount: 3 });
      // ...until they reach it: the lock starts again from this failure.
      expect((await loginAs(user)).body).toEqual(LOCKED);
      expect((await userRow(user.id)).lockedAt).toBeGreaterThanOrEqual(t.clock.nowMs() - 60_000);
      expect(await auditEvents(user.id, 'user.locked')).toHaveLength(2);
    });

    it('counts 20 concurrent wrong attempts exactly once each and locks the user (threshold 20)', async () => {
      await putPolicy({ lockout_threshold: 20 });
      const user = await createUser(t);
      const responses = await Promise.all(Array.from({ length: 20 }, () => loginAs(user, 'wrong password')));
      expect(responses.map((r) => r.text)).toEqual(Array(20).fill(JSON.stringify(BAD_CREDENTIALS)));
      const row = await userRow(user.id);
      expect(row.failedLoginCount).toBe(20);
      expect(row.lockedAt).not.toBeNull();
      expect((await loginAs(user)).body).toEqual(LOCKED);
      expect(await auditEvents(user.id, 'user.locked')).toHaveLength(1);
    });

    it('with the default threshold, 20 concurrent wrong attempts lock the user once and every checked attempt counts', async () => {
      const user = await createUser(t);
      const responses = await Promise.all(Array.from({ length: 20 }, () => loginAs(user, 'wrong password')));
      const bad = responses.filter((r) => r.text === JSON.stringify(BAD_CREDENTIALS)).length;
      const locked = responses.filter((r) => r.text === JSON.stringify(LOCKED)).length;
      expect(bad + locked).toBe(20);
      const row = await userRow(user.id);
      // Attempts that passed the lock check before the lock each count once; none is lost.
      expect(row.failedLoginCount).toBe(bad);
      expect(row.failedLoginCount).toBeGreaterThanOrEqual(5);
      expect(row.lockedAt).not.toBeNull();
      expect((await loginAs(user)).body).toEqual(LOCKED);
      expect(await auditEvents(user.id, 'user.locked')).toHaveLength(1);
    });
  });

  describe('imported password hashes (§3.3)', () => {
    it.each([
      ['bcrypt $2b$', () => bcrypt.hashSync('imported password', 10)],
      ['bcrypt $2a$', () => bcrypt.hashSync('imported password', 10).replace(/^\$2b\$/, '$2a$')],
      ['bcrypt $2y$', () => bcrypt.hashSync('imported password', 10).replace(/^\$2b\$/, '$2y$')],
      ['argon2i', () => argon2Hash('imported password', { algorithm: Algorithm.Argon2i })],
    ])('verifies a %s hash and re-hashes it to argon2id on the next successful login', async (_name, make) => {
      const imported = await make();
      const user = await createUser(t, { password: undefined, password_hash: imported });
      expect(user).not.toHaveProperty('password_hash');
      expect((await userRow(user.id)).passwordHash).toBe(imported);

      expect((await loginAs(user, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(user.id)).passwordHash).toBe(imported);

      expect((await loginAs(user, 'imported password')).status).toBe(200);
      const rehashed = (await userRow(user.id)).passwordHash;
      expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await loginAs(user, 'imported password')).status).toBe(200);
      expect((await userRow(user.id)).passwordHash).toBe(rehashed);
    });

    it('the re-hash after a login never undoes a password an admin sets meanwhile (conditional on the verified hash)', async () => {
      const user = await createUser(t, { password: undefined, password_hash: bcrypt.hashSync('imported password', 10) });
      const users = t.app.get(UsersService);
      const replace = users.replacePasswordHash.bind(users);
      // The login has verified the imported hash and re-hashed the password when the admin sets a new one.
      const spy = jest.spyOn(users, 'replacePasswordHash').mockImplementationOnce(async (...args) => {
        const res = await t.http.post(`/admin/users/${user.id}/password`).auth(await t.adminToken(), { type: 'bearer' }).send({ password: 'set by the admin meanwhile' });
        expect(res.status).toBe(200);
        const replaced = await replace(...args);
        expect(replaced).toBe(false);
        return replaced;
      });
      try {
        expect((await loginAs(user, 'imported password')).status).toBe(200);
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
      expect((await loginAs(user, 'set by the admin meanwhile')).status).toBe(200);
      expect((await loginAs(user, 'imported password')).body).toEqual(BAD_CREDENTIALS);
    });

    it('refuses password together with password_hash, and hashes it cannot or should not verify', async () => {
      const token = await t.adminToken();
      const create = (body: object) => t.http.post('/admin/users').auth(token, { type: 'bearer' }).send({ username: unique('import'), ...body });
      const both = await create({ password: 'a long enough password', password_hash: bcrypt.hashSync('x', 4) });
      expect(both.status).toBe(400);
      expect(both.body.fields).toEqual({ password_hash: ['password and password_hash are mutually exclusive'] });
      const unknown = 'password_hash must be an argon2 PHC string or a bcrypt $2a$/$2b$/$2y$ hash (cost 10..14)';
      for (const [hash, reason] of [
        ['plaintext', unknown],
        ['$1$abc$def', unknown],
        [bcrypt.hashSync('x', 4).replace('$04$', '$31$'), 'bcrypt cost 31 is above the maximum of 14'],
        ['$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA', 'argon2 parameters above m=262144, t=16, p=16 are refused (every login would verify against them)'],
      ]) {
        const res = await create({ password_hash: hash });
        expect({ hash, status: res.status, fields: res.body.fields }).toEqual({ hash, status: 400, fields: { password_hash: [reason] } });
      }
      const neither = await create({});
      expect(neither.status).toBe(400);
      expect(Object.keys(neither.body.fields)).toEqual(['password']);
    });
  });
});
