import { decodeProtectedHeader } from 'jose';
import { startApp, type TestApp } from '../support/app';
import { createClient, tokenRequest } from '../support/fixtures';

describe('Key rotation across instances sharing one database (SPEC §1 scale-out, §3.8 keys)', () => {
  let a: TestApp & { database: Awaited<ReturnType<typeof startApp>>['database'] };
  let b: TestApp;

  beforeAll(async () => {
    a = await startApp();
    b = await startApp({ database: a.database });
  });
  afterAll(async () => {
    await b.close({ keepDatabase: true });
    await a.close();
  });

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
});
