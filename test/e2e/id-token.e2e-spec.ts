import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, FULL_PROFILE, type CreatedClient, type CreatedUser } from '../support/fixtures';

const ALL_SCOPES = 'openid profile email phone address groups';

describe('id_token of the password grant (SPEC §3.8)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let full: CreatedUser;
  let sparse: CreatedUser;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  beforeAll(async () => {
    t = await startApp();
    const { port } = t.app.getHttpServer().address() as { port: number };
    jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/oauth2/jwks`));
    client = await createClient(t, { grant_types: ['password'], id_token_ttl: 600, access_token_ttl: 900 });
    full = await createUser(t, {
      username: unique('Full'),
      email: `${unique('Full')}@Example.com`,
      email_verified: true,
      ...FULL_PROFILE,
    });
    sparse = await createUser(t);
  });
  afterAll(() => t.close());

  const login = (user: CreatedUser, form: Record<string, string> = {}, c: CreatedClient = client) =>
    tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, ...form }, { id: c.client_id, secret: c.client_secret! });

  const leftHalfHash = (token: string, algorithm: 'sha256' | 'sha512') => {
    const digest = createHash(algorithm).update(token, 'ascii').digest();
    return digest.subarray(0, digest.length / 2).toString('base64url');
  };

  async function verified(idToken: string, audience = client.client_id): Promise<JWTPayload> {
    const { payload } = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience });
    return payload;
  }

  const fullClaims = () => ({
    profile: {
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      middle_name: 'Augusta',
      nickname: 'ada',
      profile: 'https://example.com/ada',
      picture: 'https://example.com/ada.png',
      website: 'https://ada.example.com',
      gender: 'female',
      birthdate: '1815-12-10',
      zoneinfo: 'Europe/London',
      locale: 'en-GB',
      preferred_username: (full.username as string).toLowerCase(),
      updated_at: Math.floor(Date.parse(full.updated_at as string) / 1000),
    },
    email: { email: (full.email as string).toLowerCase(), email_verified: true },
    phone: { phone_number: '+4915112345678', phone_number_verified: false },
    address: { address: { street_address: '12 St James Square', locality: 'London', postal_code: 'SW1Y 4JH', country: 'GB' } },
    groups: { groups: ['analysts', 'engineers'] },
  });

  it('is RS256 with the kid of a JWKS key, and carries iss sub aud exp iat auth_time sid amr at_hash and every scope\'s claims', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await login(full, { scope: ALL_SCOPES });
    const after = Math.ceil(Date.now() / 1000);
    expect(res.status).toBe(200);
    const header = decodeProtectedHeader(res.body.id_token);
    expect(header).toEqual({ alg: 'RS256', kid: expect.any(String) });
    const published = (await t.http.get('/oauth2/jwks')).body.keys as { kid: string; alg: string }[];
    expect(published).toContainEqual(expect.objectContaining({ kid: header.kid, alg: 'RS256' }));

    const payload = await verified(res.body.id_token);
    const [family] = await t.db.query('SELECT id FROM token_families WHERE user_id = ?', [full.id]);
    const claims = fullClaims();
    expect(payload).toEqual({
      iss: ISSUER,
      sub: full.id,
      aud: client.client_id,
      exp: payload.iat! + 600,
      iat: expect.any(Number),
      auth_time: expect.any(Number),
      sid: family.id,
      amr: ['pwd'],
      at_hash: leftHalfHash(res.body.access_token, 'sha256'),
      ...claims.profile,
      ...claims.email,
      ...claims.phone,
      ...claims.address,
      ...claims.groups,
    });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect(payload.auth_time).toBeLessThanOrEqual(payload.iat!);
    expect(payload.iat! - (payload.auth_time as number)).toBeLessThanOrEqual(1);
    expect(payload).not.toHaveProperty('nonce');

    // The access token belongs to the same session.
    const access = await jwtVerify(res.body.access_token, jwks, { issuer: ISSUER, typ: 'at+jwt' });
    expect(access.payload).toMatchObject({ sub: full.id, sid: family.id, auth_time: payload.auth_time, client_id: client.client_id });
    expect(access.payload.exp! - access.payload.iat!).toBe(900);
  });

  it('carries no user claims for scope "openid" alone', async () => {
    const res = await login(full, { scope: 'openid' });
    const payload = await verified(res.body.id_token);
    expect(Object.keys(payload).sort()).toEqual(['amr', 'at_hash', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'sid', 'sub']);
  });

  it.each(['profile', 'email', 'phone', 'address', 'groups'] as const)('releases exactly the "%s" claims when that scope is granted', async (scope) => {
    const res = await login(full, { scope: `openid ${scope}` });
    expect(res.body.scope).toBe(`openid ${scope}`);
    const payload = await verified(res.body.id_token);
    const { iss, sub, aud, exp, iat, auth_time, sid, amr, at_hash, ...userClaims } = payload;
    expect({ iss, sub, aud, exp, iat, auth_time, sid, amr, at_hash }).toEqual(expect.objectContaining({ iss: ISSUER, sub: full.id }));
    expect(userClaims).toEqual(fullClaims()[scope]);
  });

  it('leaves out claims without a value instead of sending null or ""', async () => {
    const res = await login(sparse, { scope: ALL_SCOPES });
    const payload = await verified(res.body.id_token);
    const { iss, sub, aud, exp, iat, auth_time, sid, amr, at_hash, ...userClaims } = payload;
    expect(userClaims).toEqual({
      preferred_username: sparse.username,
      updated_at: Math.floor(Date.parse(sparse.updated_at as string) / 1000),
    });
  });

  it('has no id_token without openid', async () => {
    const res = await login(full, { scope: 'profile email' });
    expect(res.status).toBe(200);
    expect(res.body.id_token).toBeUndefined();
  });

  it('computes at_hash over an opaque access token too', async () => {
    const res = await login(full, { scope: 'openid', token_format: 'opaque' });
    const payload = await verified(res.body.id_token);
    expect(payload.at_hash).toBe(leftHalfHash(res.body.access_token, 'sha256'));
  });

  it('lives 3600 s by default (the client\'s id_token_ttl)', async () => {
    const plain = await createClient(t, { grant_types: ['password'] });
    const res = await login(full, { scope: 'openid' }, plain);
    const payload = await verified(res.body.id_token, plain.client_id);
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it.each([
    ['ES256', 'sha256'],
    ['EdDSA', 'sha512'],
  ] as const)('is signed with %s when the client has id_token_signed_response_alg set, with a matching at_hash', async (alg, hash) => {
    const other = await createClient(t, { grant_types: ['password'], id_token_signed_response_alg: alg });
    const res = await login(full, { scope: 'openid email' }, other);
    expect(res.status).toBe(200);
    const header = decodeProtectedHeader(res.body.id_token);
    expect(header).toEqual({ alg, kid: expect.any(String) });
    const { payload, protectedHeader } = await jwtVerify(res.body.id_token, jwks, { issuer: ISSUER, audience: other.client_id, algorithms: [alg] });
    expect(protectedHeader.alg).toBe(alg);
    expect(payload).toMatchObject({ sub: full.id, aud: other.client_id, amr: ['pwd'], email: (full.email as string).toLowerCase(), email_verified: true });
    expect(payload.at_hash).toBe(leftHalfHash(res.body.access_token, hash));
    // The access token stays RS256 (RFC 9068 needs no per-client algorithm).
    expect(decodeProtectedHeader(res.body.access_token).alg).toBe('RS256');
  });
});
