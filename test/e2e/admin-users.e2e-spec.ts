import { startApp, type TestApp } from '../support/app';
import { adminApi, createClient, createUser, DEFAULT_PASSWORD, unique, type CreatedUser } from '../support/fixtures';
import { passwordGrant } from '../support/login';

/** Admin API for users (SPEC §6): CRUD, search, passwords (argon2id, never returned), lock/unlock, validation. */
describe('Admin API: users', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp();
    admin = await t.adminToken();
  });
  afterAll(() => t.close());

  const api = adminApi(() => t, () => admin);
  const storedRow = async (id: string) => {
    const rows = await t.db.query('SELECT * FROM users WHERE id = ?', [id]);
    return rows[0] as Record<string, unknown> | undefined;
  };
  /** `n` failed password-grant logins, counted toward the user's lockout as a real client's would be. */
  async function failLogins(user: CreatedUser, n: number) {
    const client = await createClient(t, { grant_types: ['password'] });
    for (let i = 0; i < n; i++) {
      const res = await passwordGrant(t, client, user, { password: 'wrong password' });
      expect(res.body.error).toBe('invalid_grant');
    }
  }
  const ARGON2ID = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

  /** No response may carry a password or a hash of one. */
  function expectNoPassword(body: unknown, password: string) {
    const text = JSON.stringify(body);
    expect(text).not.toContain(password);
    expect(text).not.toContain('$argon2');
    expect(text).not.toMatch(/"password"|"password_hash"|"passwordHash"|"totp_secret"/);
  }

  describe('create', () => {
    it('returns 201 with the id and profile, never the password or its hash; stores an argon2id PHC string', async () => {
      const password = 'a long and secret passphrase';
      const res = await api.post('/admin/users').send({
        username: 'Alice-Create',
        email: 'Alice.Create@Example.COM',
        phone_number: '+49 (151) 1234-5678',
        password,
        name: 'Alice Liddell',
        given_name: 'Alice',
        family_name: 'Liddell',
        birthdate: '1852-05-04',
        website: 'https://alice.example',
        locale: 'en-GB',
        address: { locality: 'Oxford', country: 'UK' },
        groups: ['readers', 'writers'],
        email_verified: true,
      });
      expect(res.status).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        username: 'alice-create',
        email: 'alice.create@example.com',
        email_verified: true,
        phone_number: '+4915112345678',
        phone_number_verified: false,
        groups: ['readers', 'writers'],
        name: 'Alice Liddell',
        given_name: 'Alice',
        family_name: 'Liddell',
        birthdate: '1852-05-04',
        website: 'https://alice.example',
        locale: 'en-GB',
        address: { locality: 'Oxford', country: 'UK' },
        disabled: false,
        require_mfa: false,
        locked: false,
        failed_login_count: 0,
        mfa_enrolled: false,
        password_is_initial: false,
        password_expires_at: null,
        password_change_required: false,
        password_changed_at: expect.any(String),
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });
      expectNoPassword(res.body, password);

      const row = await storedRow(res.body.id);
      expect(row!.password_hash).toMatch(ARGON2ID);
      expect(row!.password_hash).not.toContain(password);
      expect(row!.username).toBe('alice-create');
      expect(row!.email).toBe('alice.create@example.com');
    });

    it('accepts a user with only an email, or only a phone number', async () => {
      const byEmail = await api.post('/admin/users').send({ email: `${unique('only')}@example.com`, password: DEFAULT_PASSWORD });
      expect(byEmail.status).toBe(201);
      expect(byEmail.body.username).toBeNull();
      const byPhone = await api.post('/admin/users').send({ phone_number: '0044 20 7946 0000', password: DEFAULT_PASSWORD });
      expect(byPhone.status).toBe(201);
      expect(byPhone.body).toMatchObject({ username: null, email: null, phone_number: '+442079460000' });
    });

    it('stores password flags', async () => {
      const expires = '2030-01-02T03:04:05.000Z';
      const res = await api
        .post('/admin/users')
        .send({ username: unique('flags'), password: DEFAULT_PASSWORD, password_is_initial: true, password_change_required: true, password_expires_at: expires });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ password_is_initial: true, password_change_required: true, password_expires_at: expires });
      expect(Number((await storedRow(res.body.id))!.password_expires_at)).toBe(Date.parse(expires));
    });

    describe('duplicates: 409, case-insensitive for username and email', () => {
      let existing: { username: string; email: string; phone: string };
      beforeAll(async () => {
        const name = unique('dup');
        existing = { username: name, email: `${name}@example.com`, phone: '+15551230001' };
        await createUser(t, { username: existing.username, email: existing.email, phone_number: existing.phone });
      });

      it.each([
        ['the same username', () => ({ username: existing.username })],
        ['the username in capitals', () => ({ username: existing.username.toUpperCase() })],
        ['the email in capitals', () => ({ email: existing.email.toUpperCase() })],
        ['the phone number written differently', () => ({ phone_number: '+1 (555) 123-0001' })],
      ])('refuses %s', async (_name, body) => {
        const res = await api.post('/admin/users').send({ password: DEFAULT_PASSWORD, ...body() });
        expect(res.status).toBe(409);
        expect(res.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'A user with this username, email or phone number already exists' });
      });

      it('refuses a change that would duplicate another user, leaving the user unchanged', async () => {
        const other = await createUser(t);
        const res = await api.patch(`/admin/users/${other.id}`).send({ email: existing.email.toUpperCase() });
        expect(res.status).toBe(409);
        expect((await storedRow(other.id))!.email).toBeNull();
      });

      it('keeps accented and plain names apart on both stores', async () => {
        const base = unique('jose');
        const plain = await api.post('/admin/users').send({ username: `${base}-jose`, password: DEFAULT_PASSWORD });
        const accented = await api.post('/admin/users').send({ username: `${base}-josé`, password: DEFAULT_PASSWORD });
        expect(plain.status).toBe(201);
        expect(accented.status).toBe(201);
        expect((await api.get(`/admin/users?search=${encodeURIComponent(`${base}-josé`)}`)).body.map((u: { id: string }) => u.id)).toEqual([accented.body.id]);
      });
    });

    describe('validation: 400 naming each bad field', () => {
      it('needs at least one of username, email and phone_number', async () => {
        const res = await api.post('/admin/users').send({ password: DEFAULT_PASSWORD, name: 'Nobody' });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          statusCode: 400,
          error: 'Bad Request',
          message: 'Validation failed',
          fields: { username: ['at least one of username, email and phone_number is required'] },
        });
      });

      it.each([
        ['email', { email: 'not-an-email' }],
        ['email', { email: 'a@b@example.com' }],
        ['phone_number', { phone_number: '12345' }],
        ['phone_number', { phone_number: '+49 abc' }],
        ['phone_number', { phone_number: '+0123456789' }],
        ['phone_number', { phone_number: 4915112345678 }],
        ['username', { username: ' leading space' }],
        ['username', { username: 'control\u0000character' }],
        ['username', { username: '' }],
        ['username', { username: 42 }],
        ['password', { password: 'short' }],
        ['password', { password: 12345678 }],
        ['birthdate', { birthdate: '04/05/1852' }],
        ['website', { website: 'javascript:alert(1)' }],
        ['picture', { picture: 'not a url' }],
        ['groups', { groups: 'admins' }],
        ['groups', { groups: ['a', 'a'] }],
        ['groups', { groups: [1] }],
        ['email_verified', { email_verified: 'yes' }],
        ['password_expires_at', { password_expires_at: 'tomorrow' }],
        ['address', { address: 'Oxford' }],
        ['address.country', { address: { country: 5 } }],
        ['address.planet', { address: { planet: 'Mars' } }],
        ['locale', { locale: 'x'.repeat(36) }],
        ['is_admin', { is_admin: true }],
        ['password_hash', { password_hash: 'plain-text-is-not-a-hash' }],
      ])('names %s for %j', async (field, body) => {
        const res = await api.post('/admin/users').send({ username: unique('v'), password: DEFAULT_PASSWORD, ...body });
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('Validation failed');
        expect(Object.keys(res.body.fields)).toEqual([field]);
      });

      it('requires a password on create', async () => {
        const res = await api.post('/admin/users').send({ username: unique('nopw') });
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.fields)).toEqual(['password']);
      });

      it('names every bad field at once and writes nothing', async () => {
        const username = unique('several');
        const res = await api.post('/admin/users').send({ username, email: 'nope', password: 'x', website: 'nope' });
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.fields).sort()).toEqual(['email', 'password', 'website']);
        expect(await t.db.query('SELECT id FROM users WHERE username = ?', [username])).toEqual([]);
      });
    });
  });

  describe('list and search', () => {
    let ids: Record<string, string>;
    const marker = `srch${process.pid}`;
    beforeAll(async () => {
      ids = {
        carol: (await createUser(t, { username: `${marker}-carol`, email: `carol.${marker}@mail.example` })).id,
        dave: (await createUser(t, { username: `${marker}-dave`, phone_number: '+33612345678' })).id,
        erin: (await createUser(t, { email: `erin.${marker}@corp.example` })).id,
        under: (await createUser(t, { username: `${marker}_under` })).id,
        percent: (await createUser(t, { username: `${marker}%pct` })).id,
        bang: (await createUser(t, { username: `${marker}!bang` })).id,
      };
    });
    const search = async (term: string) => {
      const res = await api.get(`/admin/users?search=${encodeURIComponent(term)}`);
      expect(res.status).toBe(200);
      return (res.body as { id: string }[]).map((u) => u.id).sort();
    };

    it('lists users without passwords', async () => {
      const res = await api.get('/admin/users');
      expect(res.status).toBe(200);
      expect(res.body.length).toBeGreaterThanOrEqual(5);
      expectNoPassword(res.body, DEFAULT_PASSWORD);
    });

    it('matches a substring of the username, email or phone number, case-insensitively', async () => {
      expect(await search(`${marker}-carol`)).toEqual([ids.carol]);
      expect(await search(`${marker.toUpperCase()}-DAVE`)).toEqual([ids.dave]);
      expect(await search('corp.example')).toEqual([ids.erin]);
      expect(await search('612345')).toEqual([ids.dave]);
      expect(await search(marker)).toEqual(Object.values(ids).sort());
      expect(await search('no-such-user-anywhere')).toEqual([]);
    });

    it('treats LIKE wildcards in the search term literally', async () => {
      expect(await search(`${marker}_`)).toEqual([ids.under]);
      expect(await search(`${marker}%`)).toEqual([ids.percent]);
      expect(await search(`${marker}!`)).toEqual([ids.bang]);
      expect(await search("'\\")).toEqual([]);
    });

    it('pages with limit and offset, and validates them', async () => {
      const first = await api.get(`/admin/users?search=${marker}&limit=2`);
      const second = await api.get(`/admin/users?search=${marker}&limit=2&offset=2`);
      expect(first.body).toHaveLength(2);
      expect(second.body).toHaveLength(2);
      expect(first.body.map((u: { id: string }) => u.id)).not.toContain(second.body[0].id);
      const bad = await api.get('/admin/users?limit=0&offset=-1&colour=red');
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.fields).sort()).toEqual(['colour', 'limit', 'offset']);
    });
  });

  describe('get, patch, delete', () => {
    it('gets a user', async () => {
      const user = await createUser(t, { name: 'Gina' });
      const res = await api.get(`/admin/users/${user.id}`);
      expect(res.status).toBe(200);
      const { password: _password, ...created } = user;
      expect(res.body).toEqual(created);
      expectNoPassword(res.body, user.password);
    });

    it('changes only the given fields and keeps the password', async () => {
      const user = await createUser(t, { name: 'Before', nickname: 'b', groups: ['g1'] });
      const hashBefore = (await storedRow(user.id))!.password_hash;
      t.clock.advance(1000);
      const res = await api.patch(`/admin/users/${user.id}`).send({ name: 'After', email: 'After@Example.com', groups: ['g2', 'g3'], require_mfa: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, username: user.username, name: 'After', nickname: 'b', email: 'after@example.com', groups: ['g2', 'g3'], require_mfa: true });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(user.updated_at as string));
      expectNoPassword(res.body, user.password);
      expect((await storedRow(user.id))!.password_hash).toBe(hashBefore);
      expect((await api.get(`/admin/users/${user.id}`)).body).toEqual(res.body);
    });

    it('clears a nullable field with null, and refuses null for the others', async () => {
      const user = await createUser(t, { email: `${unique('clear')}@example.com`, nickname: 'nick', address: { locality: 'Bath' } });
      const cleared = await api.patch(`/admin/users/${user.id}`).send({ email: null, nickname: null, address: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.email).toBeNull();
      expect(cleared.body.nickname).toBeUndefined();
      expect(cleared.body.address).toBeUndefined();
      expect((await storedRow(user.id))!.email).toBeNull();

      const refused = await api.patch(`/admin/users/${user.id}`).send({ disabled: null, groups: null, email_verified: null });
      expect(refused.status).toBe(400);
      expect(Object.keys(refused.body.fields).sort()).toEqual(['disabled', 'email_verified', 'groups']);
    });

    it('refuses removing the last identifier', async () => {
      const user = await createUser(t);
      const res = await api.patch(`/admin/users/${user.id}`).send({ username: null });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['username']);
      expect((await storedRow(user.id))!.username).toBe(user.username);
    });

    it('refuses password, unknown fields and bad values on patch', async () => {
      const user = await createUser(t);
      const res = await api.patch(`/admin/users/${user.id}`).send({ password: 'new password 123', id: 'x', phone_number: 'nope' });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields).sort()).toEqual(['id', 'password', 'phone_number']);
    });

    it('normalises a changed phone number to E.164', async () => {
      const user = await createUser(t);
      const res = await api.patch(`/admin/users/${user.id}`).send({ phone_number: '+1 415 555 0199' });
      expect(res.status).toBe(200);
      expect(res.body.phone_number).toBe('+14155550199');
      const bad = await api.patch(`/admin/users/${user.id}`).send({ phone_number: '555-0199' });
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.fields)).toEqual(['phone_number']);
    });

    it('deletes a user: 204, then 404', async () => {
      const user = await createUser(t);
      const res = await api.delete(`/admin/users/${user.id}`);
      expect(res.status).toBe(204);
      expect(await storedRow(user.id)).toBeUndefined();
      expect((await api.get(`/admin/users/${user.id}`)).status).toBe(404);
      expect((await api.delete(`/admin/users/${user.id}`)).status).toBe(404);
      // The username is free again.
      expect((await api.post('/admin/users').send({ username: user.username, password: DEFAULT_PASSWORD })).status).toBe(201);
    });

    it('answers 404 for an unknown or odd id on every operation', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'no-such-user', '..%2F..%2Fetc', '%E2%98%83', 'x'.repeat(300)]) {
        const path = `/admin/users/${id}`;
        for (const res of [
          await api.get(path),
          await api.patch(path).send({ name: 'x' }),
          await api.delete(path),
          await api.post(`${path}/password`).send({ password: DEFAULT_PASSWORD }),
          await api.post(`${path}/lock`),
          await api.post(`${path}/unlock`),
          await api.delete(`${path}/sessions`),
        ]) {
          expect(res.status).toBe(404);
          expect(res.body.statusCode).toBe(404);
        }
      }
    });

    it('matches ids exactly (no case or trailing-space variants)', async () => {
      const user = await createUser(t);
      expect((await api.get(`/admin/users/${user.id.toUpperCase()}`)).status).toBe(404);
      expect((await api.get(`/admin/users/${user.id}%20`)).status).toBe(404);
      expect((await api.delete(`/admin/users/${user.id}%20`)).status).toBe(404);
      expect(await storedRow(user.id)).toBeDefined();
    });
  });

  describe('set password', () => {
    it('replaces the hash with a new argon2id hash and sets the flags', async () => {
      const user = await createUser(t, { password_is_initial: true });
      const before = (await storedRow(user.id))!.password_hash as string;
      t.clock.advance(2000);
      const password = 'a brand new passphrase';
      const res = await api.post(`/admin/users/${user.id}/password`).send({ password, password_change_required: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, password_is_initial: false, password_change_required: true, password_expires_at: null });
      expect(Date.parse(res.body.password_changed_at)).toBeGreaterThan(Date.parse(user.password_changed_at as string));
      expectNoPassword(res.body, password);
      const after = (await storedRow(user.id))!.password_hash as string;
      expect(after).toMatch(ARGON2ID);
      expect(after).not.toBe(before);
      expect(after).not.toContain(password);
    });

    it('validates the body, naming the field', async () => {
      const user = await createUser(t);
      const before = (await storedRow(user.id))!.password_hash;
      for (const body of [{}, { password: 'short' }, { password: DEFAULT_PASSWORD, password_expires_at: 'never' }, { password: DEFAULT_PASSWORD, extra: 1 }]) {
        const res = await api.post(`/admin/users/${user.id}/password`).send(body);
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.fields)).toHaveLength(1);
      }
      expect((await storedRow(user.id))!.password_hash).toBe(before);
    });

    it('records an audit event without the password', async () => {
      const user = await createUser(t);
      const password = 'audited passphrase 42';
      await api.post(`/admin/users/${user.id}/password`).send({ password });
      const events = await api.get(`/admin/audit-events?user=${user.id}`);
      expect(events.status).toBe(200);
      expect(events.body.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['admin.user.created', 'admin.user.password_set']));
      expectNoPassword(events.body, password);
      expectNoPassword(events.body, user.password);
    });
  });

  describe('lock and unlock', () => {
    it('locks until unlocked, whatever the clock says, and unlock resets the failure counter', async () => {
      const user = await createUser(t);
      // Failures before the lock; while locked, attempts are refused without counting.
      await failLogins(user, 3);
      const locked = await api.post(`/admin/users/${user.id}/lock`);
      expect(locked.status).toBe(200);
      expect(locked.body).toMatchObject({ id: user.id, locked: true });
      expect(Number((await storedRow(user.id))!.admin_locked)).toBe(1);

      t.clock.advance(48 * 3600 * 1000);
      admin = await t.adminToken();
      expect((await api.get(`/admin/users/${user.id}`)).body.locked).toBe(true);
      expect((await api.get(`/admin/users?search=${user.username}`)).body[0].locked).toBe(true);

      await failLogins(user, 2);
      expect(Number((await storedRow(user.id))!.failed_login_count)).toBe(3);
      const unlocked = await api.post(`/admin/users/${user.id}/unlock`);
      expect(unlocked.status).toBe(200);
      expect(unlocked.body).toMatchObject({ id: user.id, locked: false, failed_login_count: 0 });
      const row = await storedRow(user.id);
      expect(Number(row!.admin_locked)).toBe(0);
      expect(Number(row!.failed_login_count)).toBe(0);
      expect(row!.locked_at).toBeNull();
    });

    it('shows a lock from failed logins while it lasts (policy lockout_duration_seconds)', async () => {
      const user = await createUser(t);
      await failLogins(user, 5);
      expect((await api.get(`/admin/users/${user.id}`)).body).toMatchObject({ locked: true, failed_login_count: 5 });
      t.clock.advance(901 * 1000);
      admin = await t.adminToken();
      expect((await api.get(`/admin/users/${user.id}`)).body.locked).toBe(false);
    });

    it('records lock and unlock in the audit log', async () => {
      const user = await createUser(t);
      await api.post(`/admin/users/${user.id}/lock`);
      await api.post(`/admin/users/${user.id}/unlock`);
      const events = await api.get(`/admin/audit-events?user=${user.id}`);
      expect(events.body.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['user.locked', 'user.unlocked']));
    });
  });

  it('ends the sessions of a user: 204, recorded in the audit log', async () => {
    const user = await createUser(t);
    const res = await api.delete(`/admin/users/${user.id}/sessions`);
    expect(res.status).toBe(204);
    const events = await api.get(`/admin/audit-events?user=${user.id}&type=admin.user.sessions_revoked`);
    expect(events.body).toEqual([expect.objectContaining({ user_id: user.id, client_id: 'test-admin', details: { families: 0, codes: 0, browser_sessions: 0 } })]);
  });

  it('requires an admin bearer token', async () => {
    const user = await createUser(t);
    for (const req of [
      t.http.get('/admin/users'),
      t.http.post('/admin/users').send({ username: unique('anon'), password: DEFAULT_PASSWORD }),
      t.http.get(`/admin/users/${user.id}`),
      t.http.patch(`/admin/users/${user.id}`).send({ disabled: true }),
      t.http.delete(`/admin/users/${user.id}`),
      t.http.post(`/admin/users/${user.id}/password`).send({ password: DEFAULT_PASSWORD }),
      t.http.post(`/admin/users/${user.id}/lock`),
      t.http.post(`/admin/users/${user.id}/unlock`),
    ]) {
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    const row = await storedRow(user.id);
    expect(Number(row!.disabled)).toBe(0);
    expect(Number(row!.admin_locked)).toBe(0);
  });
});
