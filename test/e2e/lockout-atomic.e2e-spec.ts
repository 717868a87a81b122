import { startApp } from '../support/app';
import { failWriteOnce } from '../support/fail-write';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { openLoginPage, pageAlert, submitLogin } from '../support/login-form';

const CB = 'https://app.example/callback';
const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };
const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' };

/**
 * A failed login's count, the lock at the threshold and their audit events (`login.failure`,
 * `user.locked`) commit in one transaction, or not at all (issue 13 item 1). The database is made
 * to fail at each write of that unit in turn — through SqlRunner's step seam, spied on here and
 * reachable from nothing in the application, as in transactions.e2e-spec.ts — and each time the
 * client gets a 503 (never another 5xx, never a silent uncounted failure), the counter and the
 * audit trail still tell the same story, and the next attempt counts normally.
 */
describe('Lockout and audit: a failed login is counted and audited together, or not at all (failure injection)', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let client: CreatedClient;

  beforeAll(async () => {
    // No batched token.issued writes: a batch flushed meanwhile would take the injected failure (it goes through SqlRunner too).
    t = await startApp({ env: { AUDIT_TOKEN_EVENTS: 'false' } });
    client = await createClient(t, { grant_types: ['password', 'authorization_code'], redirect_uris: [CB], scope: 'openid' });
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });
  const passwordLogin = (username: string, password: string) => tokenRequest(t, { grant_type: 'password', username, password }, basic());

  async function putPolicy(fields: { lockout_threshold: number; lockout_duration_seconds: number }) {
    const token = await t.adminToken();
    const current = await t.http.get('/admin/policy').auth(token, { type: 'bearer' });
    const put = await t.http.put('/admin/policy').auth(token, { type: 'bearer' }).send({ ...current.body, ...fields });
    expect(put.status).toBe(200);
  }

  type Answer = { status: number; body: unknown; text: string; headers: Record<string, string> };

  interface Trail {
    failedLoginCount: number;
    locked: boolean;
    /** The failed_login_count each counted failure's login.failure event recorded, oldest first. */
    failureCounts: number[];
    lockEvents: number;
  }

  /** The user's counter and lock, and the audit events of counted failures and failure locks. */
  async function trail(userId: string): Promise<Trail> {
    const [row] = await t.db.query('SELECT failed_login_count, locked_at FROM users WHERE id = ?', [userId]);
    const events: { type: string; details: string }[] = await t.db.query('SELECT type, details FROM audit_events WHERE user_id = ? ORDER BY id', [userId]);
    const parsed = events.map((e) => ({ type: e.type, details: JSON.parse(e.details) as Record<string, unknown> }));
    return {
      failedLoginCount: Number(row.failed_login_count),
      locked: row.locked_at != null,
      failureCounts: parsed.filter((e) => e.type === 'login.failure' && e.details.reason === 'bad_password').map((e) => Number(e.details.failed_login_count)),
      lockEvents: parsed.filter((e) => e.type === 'user.locked' && e.details.reason === 'failed_logins').length,
    };
  }

  /** Count N ⇔ N login.failure events, recording 1..N; locked ⇔ exactly one user.locked event. */
  function expectConsistent(state: Trail) {
    expect([...state.failureCounts].sort((a, b) => a - b)).toEqual(Array.from({ length: state.failedLoginCount }, (_, i) => i + 1));
    expect(state.lockEvents).toBe(state.locked ? 1 : 0);
  }

  /**
   * Fails the unit of one failed login at each of its writes in turn (`attempt` makes the request),
   * checking each time that the client gets a 503 and nothing of the attempt was stored; then the
   * attempt runs unharmed and counts. Returns the SQL of the writes of that last run.
   */
  async function failAtEachWrite(userId: string, attempt: () => Promise<{ status: number }>, expectUnavailable: (res: Answer) => void) {
    const before = await trail(userId);
    for (let failAt = 0; ; failAt++) {
      const fault = failWriteOnce(failAt);
      const res = (await attempt()) as Answer;
      jest.restoreAllMocks();
      if (!fault.injected()) return { res, writes: fault.writes, failAt };
      expectUnavailable(res);
      // Rolled back entirely: neither the count nor the lock nor an audit event of this attempt.
      expect({ failAt, trail: await trail(userId) }).toEqual({ failAt, trail: before });
    }
  }

  it.each([
    { lockout_threshold: 3, lockout_duration_seconds: 900 },
    { lockout_threshold: 2, lockout_duration_seconds: 0 },
  ])('password grant (%o): a failure at any write counts nothing and audits nothing (503); the next attempt counts, and the lock is audited once', async (policy) => {
    await putPolicy(policy);
    const user = await createUser(t);
    const username = user.username as string;
    for (let failure = 1; failure <= policy.lockout_threshold; failure++) {
      const { res, writes, failAt } = await failAtEachWrite(
        user.id,
        () => passwordLogin(username, 'wrong password'),
        (failed) => expect({ failure, status: failed.status, body: failed.body }).toEqual({ failure, status: 503, body: UNAVAILABLE }),
      );
      // The unharmed run: bad credentials, counted once, audited once; the failure that reaches
      // the threshold also locks (count, then count-and-lock) and writes user.locked.
      expect({ failure, status: res.status, body: res.body }).toEqual({ failure, status: 400, body: BAD_CREDENTIALS });
      const locks = failure === policy.lockout_threshold;
      expect(failAt).toBe(locks ? 4 : 2);
      expect(writes.filter((sql) => /^UPDATE users SET failed_login_count = failed_login_count \+ 1, locked_at = \?/.test(sql))).toHaveLength(locks ? 1 : 0);
      expect(writes.filter((sql) => /^INSERT INTO audit_events/.test(sql))).toHaveLength(locks ? 2 : 1);
      const state = await trail(user.id);
      expect(state).toMatchObject({ failedLoginCount: failure, locked: locks });
      expectConsistent(state);
    }
    // Locked now: the right password is refused, and nothing more is counted.
    expect((await passwordLogin(username, user.password)).body).toMatchObject({ error: 'invalid_grant', error_code: 'USER_LOCKED' });
    expect(await trail(user.id)).toMatchObject({ failedLoginCount: policy.lockout_threshold, locked: true, lockEvents: 1 });
  });

  it('hosted login page: a failure at any write is a 503 that counts and audits nothing; the next attempt counts and shows "Bad credentials"', async () => {
    await putPolicy({ lockout_threshold: 2, lockout_duration_seconds: 900 });
    const user = await createUser(t);
    const submit = async () => {
      const { form } = await openLoginPage(t, { response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state: unique('s') });
      return submitLogin(t, form, { username: user.username as string, password: 'wrong password' });
    };
    for (let failure = 1; failure <= 2; failure++) {
      const { res } = await failAtEachWrite(user.id, submit, (failed) =>
        expect({ failure, status: failed.status, retryAfter: failed.headers['retry-after'] }).toEqual({ failure, status: 503, retryAfter: expect.any(String) }),
      );
      expect({ failure, status: res.status, alert: pageAlert(res.text) }).toEqual({ failure, status: 400, alert: 'Bad credentials' });
      const state = await trail(user.id);
      expect(state).toMatchObject({ failedLoginCount: failure, locked: failure === 2 });
      expectConsistent(state);
    }
  });

  it('unknown user: the same writes as a wrong password, in one unit with the audit event; a failure at any of them is the same 503', async () => {
    await putPolicy({ lockout_threshold: 5, lockout_duration_seconds: 900 });
    const user = await createUser(t);
    const known = await failAtEachWrite(user.id, () => passwordLogin(user.username as string, 'wrong password'), (failed) => expect(failed.status).toBe(503));

    const nobody = unique('nobody');
    const unknownFailures = async () => {
      const rows: { details: string }[] = await t.db.query("SELECT details FROM audit_events WHERE type = 'login.failure' AND user_id IS NULL AND client_id = ?", [client.client_id]);
      return rows.filter((r) => (JSON.parse(r.details) as { reason: string }).reason === 'unknown_user').length;
    };
    const before = await unknownFailures();
    for (let failAt = 0; ; failAt++) {
      const fault = failWriteOnce(failAt);
      const res = await passwordLogin(nobody, 'wrong password');
      jest.restoreAllMocks();
      if (!fault.injected()) {
        expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: BAD_CREDENTIALS });
        // Statement for statement what a known user's wrong password runs (no lock reached).
        expect(fault.writes).toEqual(known.writes);
        expect(failAt).toBe(known.failAt);
        break;
      }
      expect({ failAt, status: res.status, body: res.body }).toEqual({ failAt, status: 503, body: UNAVAILABLE });
      expect(await unknownFailures()).toBe(before);
    }
    expect(await unknownFailures()).toBe(before + 1);
  });

  it('concurrent failures at the threshold: exactly one locks, with exactly one user.locked event, and every failure is counted and audited', async () => {
    await putPolicy({ lockout_threshold: 3, lockout_duration_seconds: 900 });
    const user: CreatedUser = await createUser(t);
    const attempts = 8;
    const results = await Promise.all(Array.from({ length: attempts }, () => passwordLogin(user.username as string, 'wrong password')));
    // Each attempt read the user before any lock, or after it (then refused as locked, uncounted).
    for (const res of results) expect(res.status).toBe(400);
    const counted = results.filter((res) => res.body.error_description === 'Bad credentials').length;
    expect(counted).toBeGreaterThanOrEqual(3);
    const state = await trail(user.id);
    expect(state).toMatchObject({ failedLoginCount: counted, locked: true, lockEvents: 1 });
    expectConsistent(state);
  });
});
