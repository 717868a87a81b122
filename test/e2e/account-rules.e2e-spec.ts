import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login, loginName, passwordGrant } from '../support/login';
import { loginForCode, openLoginPage, pageAlert, submitLogin } from '../support/login-form';
import { userinfo } from '../support/oidc';

const CB = 'https://app.example/cb';

/**
 * SPEC §3.3 and §3.5: "locked" and "disabled" are decided by one set of account rules, in one
 * order, for the password grant, the login page, the code and refresh grants and UserInfo.
 */
describe('Account rules: one answer from every way in (SPEC §3.3, §3.5)', () => {
  let t: TestApp;
  let client: CreatedClient;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, {
      grant_types: ['password', 'authorization_code', 'refresh_token'],
      redirect_uris: [CB],
      scope: 'openid profile offline_access',
      default_scope: 'openid profile offline_access',
    });
  });
  afterAll(() => t.close());

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });
  const authorizeRequest = () => ({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid' });

  /** A user with a live session (access and refresh token) and an unredeemed code, all from before the account changed. */
  async function userWithSessionAndCode(): Promise<{ user: CreatedUser; tokens: Awaited<ReturnType<typeof login>>; code: string }> {
    const user = await createUser(t);
    const tokens = await login(t, client, user);
    const { code } = await loginForCode(t, authorizeRequest(), { username: loginName(user), password: user.password });
    return { user, tokens, code };
  }

  /** Locked in the store itself, as by failed logins: an admin lock would also end the user's sessions and discard the code (user-revocation suite). */
  async function lock(user: CreatedUser) {
    await t.db.query('UPDATE users SET admin_locked = ? WHERE id = ?', [true, user.id]);
  }

  /** Disabled in the store itself: the admin API would also end the user's families, and the refresh grant would never reach the account rules. */
  async function disable(user: CreatedUser) {
    await t.db.query('UPDATE users SET disabled = ? WHERE id = ?', [true, user.id]);
  }

  async function answers(user: CreatedUser, tokens: { access_token: string; refresh_token?: string }, code: string) {
    const password = await passwordGrant(t, client, user);
    const page = await openLoginPage(t, authorizeRequest());
    const submitted = await submitLogin(t, page.form, { username: loginName(user), password: user.password });
    const redeemed = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
    const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, basic());
    const described = await userinfo(t, tokens.access_token);
    return {
      password: [password.status, password.body],
      loginPage: [submitted.status, pageAlert(submitted.text)],
      code: [redeemed.status, redeemed.body],
      refresh: [refreshed.status, refreshed.body],
      userinfo: [described.status, described.body.error],
    };
  }

  const refusal = (description: string, errorCode: string) => ({
    password: [400, { error: 'invalid_grant', error_description: description, error_code: errorCode }],
    loginPage: [400, description],
    code: [400, { error: 'invalid_grant', error_description: description, error_code: errorCode }],
    refresh: [400, { error: 'invalid_grant', error_description: description, error_code: errorCode }],
    userinfo: [401, 'invalid_token'],
  });

  it('a user both locked and disabled reads "User is locked" everywhere (the lock is step 2, before the disabled flag)', async () => {
    const { user, tokens, code } = await userWithSessionAndCode();
    await lock(user);
    await disable(user);
    expect(await answers(user, tokens, code)).toEqual(refusal('User is locked', 'USER_LOCKED'));
  });

  it('a locked user reads "User is locked" everywhere', async () => {
    const { user, tokens, code } = await userWithSessionAndCode();
    await lock(user);
    expect(await answers(user, tokens, code)).toEqual(refusal('User is locked', 'USER_LOCKED'));
  });

  it('a disabled user reads "User is disabled" everywhere', async () => {
    const { user, tokens, code } = await userWithSessionAndCode();
    await disable(user);
    expect(await answers(user, tokens, code)).toEqual(refusal('User is disabled', 'USER_DISABLED'));
  });

  it('rules of the password login alone (password change required) do not end the sessions of earlier logins', async () => {
    const { user, tokens, code } = await userWithSessionAndCode();
    await t.http.patch(`/admin/users/${user.id}`).auth(await t.adminToken(), { type: 'bearer' }).send({ password_change_required: true }).expect(200);
    const result = await answers(user, tokens, code);
    expect(result.password).toEqual([400, { error: 'invalid_grant', error_description: 'Password change required', error_code: 'PASSWORD_CHANGE_REQUIRED' }]);
    expect(result.loginPage).toEqual([400, 'Password change required']);
    expect(result.code[0]).toBe(200);
    expect(result.refresh[0]).toBe(200);
    expect(result.userinfo[0]).toBe(200);
  });
});
