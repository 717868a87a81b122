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

  it('redacts secrets by path, at the top level and one level down, and request headers and bodies', () => {
    const { logger, lines } = capture();
    const object: Record<string, unknown> = { req: { headers: { authorization: 'Basic YTpi', cookie: 'gh_login=x', 'user-agent': 'curl' }, body: { password: 'p' } } };
    for (const name of SECRET_NAMES) {
      object[name] = `top-${name}`;
      object[`nested_${name}`] = { [name]: `nested-${name}` };
    }
    logger.info(object, 'with secrets');
    const text = JSON.stringify(lines);
    for (const name of SECRET_NAMES) {
      expect(text).not.toContain(`top-${name}`);
      expect(text).not.toContain(`nested-${name}`);
    }
    expect(lines[0].req).toEqual({ headers: { authorization: REDACTED, cookie: REDACTED, 'user-agent': 'curl' }, body: REDACTED });
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
  it('prepares request lines only when info is on', () => {
    expect(httpLoggerOptions('info').autoLogging).toBe(true);
    expect(httpLoggerOptions('trace').autoLogging).toBe(true);
    expect(httpLoggerOptions('warn').autoLogging).toBe(false);
    expect(httpLoggerOptions('fatal').autoLogging).toBe(false);
  });
});
