import { eventually } from '../support/eventually';
import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, tokenRequest } from '../support/fixtures';

/**
 * A successful client authentication reads the client's failure counts (the per-address 429 and the
 * client lockout, docs/client-authentication.md) once per CACHE_TTL_SECONDS per (client, address)
 * that had none, so a warm client_credentials request runs no SQL at all; failures always read and
 * count, and failures counted on another instance apply here within CACHE_TTL_SECONDS (1 s here,
 * polled with a bound far above it: nothing here measures time).
 */
describe('Client authentication on a warm cache (CACHE_TTL_SECONDS)', () => {
  const LIMIT = 3;
  // AUDIT_TOKEN_EVENTS=false: the batched token.issued insert would otherwise land in the counted window.
  const env = { CACHE_TTL_SECONDS: '1', CLIENT_AUTH_FAILURE_LIMIT: String(LIMIT), AUDIT_TOKEN_EVENTS: 'false' };
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;

  beforeAll(async () => {
    ({ a, b } = await startInstances(env));
  });
  afterAll(() => closeInstances(a, b));

  const ccToken = (t: TestApp, id: string, secret: string) => tokenRequest(t, { grant_type: 'client_credentials' }, { id, secret });


  /** The SQL statements `t` runs during `action`. */
  async function statements(t: TestApp, action: () => Promise<unknown>): Promise<string[]> {
    const runner = t.db.createQueryRunner();
    const proto = Object.getPrototypeOf(runner) as { query: (...args: unknown[]) => unknown };
    await runner.release();
    const spy = jest.spyOn(proto, 'query');
    try {
      await action();
      return spy.mock.calls.map(([sql]) => String(sql).replace(/\s+/g, ' ').trim());
    } finally {
      spy.mockRestore();
    }
  }

  it('a warm client_credentials request runs no SQL statement; a wrong secret still reads and counts', async () => {
    const client = await createClient(a);
    expect((await ccToken(a, client.client_id, client.client_secret!)).status).toBe(200);

    let warm: { status: number; body: { access_token?: string } } | undefined;
    expect(await statements(a, async () => (warm = await ccToken(a, client.client_id, client.client_secret!)))).toEqual([]);
    expect(warm!.status).toBe(200);
    expect(warm!.body.access_token).toEqual(expect.any(String));

    const wrong = await statements(a, async () => expect((await ccToken(a, client.client_id, 'x'.repeat(43))).status).toBe(401));
    expect(wrong.some((sql) => /client_auth_failures/.test(sql))).toBe(true);
    // The failure forgot the pair: the next success reads again.
    const after = await statements(a, async () => expect((await ccToken(a, client.client_id, client.client_secret!)).status).toBe(200));
    expect(after.some((sql) => /client_auth_failures/.test(sql))).toBe(true);
  });

  it("failures counted on B throttle the same address on A within the TTL; a wrong guess on A is refused at once", async () => {
    // Start just after a minute began, on both clocks: the failures and the checks stay in one window.
    const toNextMinute = 60_000 - (a.clock.nowMs() % 60_000) + 200;
    a.clock.advance(toNextMinute);
    b.clock.advance(toNextMinute);
    const client = await createClient(a);
    // A remembers the pair as free of failures.
    expect((await ccToken(a, client.client_id, client.client_secret!)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await ccToken(b, client.client_id, 'x'.repeat(43))).status).toBe(401);
    expect((await ccToken(b, client.client_id, client.client_secret!)).status).toBe(429);

    // A wrong guess on A reads the counts at once: 429, not another 401.
    const other = await createClient(a);
    expect((await ccToken(a, other.client_id, other.client_secret!)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await ccToken(b, other.client_id, 'x'.repeat(43))).status).toBe(401);
    expect((await ccToken(a, other.client_id, 'x'.repeat(43))).status).toBe(429);

    // The correct secret on A: 429 once A's memory of the pair is older than the TTL.
    expect(await eventually(async () => (await ccToken(a, client.client_id, client.client_secret!)).status === 429)).toBe(true);
    const throttled = await ccToken(a, client.client_id, client.client_secret!);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
  });
});
