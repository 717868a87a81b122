import { isWebOrigin, originOf } from './origin';

describe(isWebOrigin.name, () => {
  it('accepts http(s) origins as a browser sends them in the Origin header', () => {
    for (const origin of ['https://app.example', 'http://localhost:8080', 'http://127.0.0.1:5173', 'http://[::1]:3000', 'https://xn--bcher-kva.example']) {
      expect({ origin, ok: isWebOrigin(origin) }).toEqual({ origin, ok: true });
    }
  });

  it('refuses paths, trailing slashes, default ports, upper case, credentials, wildcards, "null" and other schemes', () => {
    for (const value of [
      'https://app.example/',
      'https://app.example/callback',
      'https://app.example?x=1',
      'https://app.example#x',
      'https://app.example:443',
      'http://app.example:80',
      'https://App.example',
      'HTTPS://app.example',
      'https://user:pw@app.example',
      'https://bücher.example',
      'https://*.example',
      '*',
      'null',
      'app.example',
      'file:///etc/passwd',
      'chrome-extension://abcdef',
      'com.example.app:/cb',
      ' https://app.example',
      'https://app.example\n',
      '',
      42,
      null,
    ]) {
      expect({ value, ok: isWebOrigin(value) }).toEqual({ value, ok: false });
    }
  });
});

describe(originOf.name, () => {
  it('is the origin of an http(s) redirect URI, and null for custom schemes and nonsense', () => {
    expect(originOf('https://app.example:8443/cb?x=1')).toBe('https://app.example:8443');
    expect(originOf('https://APP.example:443/cb')).toBe('https://app.example');
    expect(originOf('http://127.0.0.1:8400/cb')).toBe('http://127.0.0.1:8400');
    expect(originOf('com.example.app:/oauth2redirect')).toBeNull();
    expect(originOf('myapp://callback')).toBeNull();
    expect(originOf('not a url')).toBeNull();
  });
});
