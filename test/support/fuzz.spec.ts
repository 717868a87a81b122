import { describeRequest, judge, requestSeed, Rng, shrink, simplifications, type FuzzRequest, type FuzzResponse } from './fuzz';

/** The oracle and the shrinker of the hostile-input suite (test/e2e/fuzz.e2e-spec.ts), against made-up responses. */

const ok = (status: number, text = '{"error":"invalid_request"}', headers: FuzzResponse['headers'] = {}): FuzzResponse => ({ status, text, headers });

describe('judge (the oracle)', () => {
  it('passes client errors, redirects and successes with clean bodies', () => {
    expect(judge(ok(200, '{"access_token":"x"}'))).toBeUndefined();
    expect(judge(ok(400))).toBeUndefined();
    expect(judge(ok(302, '', { location: 'https://app.example/cb?error=access_denied&state=a%0Db' }))).toBeUndefined();
    expect(judge(ok(404, '{"message":"Cannot POST /oauth2/logout"}'))).toBeUndefined();
    // An error code that contains "ER_" is no driver error.
    expect(judge(ok(400, '{"error":"invalid_grant","error_code":"USER_LOCKED"}'))).toBeUndefined();
  });

  it('catches an injected 5xx, whatever its body', () => {
    expect(judge(ok(500, '{"error":"server_error"}'))).toBe('status 500');
    expect(judge(ok(502, ''))).toBe('status 502');
    expect(judge(ok(503, '{"error":"temporarily_unavailable"}'))).toBe('status 503');
  });

  it('catches a hang or a reset (no response)', () => {
    expect(judge({ status: -1, text: 'no response: Timeout of 15000ms exceeded', headers: {} })).toBe('no response');
  });

  it('catches stack traces and internals in a body', () => {
    expect(judge(ok(400, 'TypeError: x\n    at Foo.bar (/app/dist/grants/x.js:12:5)'))).toBe('stack-like body');
    expect(judge(ok(400, '{"message":"QueryFailedError: ER_DATA_TOO_LONG"}'))).toBe('stack-like body');
    expect(judge(ok(400, '{"message":"SQLITE_CONSTRAINT"}'))).toBe('stack-like body');
    expect(judge(ok(400, 'see /work/node_modules/typeorm'))).toBe('stack-like body');
  });

  it('catches a Location header with bytes a header must not carry', () => {
    expect(judge(ok(302, '', { location: 'https://app.example/cb\r\nSet-Cookie: a=b' }))).toBe('unsafe Location');
    expect(judge(ok(302, '', { location: 'https://app.example/c b' }))).toBe('unsafe Location');
  });

  it('catches an error logged while the request ran, and a stack trace in any log line', () => {
    expect(judge(ok(400), [{ level: 'info', msg: 'request completed' }])).toBeUndefined();
    expect(judge(ok(400), [{ level: 'error', msg: 'Unhandled error' }])).toBe('logged error');
    expect(judge(ok(400), [{ level: 60, msg: 'boom' }])).toBe('logged 60');
    expect(judge(ok(400), [{ level: 'warn', msg: 'x', err: { stack: 'Error\n    at y (/app/dist/a.js:1:1)' } }])).toBe('stack trace in logs');
  });
});

describe('requestSeed', () => {
  it('gives each request of a run its own reproducible stream', () => {
    expect(requestSeed(1, 5)).toBe(requestSeed(1, 5));
    const seeds = new Set(Array.from({ length: 10_000 }, (_, i) => requestSeed(0x6a7e, i)));
    expect(seeds.size).toBe(10_000);
    expect(requestSeed(1, 5)).not.toBe(requestSeed(2, 5));
    expect(new Rng(requestSeed(7, 3)).next()).toBe(new Rng(requestSeed(7, 3)).next());
  });
});

describe('shrink', () => {
  /** A made-up server with one defect: a 500 when the form has client_id=evil and a long state. */
  const server = async (req: FuzzRequest): Promise<FuzzResponse> => {
    const form = new URLSearchParams(String(req.body ?? ''));
    return form.get('client_id') === 'evil' && (form.get('state') ?? '').length >= 3 ? ok(500, '{"error":"server_error"}') : ok(400);
  };
  const failing: FuzzRequest = {
    method: 'post',
    path: '/oauth2/token?x=1&y=2',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic eHh4Onl5eQ==', 'X-Request-Id': 'abc' },
    body: `grant_type=password&client_id=evil&username=alice&password=${'p'.repeat(300)}&state=${'s'.repeat(500)}&scope=openid`,
  };

  it('reduces a failing request to a minimal one that fails the same way', async () => {
    let sent = 0;
    const { request, attempts } = await shrink(failing, async (candidate) => {
      sent++;
      return judge(await server(candidate)) === 'status 500';
    });
    expect(judge(await server(request))).toBe('status 500');
    expect(request).toEqual({ method: 'post', path: '/oauth2/token', headers: {}, body: 'client_id=evil&state=sss' });
    expect(attempts).toBe(sent);
    expect(describeRequest(request)).toBe("curl -i -X POST 'http://localhost:3000/oauth2/token' --data-binary 'client_id=evil&state=sss'");
  });

  it('stops after the attempts it is given', async () => {
    const { attempts } = await shrink(failing, async () => true, 5);
    expect(attempts).toBeLessThanOrEqual(6);
  });

  it('simplifies JSON bodies member by member', () => {
    const variants = simplifications({ method: 'post', path: '/admin/users', headers: {}, body: '{"a":"xxxx","b":[1,2]}' }).map((r) => r.body);
    expect(variants).toEqual(expect.arrayContaining(['', '{"b":[1,2]}', '{"a":"xxxx"}', '{"a":"xx","b":[1,2]}', '{"a":"xxxx","b":[]}']));
  });

  it('prints binary bodies as hex', () => {
    expect(describeRequest({ method: 'post', path: '/t', headers: {}, body: Buffer.from([0x61, 0xff]) })).toBe("printf 'a\\xff' | curl -i -X POST 'http://localhost:3000/t' --data-binary @-");
  });
});
