import { hash as argon2Hash, Algorithm } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { decodeJwt } from 'jose';
import { LoginNamesNfc1765600000002 } from '../../src/database/migrations/1765600000002-login-names-nfc';
import { startApp } from '../support/app';
import { testStore } from '../support/database';
import { createClient, createUser, tokenRequest, unique, type CreatedClient } from '../support/fixtures';

/**
 * Directory-style usernames (SPEC §6, §3.3): login names such as `alice@corp.example` and
 * `CORP\alice`, unique and looked up case-insensitively on both stores through an index, imported
 * with their bcrypt or argon2 hashes; imported hashes cheaper than the floor are refused.
 */

const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };

describe('Directory usernames (SPEC §6) and imported hashes (SPEC §3.3)', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let client: CreatedClient;
  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, { grant_types: ['password'] });
  });
  afterAll(() => t.close());

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });
  const admin = async () => ({ Authorization: `Bearer ${await t.adminToken()}` });
  const loginWith = (identifier: Record<string, string>, password: string) => tokenRequest(t, { grant_type: 'password', ...identifier, password }, basic());
  /** The user (sub) a successful login is for. */
  const subOf = async (identifier: Record<string, string>, password: string) => {
    const res = await loginWith(identifier, password);
    expect({ identifier, status: res.status }).toEqual({ identifier, status: 200 });
    return decodeJwt(res.body.access_token).sub;
  };

  it('imports 3 directory-shaped users with their hashes and logs each in by username, email and phone', async () => {
    const marker = unique('dir').replace(/-/g, '');
    const directory = [
      { username: `alice.${marker}@corp.example`, email: `alice.smith.${marker}@mail.example`, phone_number: '+4930901820', password: 'alice directory pw', hash: (pw: string) => bcrypt.hash(pw, 10) },
      { username: `CORP\\Bob.${marker}`, email: `bob.${marker}@corp.example`, phone_number: '+4930901821', password: 'bob directory pw', hash: (pw: string) => argon2Hash(pw, { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }) },
      { username: `Carol Müller ${marker}`, email: `carol.${marker}@corp.example`, phone_number: '+4930901822', password: 'carol directory pw', hash: (pw: string) => argon2Hash(pw, { algorithm: Algorithm.Argon2i, memoryCost: 47104, timeCost: 1 }) },
    ];
    for (const entry of directory) {
      const { hash, password, ...profile } = entry;
      const created = await t.http.post('/admin/users').set(await admin()).send({ ...profile, password_hash: await hash(password) });
      expect(created.status).toBe(201);
      expect(created.body.username).toBe(profile.username.toLowerCase());
      const identifiers: Record<string, string>[] = [
        { username: profile.username },
        { username: profile.username.toUpperCase() },
        { email: profile.email },
        { username: profile.email },
        { phone: profile.phone_number },
        { username: profile.phone_number },
      ];
      for (const identifier of identifiers) {
        expect(await subOf(identifier, password)).toBe(created.body.id);
      }
      expect((await loginWith({ username: profile.username }, 'not the password')).body).toEqual(BAD_CREDENTIALS);
    }
  });

  it('a username that looks like another user\'s email address matches the username\'s owner; email= matches the email\'s', async () => {
    const address = `${unique('dave')}@corp.example`;
    const byEmail = await createUser(t, { username: undefined, email: address });
    const byUsername = await createUser(t, { username: address.toUpperCase() });
    expect(await subOf({ username: address }, byUsername.password)).toBe(byUsername.id);
    expect(await subOf({ email: address }, byEmail.password)).toBe(byEmail.id);
  });

  it('usernames are unique and looked up case-insensitively, whatever the Unicode spelling', async () => {
    const base = unique('eve');
    const eve = await createUser(t, { username: `CORP\\${base}-Jose\u0301` });
    expect(eve).toMatchObject({ username: `corp\\${base}-jos\u00e9` });
    for (const duplicate of [`corp\\${base}-josé`, `CORP\\${base.toUpperCase()}-JOS\u00c9`, `corp\\${base}-jose\u0301`]) {
      const res = await t.http.post('/admin/users').set(await admin()).send({ username: duplicate, password: 'a long enough password' });
      expect({ duplicate, status: res.status }).toEqual({ duplicate, status: 409 });
    }
    expect(await subOf({ username: `Corp\\${base.toUpperCase()}-JOSÉ` }, eve.password)).toBe(eve.id);
    const [row] = await t.db.query('SELECT username FROM users WHERE id = ?', [eve.id]);
    expect(row.username).toBe(`corp\\${base}-jos\u00e9`);
  });

  it('looks usernames up through an index on both stores', async () => {
    // An existing name: for one that matches nothing, MariaDB's plan reads "Impossible WHERE" after probing the index.
    const { username } = await createUser(t, { username: `${unique('idx')}@corp.example` });
    if (testStore() === 'mysql') {
      const [plan] = await t.db.query('EXPLAIN SELECT id FROM users WHERE username = ?', [username]);
      expect(plan).toMatchObject({ type: 'const', key: expect.any(String) });
    } else {
      const plan = await t.db.query('EXPLAIN QUERY PLAN SELECT id FROM users WHERE username = ?', [username]);
      expect(JSON.stringify(plan)).toMatch(/USING (COVERING )?INDEX/);
    }
  });

  it.each([
    ['leading whitespace', ' alice'],
    ['trailing whitespace', 'alice\t'],
    ['a control character', 'al\u0007ice'],
    ['a zero-width space', 'al\u200bice'],
    ['a right-to-left override', 'al\u202eice'],
    ['256 characters', 'a'.repeat(256)],
    ['an empty string', ''],
  ])('refuses a username with %s (400 naming username)', async (_case, username) => {
    const res = await t.http.post('/admin/users').set(await admin()).send({ username, password: 'a long enough password' });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ username: ['username must be 1-255 printable characters without leading or trailing whitespace'] });
  });

  it('accepts 255 characters, inner spaces, and every script; PATCH applies the same rules', async () => {
    const long = `${unique('l')}${'x'.repeat(255)}`.slice(0, 255);
    expect((await createUser(t, { username: long })).username).toBe(long);
    const user = await createUser(t, { username: `${unique('名前')} 山田` });
    const patched = await t.http.patch(`/admin/users/${user.id}`).set(await admin()).send({ username: `${unique('x')}\\Δημήτρης` });
    expect(patched.status).toBe(200);
    const refused = await t.http.patch(`/admin/users/${user.id}`).set(await admin()).send({ username: 'trailing ' });
    expect(refused.status).toBe(400);
    expect(Object.keys(refused.body.fields)).toEqual(['username']);
  });

  describe('imported hashes below the floor (SPEC §3.3): refused, so no imported user answers faster than argon2id', () => {
    it.each([
      ['bcrypt cost 4', () => bcrypt.hashSync('pw', 4), 'bcrypt cost 4 is below the minimum of 10'],
      ['bcrypt cost 9', () => bcrypt.hashSync('pw', 9), 'bcrypt cost 9 is below the minimum of 10'],
      [
        'argon2id m=4096,t=3',
        () => argon2Hash('pw', { algorithm: Algorithm.Argon2id, memoryCost: 4096, timeCost: 3 }),
        'argon2 parameters below the OWASP minimum are refused (at least m=19456,t=2, m=47104,t=1, m=12288,t=3, m=9216,t=4 or m=7168,t=5)',
      ],
      [
        'argon2id m=19456,t=1',
        () => argon2Hash('pw', { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 1 }),
        'argon2 parameters below the OWASP minimum are refused (at least m=19456,t=2, m=47104,t=1, m=12288,t=3, m=9216,t=4 or m=7168,t=5)',
      ],
    ])('refuses %s with 400 and the reason, creating nothing', async (_name, make, reason) => {
      const username = unique('weak');
      const res = await t.http.post('/admin/users').set(await admin()).send({ username, password_hash: await make() });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ password_hash: [reason] });
      expect(await t.db.query('SELECT id FROM users WHERE username = ?', [username])).toEqual([]);
    });

    it('a wrong password against an imported bcrypt cost-10 hash runs the statements of one against argon2id, and a full-cost check', async () => {
      const imported = await createUser(t, { password: undefined, password_hash: bcrypt.hashSync('imported pw', 10) });
      const native = await createUser(t);
      const statements = async (username: string) => {
        const runner = t.db.createQueryRunner();
        const proto = Object.getPrototypeOf(runner) as { query: (...args: unknown[]) => unknown };
        await runner.release();
        const spy = jest.spyOn(proto, 'query');
        const compare = jest.spyOn(bcrypt, 'compare');
        try {
          expect((await loginWith({ username }, 'wrong password')).body).toEqual(BAD_CREDENTIALS);
          return {
            sql: spy.mock.calls.map(([sql]) => String(sql).replace(/\s+/g, ' ').replace(/\b\d{12,}\b/g, '<ms>').trim()),
            bcryptCosts: compare.mock.calls.map(([, hash]) => Number(String(hash).slice(4, 6))),
          };
        } finally {
          spy.mockRestore();
          compare.mockRestore();
        }
      };
      const againstBcrypt = await statements(imported.username as string);
      const againstArgon2 = await statements(native.username as string);
      expect(againstBcrypt.sql).toEqual(againstArgon2.sql);
      expect(againstBcrypt.bcryptCosts).toEqual([10]);
      expect(againstArgon2.bcryptCosts).toEqual([]);
    });
  });

  it('the migration rewrites stored usernames and emails to NFC, leaving one whose NFC form another user holds', async () => {
    const base = unique('nfc');
    const decomposed = await createUser(t, { username: `${base}-a` });
    const clash = await createUser(t, { username: `${base}-b` });
    const holder = await createUser(t, { username: `${base}-b-jos\u00e9` });
    // As stored before NFC: decomposed spellings, written directly.
    await t.db.query('UPDATE users SET username = ?, email = ? WHERE id = ?', [`${base}-a-jose\u0301`, `${base}-ze\u0301@example.com`, decomposed.id]);
    await t.db.query('UPDATE users SET username = ? WHERE id = ?', [`${base}-b-jose\u0301`, clash.id]);
    const runner = t.db.createQueryRunner();
    try {
      await new LoginNamesNfc1765600000002().up(runner);
    } finally {
      await runner.release();
    }
    const rows = await t.db.query('SELECT id, username, email FROM users WHERE id IN (?, ?, ?)', [decomposed.id, clash.id, holder.id]);
    const byId = Object.fromEntries(rows.map((r: { id: string; username: string; email: string }) => [r.id, r]));
    expect(byId[decomposed.id]).toMatchObject({ username: `${base}-a-jos\u00e9`, email: `${base}-z\u00e9@example.com` });
    expect(byId[clash.id].username).toBe(`${base}-b-jose\u0301`);
    expect(byId[holder.id].username).toBe(`${base}-b-jos\u00e9`);
    expect(await subOf({ username: `${base}-A-JOSE\u0301` }, decomposed.password)).toBe(decomposed.id);
  });
});
