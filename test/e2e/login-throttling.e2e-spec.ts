import { hash as argon2Hash, Algorithm } from '@node-rs/argon2';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';

/**
 * Failed-login throttling keyed by who is at the keyboard (SPEC §3.3): per end-user address for the
 * login page and public clients, per client for confidential clients (a backend logs in all of its
 * users from one address), per (client, forwarded end-user address) for a client trusted to send
 * Gatehouse-End-User-IP; IPv6 per /64; counted in the database across instances.
 */

const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };
const FROM_ADDRESS = { error: 'too_many_requests', error_description: 'Too many failed logins from this address. Try again later.' };
const FOR_CLIENT = { error: 'too_many_requests', error_description: 'Too many failed logins for this client. Try again later.' };
const END_USER_IP = 'Gatehouse-End-User-IP';

/** Moves the app's clock to just after the start of a minute, so the requests of a test share one counting window. */
function startOfMinute(...apps: TestApp[]): void {
  const [first, ...others] = apps;
  first.clock.advance(60_000 - (first.clock.nowMs() % 60_000) + 500);
  for (const other of others) other.clock.advance(first.clock.nowMs() - other.clock.nowMs());
}

interface Attempt {
  /** The caller's own address (X-Forwarded-For, believed from the test's address). */
  from?: string;
  endUserIp?: string;
  password?: string;
}

/** A password-grant request of `client` (Basic for confidential clients, client_id in the body for public ones). */
function passwordLogin(t: TestApp, client: CreatedClient, user: CreatedUser | string, attempt: Attempt = {}): Promise<Response> {
  const username = typeof user === 'string' ? user : (user.username as string);
  const password = attempt.password ?? (typeof user === 'string' ? 'wrong password' : user.password);
  const req = t.http.post('/oauth2/token').set('X-Forwarded-For', attempt.from ?? '192.0.2.10');
  if (attempt.endUserIp !== undefined) req.set(END_USER_IP, attempt.endUserIp);
  const form: Record<string, string> = { grant_type: 'password', username, password };
  if (client.client_secret) req.auth(client.client_id, client.client_secret);
  else form.client_id = client.client_id;
  return req.type('form').send(form);
}

const statusOf = (res: Response) => (res.status === 200 ? 200 : `${res.status} ${JSON.stringify(res.body)}`);

describe('Failed-login throttling by who is at the keyboard (SPEC §3.3)', () => {
  describe('with the default limits (LOGIN_RATE_LIMIT 30, LOGIN_RATE_LIMIT_PER_CLIENT 600)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ env: { LOGIN_RATE_LIMIT: '', LOGIN_RATE_LIMIT_PER_CLIENT: '', TRUSTED_PROXIES: '127.0.0.1' } });
    });
    afterAll(() => t.close());

    it('a confidential backend logs in 500 different users from one address, 100 of them with a wrong password, and is never throttled; the address stays usable for end users', async () => {
      const backend = await createClient(t, { grant_types: ['password'] });
      const browserApp = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
      // One imported argon2id hash (OWASP parameters) for every user: creating 500 users costs no hashing.
      const hash = await argon2Hash('directory password', { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
      const users: CreatedUser[] = [];
      for (let i = 0; i < 500; i++) users.push({ ...(await createUser(t, { username: unique('employee'), password: undefined, password_hash: hash })), password: 'directory password' });
      const address = '198.51.100.20';
      startOfMinute(t);
      const outcomes: Array<number | string> = [];
      // Every fifth login is a typo: 100 failures, more than three times LOGIN_RATE_LIMIT.
      for (let i = 0; i < users.length; i += 2) {
        const pair = users.slice(i, i + 2).map((user, j) => passwordLogin(t, backend, user, { from: address, password: (i + j) % 5 === 4 ? 'typo' : user.password }));
        outcomes.push(...(await Promise.all(pair)).map((res) => (res.status === 400 && res.body.error_description === 'Bad credentials' ? 400 : statusOf(res))));
      }
      expect(outcomes.filter((o) => o === 200)).toHaveLength(400);
      expect(outcomes.filter((o) => o === 400)).toHaveLength(100);
      // The backend's failures did not count toward its address: an end user there is not throttled.
      expect(statusOf(await passwordLogin(t, browserApp, users[0], { from: address }))).toBe(200);
      for (let i = 0; i < 29; i++) expect((await passwordLogin(t, browserApp, 'nobody', { from: address })).body).toEqual(BAD_CREDENTIALS);
      expect((await passwordLogin(t, browserApp, 'nobody', { from: address })).body).toEqual(BAD_CREDENTIALS);
      expect((await passwordLogin(t, browserApp, users[1], { from: address })).body).toEqual(FROM_ADDRESS);
      // ... while the backend, from the same address, still logs its users in.
      expect(statusOf(await passwordLogin(t, backend, users[1], { from: address }))).toBe(200);
    }, 600_000);

    it('a public client is throttled per end-user address at the 31st attempt, with Retry-After; another address is not', async () => {
      const app = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
      const user = await createUser(t);
      startOfMinute(t);
      for (let i = 0; i < 30; i++) expect((await passwordLogin(t, app, unique('nobody'), { from: '203.0.113.30' })).body).toEqual(BAD_CREDENTIALS);
      const refused = await passwordLogin(t, app, user, { from: '203.0.113.30' });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual(FROM_ADDRESS);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(statusOf(await passwordLogin(t, app, user, { from: '203.0.113.31' }))).toBe(200);
      // A public client cannot move its failures elsewhere with the header: it is not read.
      expect((await passwordLogin(t, app, user, { from: '203.0.113.30', endUserIp: '198.51.100.99' })).body).toEqual(FROM_ADDRESS);
    });
  });

  describe('with small limits (LOGIN_RATE_LIMIT 3, LOGIN_RATE_LIMIT_PER_CLIENT 8)', () => {
    let t: TestApp;
    let user: CreatedUser;
    beforeAll(async () => {
      t = await startApp({ env: { LOGIN_RATE_LIMIT: '3', LOGIN_RATE_LIMIT_PER_CLIENT: '8', TRUSTED_PROXIES: '127.0.0.1' } });
      user = await createUser(t);
    });
    afterAll(() => t.close());

    const failures = async (n: number, client: CreatedClient, attempt: Attempt) => {
      for (let i = 0; i < n; i++) expect((await passwordLogin(t, client, unique('nobody'), attempt)).body).toEqual(BAD_CREDENTIALS);
    };

    it('counts a confidential client\'s failures per client, whatever its address, and not toward any address', async () => {
      const backend = await createClient(t, { grant_types: ['password'] });
      const other = await createClient(t, { grant_types: ['password'] });
      const browserApp = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
      startOfMinute(t);
      // 8 failures from 8 addresses: more than LOGIN_RATE_LIMIT from the first, and no address is throttled.
      for (let i = 0; i < 8; i++) await failures(1, backend, { from: i < 4 ? '198.51.100.1' : `198.51.100.${i}` });
      const refused = await passwordLogin(t, backend, user, { from: '198.51.100.200' });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual(FOR_CLIENT);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Another client, and an end user at the same address, are not affected.
      expect(statusOf(await passwordLogin(t, other, user, { from: '198.51.100.1' }))).toBe(200);
      expect(statusOf(await passwordLogin(t, browserApp, user, { from: '198.51.100.1' }))).toBe(200);
      t.clock.advance(60_000);
      expect(statusOf(await passwordLogin(t, backend, user, { from: '198.51.100.1' }))).toBe(200);
    });

    it('throttles each end-user address a trusting client forwards separately, and audit events record that address', async () => {
      const backend = await createClient(t, { grant_types: ['password'], trust_end_user_ip_header: true });
      expect(backend.trust_end_user_ip_header).toBe(true);
      startOfMinute(t);
      await failures(3, backend, { endUserIp: '203.0.113.41' });
      expect((await passwordLogin(t, backend, user, { endUserIp: '203.0.113.41' })).body).toEqual(FROM_ADDRESS);
      // The second end user, behind the same backend, is not throttled.
      await failures(2, backend, { endUserIp: '203.0.113.42' });
      const ok = await passwordLogin(t, backend, user, { endUserIp: '203.0.113.42' });
      expect(statusOf(ok)).toBe(200);
      // Without the header, the backend's own budget applies (5 of 8 used).
      expect(statusOf(await passwordLogin(t, backend, user))).toBe(200);
      const events = await t.http.get(`/admin/audit-events?client=${backend.client_id}&user=${user.id}&type=login.success`).auth(await t.adminToken(), { type: 'bearer' });
      expect(events.body.map((e: { ip: string }) => e.ip)).toEqual(expect.arrayContaining(['203.0.113.42', '192.0.2.10']));
      const failed = await t.http.get(`/admin/audit-events?client=${backend.client_id}&type=login.failure`).auth(await t.adminToken(), { type: 'bearer' });
      expect(new Set(failed.body.map((e: { ip: string }) => e.ip))).toEqual(new Set(['203.0.113.41', '203.0.113.42']));
      // The per-client budget still holds over all its end users: 3 more failures reach 8.
      await failures(3, backend, { endUserIp: '203.0.113.43' });
      expect((await passwordLogin(t, backend, user, { endUserIp: '203.0.113.44' })).body).toEqual(FOR_CLIENT);
    });

    it('counts forwarded IPv6 end-user addresses per /64', async () => {
      const backend = await createClient(t, { grant_types: ['password'], trust_end_user_ip_header: true });
      startOfMinute(t);
      await failures(1, backend, { endUserIp: '2001:db8:5:6::1' });
      await failures(1, backend, { endUserIp: '2001:db8:5:6:ffff::2' });
      await failures(1, backend, { endUserIp: '2001:0DB8:0005:0006:1:2:3:4' });
      expect((await passwordLogin(t, backend, user, { endUserIp: '2001:db8:5:6::abcd' })).body).toEqual(FROM_ADDRESS);
      expect(statusOf(await passwordLogin(t, backend, user, { endUserIp: '2001:db8:5:7::1' }))).toBe(200);
    });

    it('counts a public client\'s IPv6 addresses per /64 as well', async () => {
      const app = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
      startOfMinute(t);
      await failures(3, app, { from: '2001:db8:9:9::1' });
      expect((await passwordLogin(t, app, user, { from: '2001:db8:9:9::2' })).body).toEqual(FROM_ADDRESS);
      expect(statusOf(await passwordLogin(t, app, user, { from: '2001:db8:9:a::1' }))).toBe(200);
    });

    it('ignores the header from a client that is not trusted: it cannot escape its budget, and audit events keep its own address', async () => {
      const backend = await createClient(t, { grant_types: ['password'] });
      startOfMinute(t);
      for (let i = 0; i < 8; i++) await failures(1, backend, { endUserIp: `203.0.113.${60 + i}` });
      expect((await passwordLogin(t, backend, user, { endUserIp: '203.0.113.99' })).body).toEqual(FOR_CLIENT);
      // Not read at all: a malformed value is no error for it.
      expect((await passwordLogin(t, backend, user, { endUserIp: 'not an address' })).body).toEqual(FOR_CLIENT);
      const failed = await t.http.get(`/admin/audit-events?client=${backend.client_id}&type=login.failure`).auth(await t.adminToken(), { type: 'bearer' });
      expect(failed.body).toHaveLength(8);
      expect(new Set(failed.body.map((e: { ip: string }) => e.ip))).toEqual(new Set(['192.0.2.10']));
    });

    it('refuses anything but one address in the header of a trusting client with 400 invalid_request, before the login counts', async () => {
      const backend = await createClient(t, { grant_types: ['password'], trust_end_user_ip_header: true });
      startOfMinute(t);
      for (const bad of ['203.0.113.1, 203.0.113.2', 'localhost', '[2001:db8::1]', '203.0.113.1:443', '2001:db8::/64', '999.1.1.1', ' ']) {
        const res = await passwordLogin(t, backend, user, { endUserIp: bad, password: 'wrong' });
        expect({ bad, status: res.status, body: res.body }).toEqual({
          bad,
          status: 400,
          body: { error: 'invalid_request', error_description: 'Gatehouse-End-User-IP must be one IPv4 or IPv6 address' },
        });
      }
      const [row] = await t.db.query('SELECT failed_login_count FROM users WHERE id = ?', [user.id]);
      expect(Number(row.failed_login_count)).toBe(0);
      expect(statusOf(await passwordLogin(t, backend, user, { endUserIp: '::ffff:203.0.113.1' }))).toBe(200);
    });

    it('admin API: trust_end_user_ip_header defaults to false, can be set on confidential clients, and is refused for public ones', async () => {
      const admin = { Authorization: `Bearer ${await t.adminToken()}` };
      const plain = await createClient(t, { grant_types: ['password'] });
      expect(plain.trust_end_user_ip_header).toBe(false);
      const patched = await t.http.patch(`/admin/clients/${plain.client_id}`).set(admin).send({ trust_end_user_ip_header: true });
      expect(patched.status).toBe(200);
      expect(patched.body.trust_end_user_ip_header).toBe(true);
      expect((await t.http.get(`/admin/clients/${plain.client_id}`).set(admin)).body.trust_end_user_ip_header).toBe(true);

      const message = ['trust_end_user_ip_header needs a confidential client (token_endpoint_auth_method other than none)'];
      const publicOne = await t.http
        .post('/admin/clients')
        .set(admin)
        .send({ client_id: unique('spa'), token_endpoint_auth_method: 'none', grant_types: ['password'], trust_end_user_ip_header: true });
      expect(publicOne.status).toBe(400);
      expect(publicOne.body.fields).toEqual({ trust_end_user_ip_header: message });
      const toPublic = await t.http.patch(`/admin/clients/${plain.client_id}`).set(admin).send({ token_endpoint_auth_method: 'none' });
      expect(toPublic.status).toBe(400);
      expect(toPublic.body.fields).toEqual({ trust_end_user_ip_header: message });
      const notBoolean = await t.http.patch(`/admin/clients/${plain.client_id}`).set(admin).send({ trust_end_user_ip_header: 'yes' });
      expect(notBoolean.status).toBe(400);
      expect(Object.keys(notBoolean.body.fields)).toEqual(['trust_end_user_ip_header']);
    });
  });

  describe('across two instances on one database', () => {
    it('counts per client and per (client, end-user address) on both instances together', async () => {
      const env = { LOGIN_RATE_LIMIT: '4', LOGIN_RATE_LIMIT_PER_CLIENT: '10', TRUSTED_PROXIES: '127.0.0.1' };
      const c = await startApp({ env });
      const d = await startApp({ database: c.database, env });
      try {
        const trusting = await createClient(c, { grant_types: ['password'], trust_end_user_ip_header: true });
        const person = await createUser(c);
        startOfMinute(c, d);
        const attempt = (t: TestApp, endUserIp: string) => passwordLogin(t, trusting, unique('nobody'), { endUserIp });
        // Four failures of one end user, concurrently, two on each instance.
        const first = await Promise.all([attempt(c, '203.0.113.70'), attempt(d, '203.0.113.70'), attempt(c, '203.0.113.70'), attempt(d, '203.0.113.70')]);
        expect(first.map((r) => r.body)).toEqual(Array(4).fill(BAD_CREDENTIALS));
        for (const t of [c, d]) expect((await passwordLogin(t, trusting, person, { endUserIp: '203.0.113.70' })).body).toEqual(FROM_ADDRESS);
        // Six more failures of other end users reach the client's 10, counted on both instances.
        const second = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i % 2 ? d : c, `203.0.113.${80 + i}`)));
        expect(second.map((r) => r.body)).toEqual(Array(6).fill(BAD_CREDENTIALS));
        for (const t of [c, d]) expect((await passwordLogin(t, trusting, person, { endUserIp: '203.0.113.90' })).body).toEqual(FOR_CLIENT);
        const [sum] = await c.db.query('SELECT SUM(failures) AS failures FROM login_throttle');
        // Each failure counted once per client and once per (client, address).
        expect(Number(sum.failures)).toBe(20);
      } finally {
        await d.close({ keepDatabase: true });
        await c.close();
      }
    });
  });
});
