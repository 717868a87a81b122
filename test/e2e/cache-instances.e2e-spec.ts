import { decodeProtectedHeader } from 'jose';
import { eventually } from '../support/eventually';
import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, tokenRequest, type CreatedClient } from '../support/fixtures';

/**
 * The in-process caches of clients, the policy and signing keys (CACHE_TTL_SECONDS): a change is
 * seen at once by the instance that made it, and by every other instance on the same database
 * within CACHE_TTL_SECONDS (1 s here). The other instance is polled until it agrees, with a bound
 * far above the TTL: nothing here measures time.
 */
describe('Caches across two instances (CACHE_TTL_SECONDS)', () => {
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;

  beforeAll(async () => {
    ({ a, b } = await startInstances({ CACHE_TTL_SECONDS: '1' }));
  });
  afterAll(() => closeInstances(a, b));


  const ccToken = (t: TestApp, id: string, secret: string) => tokenRequest(t, { grant_type: 'client_credentials' }, { id, secret });
  const admin = async (t: TestApp) => ({ type: 'bearer' as const, token: await t.adminToken() });

  async function cachedOnBoth(client: CreatedClient) {
    // Both instances read the client now, so both hold it in their caches.
    expect((await ccToken(a, client.client_id, client.client_secret!)).status).toBe(200);
    expect((await ccToken(b, client.client_id, client.client_secret!)).status).toBe(200);
  }

  it('a client disabled through A is refused by A at once and by B within the TTL', async () => {
    const client = await createClient(a);
    await cachedOnBoth(client);
    const { token } = await admin(a);
    expect((await a.http.patch(`/admin/clients/${client.client_id}`).auth(token, { type: 'bearer' }).send({ disabled: true })).status).toBe(200);

    const onA = await ccToken(a, client.client_id, client.client_secret!);
    expect(onA.status).toBe(401);
    expect(onA.body.error).toBe('invalid_client');
    expect(await eventually(async () => (await ccToken(b, client.client_id, client.client_secret!)).status === 401)).toBe(true);
  });

  it('a secret rotated through A: the old one is refused everywhere within the TTL, the new one accepted', async () => {
    const client = await createClient(a);
    await cachedOnBoth(client);
    const { token } = await admin(a);
    const rotated = await a.http.post(`/admin/clients/${client.client_id}/secret`).auth(token, { type: 'bearer' });
    expect(rotated.status).toBe(200);
    const secret = rotated.body.client_secret as string;
    expect(secret).toEqual(expect.any(String));

    expect((await ccToken(a, client.client_id, client.client_secret!)).status).toBe(401);
    expect((await ccToken(a, client.client_id, secret)).status).toBe(200);
    expect(await eventually(async () => (await ccToken(b, client.client_id, client.client_secret!)).status === 401)).toBe(true);
    expect((await ccToken(b, client.client_id, secret)).status).toBe(200);
  });

  it('a policy changed through A applies on A at once and on B within the TTL', async () => {
    const policyOf = async (t: TestApp) => (await t.http.get('/admin/policy').auth(await t.adminToken(), { type: 'bearer' })).body;
    const before = await policyOf(b);
    const grace = before.refresh_token_grace_seconds === 7 ? 8 : 7;
    const put = await a.http
      .put('/admin/policy')
      .auth(await a.adminToken(), { type: 'bearer' })
      .send({ ...before, refresh_token_grace_seconds: grace });
    expect(put.status).toBe(200);
    expect((await policyOf(a)).refresh_token_grace_seconds).toBe(grace);
    expect(await eventually(async () => (await policyOf(b)).refresh_token_grace_seconds === grace)).toBe(true);
  });

  it('a key rotated through A signs, on A and on B, only once both publish it (after the TTL)', async () => {
    const client = await createClient(a);
    const kidOf = async (t: TestApp) => {
      const res = await ccToken(t, client.client_id, client.client_secret!);
      expect(res.status).toBe(200);
      return decodeProtectedHeader(res.body.access_token as string).kid!;
    };
    const jwksOf = async (t: TestApp) => ((await t.http.get('/oauth2/jwks')).body.keys as { kid: string }[]).map((k) => k.kid);
    const oldKid = await kidOf(b);
    const rotatedAt = Date.now();
    const rotated = await a.http.post('/admin/keys/rotate').auth(await a.adminToken(), { type: 'bearer' });
    expect(rotated.status).toBe(200);
    const newKids = rotated.body.kids as string[];
    // Right after the rotation A still signs with the old key (which every instance publishes),
    // unless the TTL (1 s) has already passed on a slow machine.
    const first = await kidOf(a);
    if (first !== oldKid) expect(Date.now() - rotatedAt).toBeGreaterThanOrEqual(1_000);
    // Then A signs with the new key, and by then B publishes it too.
    expect(await eventually(async () => newKids.includes(await kidOf(a)))).toBe(true);
    const newKid = await kidOf(a);
    expect(await jwksOf(b)).toContain(newKid);
    expect(await eventually(async () => (await kidOf(b)) === newKid)).toBe(true);
  });

  it('the JWKS: a key rotated through A is published by A at once and by B within the TTL, the old keys kept', async () => {
    const kids = async (t: TestApp) => {
      const res = await t.http.get('/oauth2/jwks');
      expect(res.status).toBe(200);
      return (res.body.keys as { kid: string }[]).map((k) => k.kid);
    };
    // Both instances have served (and cached) the JWKS before the rotation.
    const before = await kids(a);
    expect(await kids(b)).toEqual(before);
    const rotated = await a.http.post('/admin/keys/rotate').auth(await a.adminToken(), { type: 'bearer' });
    expect(rotated.status).toBe(200);
    const newKids = rotated.body.kids as string[];
    expect(await kids(a)).toEqual(expect.arrayContaining([...newKids, ...before]));
    expect(
      await eventually(async () => {
        const published = await kids(b);
        return newKids.every((kid) => published.includes(kid));
      }),
    ).toBe(true);
    expect(await kids(b)).toEqual(expect.arrayContaining([...newKids, ...before]));
  });
});
