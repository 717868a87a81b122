import { startApp, type TestApp } from '../support/app';

describe('Prometheus metrics (SPEC §2 /metrics)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp()));
  afterAll(() => t.close());

  it('counts requests by route pattern and status, and exposes process metrics', async () => {
    await t.http.post('/oauth2/token').type('form').send({ grant_type: 'client_credentials' }); // 401
    await t.http.get('/admin/users/some-id'); // 401, a parameterised route
    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain('gatehouse_http_requests_total{method="POST",route="/oauth2/token",status="401"} 1');
    expect(res.text).toContain('route="/admin/users/:id"');
    expect(res.text).not.toContain('some-id');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain('gatehouse_http_request_duration_seconds_bucket');
  });
});
