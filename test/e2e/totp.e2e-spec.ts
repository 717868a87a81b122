import { decodeJwt } from 'jose';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { openLoginPage, pageAlert, submitLogin } from '../support/login-form';
import { base32ToBytes, totp, totpStepAt } from '../support/totp';

const KEK = 'a-key-encryption-secret-of-at-least-32-chars';
const CB = 'https://app.example/callback';
const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };
const MFA_ENROLLMENT_REQUIRED = { error: 'invalid_grant', error_description: 'MFA enrollment required', error_code: 'MFA_ENROLLMENT_REQUIRED' };
const DEFAULT_POLICY = { lockout_threshold: 5, lockout_duration_seconds: 900, password_max_age_days: 0, initial_password_ttl_hours: 72, refresh_token_grace_seconds: 0 };
const STEP_MS = 30_000;

describe('Two-factor login with TOTP (SPEC §3.3, §5, §6)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let mfaClient: CreatedClient;
  let policyChanged = false;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: 'openid profile offline_access' });
    mfaClient = await createClient(t, { grant_types: ['password'], require_mfa: true });
  });
  afterAll(() => t.close());
  // In the middle of a 30-second step, so that a request never straddles a step boundary.
  beforeEach(() => t.clock.advance(STEP_MS + STEP_MS / 2 - (t.clock.nowMs() % STEP_MS)));
  afterEach(async () => {
    if (policyChanged) {
      await admin('put', '/admin/policy', DEFAULT_POLICY);
      policyChanged = false;
    }
  });

  async function admin(method: 'get' | 'post' | 'put' | 'delete', path: string, body?: object) {
    const req = t.http[method](path).auth(await t.adminToken(), { type: 'bearer' });
    return body ? req.send(body) : req;
  }

  async function putPolicy(fields: Partial<typeof DEFAULT_POLICY>) {
    policyChanged = true;
    expect((await admin('put', '/admin/policy', { ...DEFAULT_POLICY, ...fields })).status).toBe(200);
  }

  /** A user enrolled in TOTP; require_mfa unless told otherwise. */
  async function enrolledUser(fields: Record<string, unknown> = {}): Promise<CreatedUser & { secret: string }> {
    const user = await createUser(t, { require_mfa: true, ...fields });
    const res = await admin('post', `/admin/users/${user.id}/totp`);
    expect(res.status).toBe(201);
    return { ...user, secret: res.body.secret as string };
  }

  const basic = (c: CreatedClient) => ({ id: c.client_id, secret: c.client_secret! });
  const login = (user: CreatedUser, password: string, c: CreatedClient = client, extra: Record<string, string> = {}) =>
    tokenRequest(t, { grant_type: 'password', username: user.username as string, password, ...extra }, basic(c));
  const code = (user: { secret: string }, stepOffset = 0) => totp(user.secret, t.clock.nowMs(), stepOffset);
  const currentStep = () => totpStepAt(t.clock.nowMs());

  async function userRow(id: string) {
    const [row] = await t.db.query('SELECT failed_login_count, totp_secret, totp_last_step FROM users WHERE id = ?', [id]);
    return {
      failedLoginCount: Number(row.failed_login_count),
      totpSecret: row.totp_secret as string | null,
      totpLastStep: row.totp_last_step == null ? null : Number(row.totp_last_step),
    };
  }

  async function auditEvents(userId: string, type: string) {
    const res = await admin('get', `/admin/audit-events?user=${userId}&type=${type}&limit=1000`);
    return res.body as { type: string; details: Record<string, unknown> }[];
  }

  describe('enrolment: POST /admin/users/{id}/totp', () => {
    it('returns a 160-bit base32 secret and its otpauth URI once, and stores the secret only encrypted', async () => {
      const user = await createUser(t);
      const res = await admin('post', `/admin/users/${user.id}/totp`);
      expect(res.status).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      const secret = res.body.secret as string;
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(base32ToBytes(secret)).toHaveLength(20);
      expect(res.body).toEqual({
        secret,
        otpauth_uri: `otpauth://totp/Gatehouse:${user.username}?secret=${secret}&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30`,
      });

      const row = await userRow(user.id);
      const raw = base32ToBytes(secret);
      expect(row.totpSecret).toMatch(/^srv:v1\./);
      for (const form of [secret, secret.toLowerCase(), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')]) {
        expect(row.totpSecret!.toLowerCase()).not.toContain(form.toLowerCase());
      }
      expect(row.totpLastStep).toBeNull();

      const shown = await admin('get', `/admin/users/${user.id}`);
      expect(shown.body.mfa_enrolled).toBe(true);
      expect(JSON.stringify(shown.body)).not.toContain(secret);
      const events = await auditEvents(user.id, 'admin.user.totp_enrolled');
      expect(events).toHaveLength(1);
      expect(JSON.stringify(events)).not.toContain(secret);
    });

    it('names the account by email or phone number when the user has no username', async () => {
      const email = `${unique('ada')}@example.com`;
      const byEmail = await createUser(t, { username: undefined, email });
      const res = await admin('post', `/admin/users/${byEmail.id}/totp`);
      const uri = new URL(res.body.otpauth_uri);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toBe(`/Gatehouse:${email}`);
      expect(Object.fromEntries(uri.searchParams)).toEqual({ secret: res.body.secret, issuer: 'Gatehouse', algorithm: 'SHA1', digits: '6', period: '30' });
      const byPhone = await createUser(t, { username: undefined, phone_number: '+4915112345001' });
      const phoneUri = (await admin('post', `/admin/users/${byPhone.id}/totp`)).body.otpauth_uri as string;
      expect(phoneUri).toMatch(/^otpauth:\/\/totp\/Gatehouse:%2B4915112345001\?secret=/);
    });

    it('404 for an unknown user, 401 without an admin token', async () => {
      expect((await admin('post', '/admin/users/00000000-0000-0000-0000-000000000000/totp')).status).toBe(404);
      expect((await admin('delete', '/admin/users/00000000-0000-0000-0000-000000000000/totp')).status).toBe(404);
      const user = await createUser(t);
      expect((await t.http.post(`/admin/users/${user.id}/totp`)).status).toBe(401);
      expect((await t.http.delete(`/admin/users/${user.id}/totp`)).status).toBe(401);
      expect((await userRow(user.id)).totpSecret).toBeNull();
    });

    it('is in the OpenAPI document with DELETE', async () => {
      const doc = (await t.http.get('/docs-json')).body as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      expect(Object.keys(doc.paths['/admin/users/{id}/totp']).sort()).toEqual(['delete', 'post']);
      expect(Object.keys(doc.paths['/admin/users/{id}/totp'].post.responses)).toEqual(expect.arrayContaining(['201', '404']));
    });

    it('a second enrolment replaces the secret: the old one stops working, the new one works', async () => {
      const user = await enrolledUser();
      expect((await login(user, `${user.password}${code(user)}`)).status).toBe(200);
      const again = await admin('post', `/admin/users/${user.id}/totp`);
      expect(again.status).toBe(201);
      expect(again.body.secret).not.toBe(user.secret);
      expect((await userRow(user.id)).totpLastStep).toBeNull();
      t.clock.advance(STEP_MS);
      expect((await login(user, `${user.password}${code(user)}`)).body).toEqual(BAD_CREDENTIALS);
      expect((await login(user, `${user.password}${totp(again.body.secret, t.clock.nowMs())}`)).status).toBe(200);
    });

    it('with KEY_ENCRYPTION_SECRET the secret is sealed with a key derived from it, and logins work', async () => {
      const app = await startApp({ env: { KEY_ENCRYPTION_SECRET: KEK } });
      try {
        const user = await createUser(app, { require_mfa: true });
        const res = await app.http.post(`/admin/users/${user.id}/totp`).auth(await app.adminToken(), { type: 'bearer' });
        const [row] = await app.db.query('SELECT totp_secret FROM users WHERE id = ?', [user.id]);
        expect(row.totp_secret).toMatch(/^kek:v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
        expect(row.totp_secret).not.toContain(res.body.secret);
        const c = await createClient(app, { grant_types: ['password'] });
        const ok = await tokenRequest(app, { grant_type: 'password', username: user.username as string, password: `${user.password}${totp(res.body.secret, app.clock.nowMs())}` }, basic(c));
        expect(ok.status).toBe(200);
      } finally {
        await app.close();
      }
    });
  });

  describe('password grant: the last 6 digits of the password are the code', () => {
    it('logs in with the code of the current step; amr is ["pwd","otp"] and the step is recorded', async () => {
      const user = await enrolledUser();
      const res = await login(user, `${user.password}${code(user)}`);
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.id_token).amr).toEqual(['pwd', 'otp']);
      expect(await userRow(user.id)).toMatchObject({ failedLoginCount: 0, totpLastStep: currentStep() });
      const [success] = await auditEvents(user.id, 'login.success');
      expect(success.details).toEqual({ amr: 'pwd otp' });
    });

    it('accepts the codes of the previous and the next step (clock drift), not two steps away', async () => {
      const user = await enrolledUser();
      expect((await login(user, `${user.password}${code(user, -1)}`)).status).toBe(200);
      expect((await userRow(user.id)).totpLastStep).toBe(currentStep() - 1);
      expect((await login(user, `${user.password}${code(user, +1)}`)).status).toBe(200);
      expect((await userRow(user.id)).totpLastStep).toBe(currentStep() + 1);

      const other = await enrolledUser();
      for (const offset of [-2, +2]) {
        const res = await login(other, `${other.password}${code(other, offset)}`);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(BAD_CREDENTIALS);
      }
      expect(await userRow(other.id)).toMatchObject({ failedLoginCount: 2, totpLastStep: null });
    });

    it('a wrong code is "Bad credentials", byte-identical to a wrong password and an unknown user, and counts', async () => {
      const user = await enrolledUser();
      const right = code(user);
      const wrongCode = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
      const wrong = await login(user, `${user.password}${wrongCode}`);
      const wrongPassword = await login(user, `not the password${right}`);
      const unknown = await tokenRequest(t, { grant_type: 'password', username: unique('nobody'), password: `${user.password}${right}` }, basic(client));
      expect(wrong.status).toBe(400);
      expect(wrong.body).toEqual(BAD_CREDENTIALS);
      expect(wrong.text).toBe(wrongPassword.text);
      expect(wrong.text).toBe(unknown.text);
      expect(wrong.headers['content-length']).toBe(unknown.headers['content-length']);
      expect((await userRow(user.id)).failedLoginCount).toBe(2);
      const reasons = (await auditEvents(user.id, 'login.failure')).map((e) => e.details.reason).sort();
      expect(reasons).toEqual(['bad_otp', 'bad_password']);
    });

    it('a missing code is "Bad credentials" and counts, even with the right password', async () => {
      const user = await enrolledUser({ password: 'a password ending in digits 123456' });
      // Read as password "a password ending in digits " and code 123456 (almost surely wrong).
      const withoutCode = await login(user, user.password);
      expect(withoutCode.body).toEqual(BAD_CREDENTIALS);
      const digitsOnly = await enrolledUser({ password: 'no digits at the end' });
      expect((await login(digitsOnly, digitsOnly.password)).body).toEqual(BAD_CREDENTIALS);
      expect((await login(digitsOnly, code(digitsOnly))).body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(digitsOnly.id)).failedLoginCount).toBe(2);
      // The right password without a code; six digits alone are a (wrong) password without a code.
      expect((await auditEvents(digitsOnly.id, 'login.failure')).map((e) => e.details.reason).sort()).toEqual(['bad_password', 'missing_otp']);
      // The password itself may end in digits: the code comes after it.
      expect((await login(user, `${user.password}${code(user)}`)).status).toBe(200);
    });

    it('a wrong password does not spend the code: the same code then logs in with the right password', async () => {
      const user = await enrolledUser();
      const current = code(user);
      expect((await login(user, `wrong password${current}`)).body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(user.id)).totpLastStep).toBeNull();
      expect((await login(user, `${user.password}${current}`)).status).toBe(200);
    });

    it('a used code cannot be used again, nor an earlier step after a later one; the next step works', async () => {
      const user = await enrolledUser();
      const current = code(user);
      expect((await login(user, `${user.password}${current}`)).status).toBe(200);
      const replay = await login(user, `${user.password}${current}`);
      expect(replay.status).toBe(400);
      expect(replay.body).toEqual(BAD_CREDENTIALS);
      expect((await login(user, `${user.password}${code(user, -1)}`)).body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(user.id)).failedLoginCount).toBe(2);
      expect((await auditEvents(user.id, 'login.failure')).map((e) => e.details.reason)).toEqual(['bad_otp', 'bad_otp']);
      t.clock.advance(STEP_MS);
      expect((await login(user, `${user.password}${code(user)}`)).status).toBe(200);
      expect((await userRow(user.id)).failedLoginCount).toBe(0);
    });

    it('10 concurrent logins with one fresh code: exactly one succeeds, on any store', async () => {
      await putPolicy({ lockout_threshold: 50 });
      const user = await enrolledUser();
      const password = `${user.password}${code(user)}`;
      const results = await Promise.all(Array.from({ length: 10 }, () => login(user, password)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
      for (const res of results.filter((r) => r.status === 400)) expect(res.body).toEqual(BAD_CREDENTIALS);
      expect((await userRow(user.id)).totpLastStep).toBe(currentStep());
      expect(await auditEvents(user.id, 'login.success')).toHaveLength(1);
    });

    it('wrong codes count towards the lockout', async () => {
      await putPolicy({ lockout_threshold: 3 });
      const user = await enrolledUser();
      const wrongCode = String((Number(code(user)) + 500_000) % 1_000_000).padStart(6, '0');
      for (let i = 0; i < 3; i++) expect((await login(user, `${user.password}${wrongCode}`)).body).toEqual(BAD_CREDENTIALS);
      const locked = await login(user, `${user.password}${code(user)}`);
      expect(locked.body).toEqual({ error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' });
      expect((await userRow(user.id)).totpLastStep).toBeNull();
    });

    it('the account rules (steps 4-8) come after both factors: a disabled user with a wrong code reads "Bad credentials"', async () => {
      const user = await enrolledUser({ disabled: true });
      const wrongCode = String((Number(code(user)) + 1) % 1_000_000).padStart(6, '0');
      expect((await login(user, `${user.password}${wrongCode}`)).body).toEqual(BAD_CREDENTIALS);
      expect((await login(user, `${user.password}${code(user)}`)).body).toEqual({ error: 'invalid_grant', error_description: 'User is disabled', error_code: 'USER_DISABLED' });
    });

    it('a refresh keeps amr ["pwd","otp"] of the login', async () => {
      const user = await enrolledUser();
      const first = await login(user, `${user.password}${code(user)}`, client, { scope: 'openid offline_access' });
      expect(first.status).toBe(200);
      const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token }, basic(client));
      expect(refreshed.status).toBe(200);
      expect(decodeJwt(refreshed.body.id_token).amr).toEqual(['pwd', 'otp']);
    });
  });

  describe('when a code is required: client require_mfa or user require_mfa, and a TOTP enrolled', () => {
    it('an enrolled user without require_mfa logs in with the password alone at a client without require_mfa', async () => {
      const user = await enrolledUser({ require_mfa: false });
      const plain = await login(user, user.password);
      expect(plain.status).toBe(200);
      expect(decodeJwt(plain.body.id_token).amr).toEqual(['pwd']);
      // There the digits are part of the password, which is then wrong.
      expect((await login(user, `${user.password}${code(user)}`)).body).toEqual(BAD_CREDENTIALS);
    });

    it('the same user needs the code at a client with require_mfa', async () => {
      const user = await enrolledUser({ require_mfa: false });
      expect((await login(user, user.password, mfaClient)).body).toEqual(BAD_CREDENTIALS);
      const res = await login(user, `${user.password}${code(user)}`, mfaClient, { scope: 'openid' });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.id_token).amr).toEqual(['pwd', 'otp']);
    });

    it('"MFA enrollment required" when MFA is required and no TOTP is enrolled; DELETE /admin/users/{id}/totp brings it back', async () => {
      const notEnrolled = await createUser(t, { require_mfa: true });
      expect((await login(notEnrolled, notEnrolled.password)).body).toEqual(MFA_ENROLLMENT_REQUIRED);
      const plainUser = await createUser(t);
      expect((await login(plainUser, plainUser.password, mfaClient)).body).toEqual(MFA_ENROLLMENT_REQUIRED);

      const user = await enrolledUser();
      const removed = await admin('delete', `/admin/users/${user.id}/totp`);
      expect(removed.status).toBe(204);
      expect(await userRow(user.id)).toMatchObject({ totpSecret: null, totpLastStep: null });
      expect((await admin('get', `/admin/users/${user.id}`)).body.mfa_enrolled).toBe(false);
      expect((await login(user, user.password)).body).toEqual(MFA_ENROLLMENT_REQUIRED);
      expect(await auditEvents(user.id, 'admin.user.totp_removed')).toHaveLength(1);
      // Removing it again changes nothing.
      expect((await admin('delete', `/admin/users/${user.id}/totp`)).status).toBe(204);
    });
  });

  describe('the hosted login page', () => {
    let codeClient: CreatedClient;
    beforeAll(async () => {
      codeClient = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [CB] });
    });
    const authRequest = () => ({ response_type: 'code', client_id: codeClient.client_id, redirect_uri: CB, scope: 'openid', state: 's-1' });

    async function exchange(res: { status: number; headers: Record<string, string>; text: string }) {
      expect([res.status, pageAlert(res.text)]).toEqual([303, undefined]);
      const location = new URL(res.headers.location);
      const tokens = await tokenRequest(t, { grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: CB }, basic(codeClient));
      expect(tokens.status).toBe(200);
      return decodeJwt(tokens.body.id_token);
    }

    it('always shows an optional one-time-code field', async () => {
      const { res } = await openLoginPage(t, authRequest());
      expect(res.text).toMatch(/<label for="otp">One-time code \(if enabled\)<\/label>\s*<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code"/);
      expect(res.text).not.toMatch(/<input id="otp"[^>]*required/);
    });

    it('logs in with the code in the otp field (spaces allowed), or appended to the password; amr carries "otp"', async () => {
      const user = await enrolledUser();
      const viaField = await openLoginPage(t, authRequest());
      const grouped = code(user).replace(/^(\d{3})/, '$1 ');
      const first = await exchange(await submitLogin(t, viaField.form, { username: user.username as string, password: user.password, otp: grouped }));
      expect(first.amr).toEqual(['pwd', 'otp']);

      t.clock.advance(STEP_MS);
      const appended = await openLoginPage(t, authRequest());
      const second = await exchange(await submitLogin(t, appended.form, { username: user.username as string, password: `${user.password}${code(user)}` }));
      expect(second.amr).toEqual(['pwd', 'otp']);
    });

    it('a wrong, missing or replayed code shows "Bad credentials" and counts', async () => {
      const user = await enrolledUser();
      const { form } = await openLoginPage(t, authRequest());
      const wrongCode = String((Number(code(user)) + 1) % 1_000_000).padStart(6, '0');
      for (const fields of [{ otp: wrongCode }, {}, { otp: 'abcdef' }] as Record<string, string>[]) {
        const res = await submitLogin(t, form, { username: user.username as string, password: user.password, ...fields });
        expect(res.status).toBe(400);
        expect(pageAlert(res.text)).toBe('Bad credentials');
      }
      expect((await userRow(user.id)).failedLoginCount).toBe(3);
      const current = code(user);
      await exchange(await submitLogin(t, form, { username: user.username as string, password: user.password, otp: current }));
      const replay = await submitLogin(t, form, { username: user.username as string, password: user.password, otp: current });
      expect(pageAlert(replay.text)).toBe('Bad credentials');
    });

    it('a user who needs no code may leave the field empty; a code typed there anyway is ignored', async () => {
      const user = await createUser(t);
      const { form } = await openLoginPage(t, authRequest());
      expect((await exchange(await submitLogin(t, form, { username: user.username as string, password: user.password }))).amr).toEqual(['pwd']);
      expect((await exchange(await submitLogin(t, form, { username: user.username as string, password: user.password, otp: '123456' }))).amr).toEqual(['pwd']);
    });

    it('"MFA enrollment required" on the page for a user who must use MFA but has no TOTP', async () => {
      const user = await createUser(t, { require_mfa: true });
      const { form } = await openLoginPage(t, authRequest());
      const res = await submitLogin(t, form, { username: user.username as string, password: user.password });
      expect(res.status).toBe(400);
      expect(pageAlert(res.text)).toBe('MFA enrollment required');
    });
  });
});
