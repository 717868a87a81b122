import { pino } from 'pino';
import { baseLoggerOptions, httpLoggerOptions, redactUrl, REDACTED, SECRET_NAMES } from './log-options';

/** A pino logger with Gatehouse's options that writes into an array. */
function capture(level: 'info' | 'warn' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(baseLoggerOptions(level), { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe(redactUrl.name, () => {
  it('leaves a URL without secret parameters as it is', () => {
    expect(redactUrl('/oauth2/authorize?response_type=code&client_id=app&state=xyz')).toBe('/oauth2/authorize?response_type=code&client_id=app&state=xyz');
    expect(redactUrl('/health/live')).toBe('/health/live');
  });

  it('replaces the value of every secret parameter, keeping its name and the other parameters', () => {
    expect(redactUrl('/oauth2/userinfo?access_token=eyJhbGciOi.x.y&x=1')).toBe('/oauth2/userinfo?access_token=[Redacted]&x=1');
    expect(redactUrl('/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0&Code=again')).toBe('/cb?code=[Redacted]&state=af0&Code=[Redacted]');
    expect(redactUrl('/x?client_secret=s&password=p&refresh_token=r&id_token_hint=h&client_assertion=a')).toBe(
      '/x?client_secret=[Redacted]&password=[Redacted]&refresh_token=[Redacted]&id_token_hint=[Redacted]&client_assertion=[Redacted]',
    );
  });
});

describe(baseLoggerOptions.name, () => {
  it('writes one JSON object per line with a level label and an ISO time', () => {
    const { logger, lines } = capture();
    logger.info({ context: 'Test' }, 'hello');
    expect(lines).toEqual([{ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), pid: process.pid, hostname: expect.any(String), context: 'Test', msg: 'hello' }]);
  });

  it('redacts secrets by path: at the top level, under the objects that carry them, and a body as a whole', () => {
    const { logger, lines } = capture();
    const object: Record<string, unknown> = { headers: { authorization: 'Basic YTpi', cookie: 'gh_login=x', 'user-agent': 'curl' }, body: { grant_type: 'password', password: 'p' } };
    for (const name of SECRET_NAMES) {
      object[name] = `top-${name}`;
      for (const parent of ['query', 'dto', 'client', 'user', 'details', 'credentials']) object[parent] = { ...(object[parent] as object), [name]: `${parent}-${name}`, kept: 'visible' };
    }
    logger.info(object, 'with secrets');
    const text = JSON.stringify(lines);
    for (const name of SECRET_NAMES) {
      expect(text).not.toContain(`top-${name}`);
      expect(text).not.toMatch(new RegExp(`"[a-z]+-${name}"`));
    }
    expect(lines[0].headers).toEqual({ authorization: REDACTED, cookie: REDACTED, 'user-agent': 'curl' });
    expect(lines[0].body).toBe(REDACTED);
    expect((lines[0].dto as Record<string, unknown>).kept).toBe('visible');
  });

  it('at warn, writes nothing for info and debug', () => {
    const { logger, lines } = capture('warn');
    logger.info('no');
    logger.debug('no');
    logger.warn('yes');
    expect(lines.map((line) => line.msg)).toEqual(['yes']);
  });
});

describe(httpLoggerOptions.name, () => {
  it('writes of a request its id, method, redacted URL and peer only: never headers (Authorization, cookies) or body', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(httpLoggerOptions('info'), { write: (line: string) => void lines.push(JSON.parse(line)) });
    const req = {
      id: 'r-1',
      method: 'POST',
      url: '/',
      originalUrl: '/oauth2/token?code=abc',
      headers: { authorization: 'Basic YTpi', cookie: 'gh_login=x' },
      body: { password: 'p' },
      socket: { remoteAddress: '127.0.0.1' },
    };
    logger.child({ req }).error('while serving');
    expect(lines[0].req).toEqual({ id: 'r-1', method: 'POST', url: '/oauth2/token?code=[Redacted]', remoteAddress: '127.0.0.1' });
    expect(lines[0]).not.toHaveProperty('headers');
  });

  it('prepares request lines only when info is on', () => {
    expect(httpLoggerOptions('info').autoLogging).toBe(true);
    expect(httpLoggerOptions('trace').autoLogging).toBe(true);
    expect(httpLoggerOptions('warn').autoLogging).toBe(false);
    expect(httpLoggerOptions('fatal').autoLogging).toBe(false);
  });
});
