import { constants, createECDH, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, type JWK } from 'jose';
import { sm2 } from 'sm-crypto';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';

const KEK = 'a-key-encryption-secret-of-at-least-32-chars';
const NOT_DECRYPTED = { error: 'invalid_request', error_description: 'Password could not be decrypted' };
const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Bad credentials' };

interface PasswordKeys {
  rsa: { kid: string; public_key: string; algorithm: string };
  sm2: { kid: string; public_key: string; cipher_mode: string };
}

const oaep = (pem: string, password: string, oaepHash = 'sha256') =>
  publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, Buffer.from(password, 'utf8')).toString('base64');
const pkcs1 = (pem: string, password: string) =>
  publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(password, 'utf8')).toString('base64');
/** sm-crypto (as the vendor's SDKs use it) returns C1 without the 04 prefix; some clients add it. */
const sm2Encrypt = (publicKeyHex: string, password: string, { prefix = false, mode = 1 as 0 | 1 } = {}) =>
  (prefix ? '04' : '') + sm2.doEncrypt(password, publicKeyHex, mode);

/**
 * sm-crypto encryption with an ephemeral key whose C1 starts with the digits 04 (1 in 256): found
 * quickly with Node's native SM2 curve, then handed to sm-crypto in place of its own random key.
 */
function sm2EncryptWithC1StartingWith04(publicKeyHex: string, password: string): string {
  let ephemeral = createECDH('SM2');
  ephemeral.generateKeys();
  while (!ephemeral.getPublicKey('hex').startsWith('0404')) {
    ephemeral = createECDH('SM2');
    ephemeral.generateKeys();
  }
  const utils = require('sm-crypto/src/sm2/utils') as { generateKeyPairHex: () => { privateKey: string; publicKey: string } };
  const original = utils.generateKeyPairHex;
  utils.generateKeyPairHex = () => ({ privateKey: ephemeral.getPrivateKey('hex').padStart(64, '0'), publicKey: ephemeral.getPublicKey('hex') });
  try {
    return sm2.doEncrypt(password, publicKeyHex, 1);
  } finally {
    utils.generateKeyPairHex = original;
  }
}

describe('Password transport encryption (SPEC §3.3 password_encrypt_type)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let keys: PasswordKeys;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, { grant_types: ['password'] });
    keys = (await t.http.get('/oauth2/password-encryption-keys')).body as PasswordKeys;
  });
  afterAll(() => t.close());

  const login = (form: Record<string, string>, c: CreatedClient = client) =>
    tokenRequest(t, { grant_type: 'password', ...form }, { id: c.client_id, secret: c.client_secret! });
  const loginAs = (user: CreatedUser, password: string, type: string) =>
    login({ username: user.username as string, password, password_encrypt_type: type });

  async function failedLoginCount(userId: string): Promise<number> {
    const [row] = await t.db.query('SELECT failed_login_count FROM users WHERE id = ?', [userId]);
    return Number(row.failed_login_count);
  }

  async function loginFailures(userId: string): Promise<unknown[]> {
    const res = await t.http.get(`/admin/audit-events?user=${userId}&type=login.failure`).auth(await t.adminToken(), { type: 'bearer' });
    expect(res.status).toBe(200);
    return res.body as unknown[];
  }

  describe('the public keys', () => {
    it('GET /oauth2/password-encryption-keys: an RSA-2048 SPKI PEM for RSA-OAEP-256 and an uncompressed SM2 point, with kids', async () => {
      const res = await t.http.get('/oauth2/password-encryption-keys');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.body).toEqual({
        rsa: { kid: expect.any(String), public_key: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/), algorithm: 'RSA-OAEP-256' },
        sm2: { kid: expect.any(String), public_key: expect.stringMatching(/^04[0-9a-f]{128}$/), cipher_mode: 'C1C3C2' },
      });
      const rsaKey = createPublicKey(res.body.rsa.public_key);
      expect(rsaKey.asymmetricKeyType).toBe('rsa');
      expect(rsaKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(res.body.rsa.kid).toBe(await calculateJwkThumbprint(rsaKey.export({ format: 'jwk' }) as JWK));
      expect(sm2.verifyPublicKey(res.body.sm2.public_key)).toBe(true);
    });

    it('GET /api/v3/system serves the same keys in the vendor shape', async () => {
      const res = await t.http.get('/api/v3/system');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.body).toEqual({ rsa: { publicKey: keys.rsa.public_key }, sm2: { publicKey: keys.sm2.public_key } });
    });

    it('keeps one key of each kind in the keys table; without KEY_ENCRYPTION_SECRET the private parts are stored as they are', async () => {
      const rows = await t.db.query("SELECT kid, purpose, alg, public_key, private_key, private_key_encrypted, retired_at FROM `keys` WHERE purpose LIKE 'password-%' ORDER BY purpose");
      expect(rows.map((r: Record<string, unknown>) => [r.kid, r.purpose, r.alg, Number(r.private_key_encrypted), r.retired_at])).toEqual([
        [keys.rsa.kid, 'password-rsa', 'RSA-OAEP-256', 0, null],
        [keys.sm2.kid, 'password-sm2', 'SM2', 0, null],
      ]);
      expect(rows[0].private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(rows[1].public_key).toBe(keys.sm2.public_key);
      expect(rows[1].private_key).toMatch(/^[0-9a-f]{64}$/);
    });

    it('are in the OpenAPI document', async () => {
      const doc = (await t.http.get('/docs-json')).body as { paths: Record<string, { get?: unknown }> };
      expect(doc.paths['/oauth2/password-encryption-keys']?.get).toBeDefined();
      expect(doc.paths['/api/v3/system']?.get).toBeDefined();
    });
  });

  describe('password_encrypt_type=rsa', () => {
    it('logs in with base64 RSA-OAEP (SHA-256) ciphertext of the password, UTF-8 included', async () => {
      const user = await createUser(t, { password: 'pässwörd ✓ with spaces' });
      const res = await loginAs(user, oaep(keys.rsa.public_key, user.password), 'rsa');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual(expect.objectContaining({ access_token: expect.any(String), token_type: 'Bearer' }));
      expect(decodeJwt(res.body.id_token).amr).toEqual(['pwd']);
      expect(await failedLoginCount(user.id)).toBe(0);
    });

    it('accepts base64url and a "+" that arrived as a space (unencoded in the form body)', async () => {
      const user = await createUser(t);
      const urlSafe = oaep(keys.rsa.public_key, user.password).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      expect((await loginAs(user, urlSafe, 'rsa')).status).toBe(200);
      let withPlus = oaep(keys.rsa.public_key, user.password);
      while (!withPlus.includes('+')) withPlus = oaep(keys.rsa.public_key, user.password);
      const raw = `grant_type=password&username=${encodeURIComponent(user.username as string)}&password_encrypt_type=rsa&password=${withPlus.replace(/=/g, '%3D')}`;
      const res = await t.http.post('/oauth2/token').auth(client.client_id, client.client_secret!).type('form').send(raw);
      expect(res.status).toBe(200);
    });

    it('checks the decrypted password like any other: a wrong one is "Bad credentials" and counts', async () => {
      const user = await createUser(t);
      const res = await loginAs(user, oaep(keys.rsa.public_key, 'not the password'), 'rsa');
      expect(res.status).toBe(400);
      expect(res.body).toEqual(BAD_CREDENTIALS);
      expect(await failedLoginCount(user.id)).toBe(1);
    });

    it('refuses PKCS#1 v1.5 ciphertext by default (PASSWORD_RSA_PKCS1 unset), without counting a failure', async () => {
      const user = await createUser(t);
      const res = await loginAs(user, pkcs1(keys.rsa.public_key, user.password), 'rsa');
      expect(res.status).toBe(400);
      expect(res.body).toEqual(NOT_DECRYPTED);
      expect(await failedLoginCount(user.id)).toBe(0);
    });

    it('refuses OAEP with SHA-1 (only RSA-OAEP-256 is advertised)', async () => {
      const user = await createUser(t);
      const res = await loginAs(user, oaep(keys.rsa.public_key, user.password, 'sha1'), 'rsa');
      expect(res.status).toBe(400);
      expect(res.body).toEqual(NOT_DECRYPTED);
    });

    it('an encrypted empty password is "A password must be supplied."', async () => {
      const user = await createUser(t);
      const res = await loginAs(user, oaep(keys.rsa.public_key, ''), 'rsa');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'A password must be supplied.' });
    });
  });

  describe('password_encrypt_type=sm2', () => {
    it('logs in with hex C1C3C2 ciphertext, C1 without the 04 prefix (as sm-crypto produces it)', async () => {
      const user = await createUser(t, { password: '密码 password 123' });
      const res = await loginAs(user, sm2Encrypt(keys.sm2.public_key, user.password), 'sm2');
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expect(await failedLoginCount(user.id)).toBe(0);
    });

    it('logs in with C1 carrying the 04 prefix, and with upper-case hex', async () => {
      const user = await createUser(t);
      expect((await loginAs(user, sm2Encrypt(keys.sm2.public_key, user.password, { prefix: true }), 'sm2')).status).toBe(200);
      expect((await loginAs(user, sm2Encrypt(keys.sm2.public_key, user.password).toUpperCase(), 'sm2')).status).toBe(200);
    });

    it('decrypts an unprefixed C1 whose x coordinate happens to start with the digits 04', async () => {
      const user = await createUser(t);
      const ciphertext = sm2EncryptWithC1StartingWith04(keys.sm2.public_key, user.password);
      expect(ciphertext).toMatch(/^04/);
      expect(ciphertext).toHaveLength(128 + 64 + 2 * Buffer.byteLength(user.password));
      expect((await loginAs(user, ciphertext, 'sm2')).status).toBe(200);
      expect((await loginAs(user, `04${ciphertext}`, 'sm2')).status).toBe(200);
    });

    it('refuses C1C2C3 order and checks the decrypted password', async () => {
      const user = await createUser(t);
      const c1c2c3 = await loginAs(user, sm2Encrypt(keys.sm2.public_key, user.password, { mode: 0 }), 'sm2');
      expect(c1c2c3.status).toBe(400);
      expect(c1c2c3.body).toEqual(NOT_DECRYPTED);
      expect(await failedLoginCount(user.id)).toBe(0);
      const wrong = await loginAs(user, sm2Encrypt(keys.sm2.public_key, 'wrong password'), 'sm2');
      expect(wrong.body).toEqual(BAD_CREDENTIALS);
      expect(await failedLoginCount(user.id)).toBe(1);
    });
  });

  describe('a ciphertext that does not decrypt', () => {
    const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const otherSm2 = sm2.generateKeyPairHex().publicKey;

    it('is 400 invalid_request "Password could not be decrypted", never counted as a failed login', async () => {
      const user = await createUser(t);
      const good = sm2Encrypt(keys.sm2.public_key, user.password);
      const tampered = `${good.slice(0, 128)}${good[128] === '0' ? '1' : '0'}${good.slice(129)}`;
      const cases: [string, string][] = [
        ['rsa', 'c2VjcmV0'],
        ['rsa', user.password],
        ['rsa', 'not base64 at all!'],
        ['rsa', randomBytes(256).toString('base64')],
        ['rsa', randomBytes(300).toString('base64')],
        ['rsa', 'A'.repeat(5000)],
        ['rsa', oaep(otherRsa, user.password)],
        ['rsa', Buffer.alloc(256, 0xff).toString('base64')],
        ['sm2', 'zz'],
        ['sm2', 'abc'],
        ['sm2', '04'],
        ['sm2', randomBytes(20).toString('hex')],
        ['sm2', randomBytes(150).toString('hex')],
        ['sm2', `04${randomBytes(150).toString('hex')}`],
        ['sm2', sm2Encrypt(otherSm2, user.password)],
        ['sm2', tampered],
        ['sm2', '0'.repeat(20_000)],
        ['sm2', user.password],
      ];
      for (const [type, password] of cases) {
        const res = await loginAs(user, password, type);
        expect([type, password.slice(0, 40), res.status, res.body]).toEqual([type, password.slice(0, 40), 400, NOT_DECRYPTED]);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers.pragma).toBe('no-cache');
      }
      expect(await failedLoginCount(user.id)).toBe(0);
      expect(await loginFailures(user.id)).toEqual([]);
    });

    it('is refused before the account is looked at: an unknown user reads the same', async () => {
      const res = await login({ username: unique('nobody'), password: 'c2VjcmV0', password_encrypt_type: 'rsa' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(NOT_DECRYPTED);
    });

    it('an unknown password_encrypt_type is invalid_request; the type is checked before the scope, decryption after it', async () => {
      const user = await createUser(t);
      expect((await loginAs(user, user.password, 'aes')).body).toEqual({ error: 'invalid_request', error_description: 'Unsupported password_encrypt_type' });
      const badScope = await login({ username: user.username as string, password: 'garbage', password_encrypt_type: 'sm2', scope: 'openid nope' });
      expect(badScope.status).toBe(400);
      expect(badScope.body.error).toBe('invalid_scope');
    });
  });

  describe('keys shared by every instance', () => {
    it('publishes the oldest key of each kind and decrypts with every stored one (instances that generated keys at the same moment)', async () => {
      const app = await startApp();
      try {
        const first = (await app.http.get('/oauth2/password-encryption-keys')).body as PasswordKeys;
        const c = await createClient(app, { grant_types: ['password'] });
        const user = await createUser(app);
        const [row] = await app.db.query("SELECT created_at FROM `keys` WHERE purpose = 'password-rsa'");
        const olderThanOurs = Number(row.created_at) - 1000;
        // What another instance starting at the same time would have written.
        const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const rsaJwk = rsaPair.publicKey.export({ format: 'jwk' }) as JWK;
        const rsaKid = await calculateJwkThumbprint(rsaJwk);
        const sm2Pair = sm2.generateKeyPairHex();
        const insert = 'INSERT INTO `keys` (kid, purpose, alg, public_key, private_key, private_key_encrypted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)';
        await app.db.query(insert, [rsaKid, 'password-rsa', 'RSA-OAEP-256', JSON.stringify({ ...rsaJwk, kid: rsaKid }), rsaPair.privateKey.export({ type: 'pkcs8', format: 'pem' }), false, olderThanOurs]);
        await app.db.query(insert, ['sm2-other-instance', 'password-sm2', 'SM2', sm2Pair.publicKey, sm2Pair.privateKey, false, olderThanOurs]);

        app.clock.advance(61_000); // past the reload interval
        const now = (await app.http.get('/oauth2/password-encryption-keys')).body as PasswordKeys;
        expect(now.rsa.kid).toBe(rsaKid);
        expect(now.sm2).toEqual({ kid: 'sm2-other-instance', public_key: sm2Pair.publicKey, cipher_mode: 'C1C3C2' });
        const send = (password: string, type: string) =>
          tokenRequest(app, { grant_type: 'password', username: user.username as string, password, password_encrypt_type: type }, { id: c.client_id, secret: c.client_secret! });
        for (const [password, type] of [
          [oaep(first.rsa.public_key, user.password), 'rsa'],
          [oaep(now.rsa.public_key, user.password), 'rsa'],
          [sm2Encrypt(first.sm2.public_key, user.password), 'sm2'],
          [sm2Encrypt(now.sm2.public_key, user.password), 'sm2'],
        ]) {
          expect((await send(password, type)).status).toBe(200);
        }
      } finally {
        await app.close();
      }
    });

    it('with KEY_ENCRYPTION_SECRET the private parts are encrypted, and a restart keeps the same keys', async () => {
      const first = await startApp({ env: { KEY_ENCRYPTION_SECRET: KEK } });
      let database = first.database;
      try {
        const before = (await first.http.get('/oauth2/password-encryption-keys')).body as PasswordKeys;
        const rows = await first.db.query("SELECT private_key, private_key_encrypted FROM `keys` WHERE purpose LIKE 'password-%'");
        expect(rows).toHaveLength(2);
        for (const row of rows) {
          expect(Number(row.private_key_encrypted)).toBe(1);
          expect(row.private_key).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        }
        const c = await createClient(first, { grant_types: ['password'] });
        const user = await createUser(first);
        // Encrypted before the restart, sent after it.
        const rsaCiphertext = oaep(before.rsa.public_key, user.password);
        const sm2Ciphertext = sm2Encrypt(before.sm2.public_key, user.password);
        await first.close({ keepDatabase: true });

        const second = await startApp({ database, env: { KEY_ENCRYPTION_SECRET: KEK } });
        database = second.database;
        try {
          expect((await second.http.get('/oauth2/password-encryption-keys')).body).toEqual(before);
          expect(Number((await second.db.query("SELECT COUNT(*) AS n FROM `keys` WHERE purpose LIKE 'password-%'"))[0].n)).toBe(2);
          for (const [password, type] of [[rsaCiphertext, 'rsa'], [sm2Ciphertext, 'sm2']]) {
            const res = await tokenRequest(second, { grant_type: 'password', username: user.username as string, password, password_encrypt_type: type }, { id: c.client_id, secret: c.client_secret! });
            expect(res.status).toBe(200);
          }
        } finally {
          await second.close();
        }
      } catch (error) {
        await database.drop().catch(() => undefined);
        throw error;
      }
    });
  });

  describe('PASSWORD_RSA_PKCS1=true', () => {
    it('also accepts PKCS#1 v1.5 (JSEncrypt) ciphertext; OAEP still works and garbage is still refused', async () => {
      const app = await startApp({ env: { PASSWORD_RSA_PKCS1: 'true' } });
      try {
        const pem = ((await app.http.get('/oauth2/password-encryption-keys')).body as PasswordKeys).rsa.public_key;
        const c = await createClient(app, { grant_types: ['password'] });
        const user = await createUser(app, { password: 'jsencrypt pässword' });
        const send = (password: string) =>
          tokenRequest(app, { grant_type: 'password', username: user.username as string, password, password_encrypt_type: 'rsa' }, { id: c.client_id, secret: c.client_secret! });
        const viaPkcs1 = await send(pkcs1(pem, user.password));
        expect(viaPkcs1.status).toBe(200);
        expect(viaPkcs1.body.access_token).toEqual(expect.any(String));
        expect((await send(oaep(pem, user.password))).status).toBe(200);
        const wrong = await send(pkcs1(pem, 'wrong password'));
        expect(wrong.body).toEqual(BAD_CREDENTIALS);
        for (const garbage of ['c2VjcmV0', randomBytes(256).toString('base64')]) {
          const res = await send(garbage);
          expect(res.status).toBe(400);
          expect(res.body).toEqual(NOT_DECRYPTED);
        }
        const [row] = await app.db.query('SELECT failed_login_count FROM users WHERE id = ?', [user.id]);
        expect(Number(row.failed_login_count)).toBe(1);
      } finally {
        await app.close();
      }
    });
  });
});
