import { startApp } from '../support/app';
import { failWriteOnce } from '../support/fail-write';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { loginForCode } from '../support/login-form';

const CB = 'https://app.example/callback';

/**
 * A response that depends on several writes commits all of them or none (issue 13): the refresh
 * rotation (spend the token, store its successor and an opaque access token, keep the family) and
 * the code redemption (spend the code, start the family, store the tokens). The database is made
 * to fail at each write in turn — through SqlRunner's step seam, spied on here and reachable from
 * nothing in the application — and each time the client gets a 503 and has lost nothing: the same
 * refresh token or code then works exactly once, never twice (the grace retry is off).
 */
describe('Transactions: all writes of a token response commit, or none (failure injection)', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let client: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    // No batched token.issued writes: a batch flushed meanwhile would take the injected failure (it goes through SqlRunner too).
    t = await startApp({ env: { AUDIT_TOKEN_EVENTS: 'false' } });
    client = await createClient(t, {
      grant_types: ['password', 'authorization_code', 'refresh_token'],
      redirect_uris: [CB],
      scope: 'openid offline_access api',
    });
    user = await createUser(t);
    const policy = await t.http.get('/admin/policy').auth(await t.adminToken(), { type: 'bearer' });
    const put = await t.http
      .put('/admin/policy')
      .auth(await t.adminToken(), { type: 'bearer' })
      .send({ ...policy.body, refresh_token_grace_seconds: 0 });
    expect(put.status).toBe(200);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });

  async function refreshTokenCount(familyOf: string): Promise<number> {
    const [row] = await t.db.query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)', [familyOf]);
    return Number(row.n);
  }

  it('refresh rotation: a failure at any write leaves the token unspent; it then works once, never twice', async () => {
    const login = await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid offline_access api' }, basic());
    expect(login.status).toBe(200);
    let current = login.body.refresh_token as string;
    const refresh = (token: string) => tokenRequest(t, { grant_type: 'refresh_token', refresh_token: token, token_format: 'opaque' }, basic());
    const { createHash } = await import('node:crypto');
    const hash = (token: string) => createHash('sha256').update(token).digest('hex');

    let failAt = 0;
    for (; ; failAt++) {
      const fault = failWriteOnce(failAt);
      const failed = await refresh(current);
      jest.restoreAllMocks();
      if (!fault.injected()) {
        // Past the last write: this request ran unharmed, and it rotated the token.
        expect(failed.status).toBe(200);
        expect(failAt).toBeGreaterThanOrEqual(3);
        expect(fault.writes.some((sql) => /^UPDATE refresh_tokens SET rotated_at/.test(sql))).toBe(true);
        expect(fault.writes.some((sql) => /^INSERT INTO refresh_tokens/.test(sql))).toBe(true);
        expect(fault.writes.some((sql) => /^INSERT INTO access_tokens/.test(sql))).toBe(true);
        current = failed.body.refresh_token;
        break;
      }
      expect({ failAt, status: failed.status, body: failed.body }).toEqual({
        failAt,
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' },
      });
      // Nothing of the failed attempt was stored: the family holds the tokens of the successful rotations only.
      const before = await refreshTokenCount(hash(current));
      const retried = await refresh(current);
      expect({ failAt, status: retried.status }).toEqual({ failAt, status: 200 });
      expect(await refreshTokenCount(hash(current))).toBe(before + 1);
      // Exactly once: the spent token is refused, and its successor works.
      const again = await refresh(current);
      expect({ failAt, status: again.status, error: again.body.error }).toEqual({ failAt, status: 400, error: 'invalid_grant' });
      // Reuse detection ended the family: start a new login for the next round.
      const next = await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid offline_access api' }, basic());
      expect(next.status).toBe(200);
      current = next.body.refresh_token;
      expect((await refresh(retried.body.refresh_token)).body.error).toBe('invalid_grant');
    }
  });

  it('code redemption: a failure at any write leaves the code unspent; it then works once, never twice', async () => {
    for (let failAt = 0; ; failAt++) {
      const { code } = await loginForCode(t, { response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid offline_access' }, {
        username: user.username as string,
        password: user.password,
      });
      const exchange = () => tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
      const fault = failWriteOnce(failAt);
      const failed = await exchange();
      jest.restoreAllMocks();
      if (!fault.injected()) {
        expect(failed.status).toBe(200);
        expect(failAt).toBeGreaterThanOrEqual(3);
        expect(fault.writes[0]).toMatch(/^UPDATE authorization_codes SET consumed_at/);
        expect(fault.writes.some((sql) => /^INSERT INTO token_families/.test(sql))).toBe(true);
        break;
      }
      expect({ failAt, status: failed.status, error: failed.body.error }).toEqual({ failAt, status: 503, error: 'temporarily_unavailable' });
      const redeemed = await exchange();
      expect({ failAt, status: redeemed.status }).toEqual({ failAt, status: 200 });
      expect(redeemed.body.refresh_token).toEqual(expect.any(String));
      const replay = await exchange();
      expect({ failAt, status: replay.status, error: replay.body.error }).toEqual({ failAt, status: 400, error: 'invalid_grant' });
    }
  });
});
