import { decodeProtectedHeader } from 'jose';
import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, tokenRequest } from '../support/fixtures';

describe('Key rotation across instances sharing one database (SPEC §1 scale-out, §3.8 keys)', () => {
  let a: TestApp & { database: Awaited<ReturnType<typeof startApp>>['database'] };
  let b: TestApp;

  beforeAll(async () => {
    // Uncached, so that each instance signs with what the database says at every request.
    ({ a, b } = await startInstances({ CACHE_TTL_SECONDS: '0' }));
  });
  afterAll(() => closeInstances(a, b));

  it('publishes a key rotated on one instance from every instance at once', async () => {
    const before = (await b.http.get('/oauth2/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    const rotated = await a.http.post('/admin/keys/rotate').auth(await a.adminToken(), { type: 'bearer' });
    expect(rotated.status).toBe(200);
    const newKids: string[] = rotated.body.kids;
    expect(newKids).toHaveLength(3);

    const after = (await b.http.get('/oauth2/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    for (const kid of newKids) expect(after).toContain(kid);
    for (const kid of before) expect(after).toContain(kid);
  });

  it('accepts, on the other instance, a token signed with the key the rotation made current', async () => {
    const client = await createClient(a, { scope: 'api', default_scope: 'api' });
    const issued = await tokenRequest(a, { grant_type: 'client_credentials', token_format: 'jwt' }, { id: client.client_id, secret: client.client_secret! });
    expect(issued.status).toBe(200);
    const jwks = (await a.http.get('/oauth2/jwks')).body.keys as { kid: string; alg: string }[];
    expect(jwks.map((k) => k.kid)).toContain(decodeProtectedHeader(issued.body.access_token).kid);

    const introspected = await b.http
      .post('/oauth2/introspect')
      .auth(client.client_id, client.client_secret!)
      .type('form')
      .send({ token: issued.body.access_token });
    expect(introspected.status).toBe(200);
    expect(introspected.body).toMatchObject({ active: true, client_id: client.client_id });
  });

  it('concurrent rotations on both instances always leave a current key, and exactly one per algorithm once they finish', async () => {
    const client = await createClient(a, { scope: 'api', default_scope: 'api' });
    const currentKeys = async () =>
      (await a.db.query("SELECT alg, kid FROM `keys` WHERE purpose = 'signing' AND retired_at IS NULL ")) as { alg: string; kid: string }[];
    const rotate = async (t: TestApp) => {
      const res = await t.http.post('/admin/keys/rotate').auth(await t.adminToken(), { type: 'bearer' });
      expect(res.status).toBe(200);
    };
    let signing = true;
    const statuses: number[] = [];
    const minted = new Set<string>();
    // Tokens are asked for on both instances all along: none may fail for want of a current key.
    const load = (async () => {
      for (let i = 0; signing; i++) {
        const t = i % 2 ? b : a;
        const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
        statuses.push(res.status);
        if (res.status === 200) minted.add(decodeProtectedHeader(res.body.access_token).kid as string);
        const current = await currentKeys();
        for (const alg of ['EdDSA', 'ES256', 'RS256']) expect({ alg, current: current.some((k) => k.alg === alg) }).toEqual({ alg, current: true });
      }
    })();
    try {
      for (let round = 0; round < 4; round++) await Promise.all([rotate(a), rotate(b), rotate(a), rotate(b)]);
    } finally {
      signing = false;
      await load;
    }
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const current = await currentKeys();
    // Sorted here: the stores collate 'EdDSA' and 'ES256' differently.
    expect(current.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    // Both instances sign with the current RS256 key once their caches have aged out (0 s here).
    const kidOn = async (t: TestApp) =>
      decodeProtectedHeader((await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! })).body.access_token).kid;
    const rs256 = current.find((k) => k.alg === 'RS256')!.kid;
    expect(await kidOn(a)).toBe(rs256);
    expect(await kidOn(b)).toBe(rs256);
  });
});
