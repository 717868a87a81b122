import { isAllowedRedirectUri } from './redirect-uri';

describe(isAllowedRedirectUri.name, () => {
  it('accepts absolute web and native-app URIs written in RFC 3986 characters', () => {
    for (const uri of [
      'https://app.example/callback',
      'https://app.example:8443/cb?tenant=a%20b&x=1',
      'http://127.0.0.1:8400/cb',
      'http://[::1]:8080/cb',
      'com.example.app:/oauth2redirect',
      'myapp://callback',
      "https://app.example/a;b=c/(d)*!$'+,@~",
    ]) {
      expect({ uri, allowed: isAllowedRedirectUri(uri) }).toEqual({ uri, allowed: true });
    }
  });

  it('refuses what would break or inject into a Location header or the page (CR/LF, NUL, spaces, quotes, non-ASCII)', () => {
    for (const uri of [
      'https://app.example/cb\r\nSet-Cookie: a=b',
      'https://app.example/cb\n',
      'https://app.example/cb\u0000',
      'https://app.example/c b',
      ' https://app.example/cb',
      'https://app.example/cb\t',
      'https://app.example/例',
      'https://exämple.com/cb',
      'https://app.example/cb"><img src=x onerror=alert(1)>',
      'https://app.example/cb<script>',
      'https://app.example/cb\\..',
      'https://app.example/{x}',
      'https://app.example/cb%',
      'https://app.example/cb%ZZ',
    ]) {
      expect({ uri, allowed: isAllowedRedirectUri(uri) }).toEqual({ uri, allowed: false });
    }
  });

  it('refuses script and local schemes in any case, fragments, relative references and missing authorities', () => {
    for (const uri of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'data:text/html,x',
      'vbscript:x',
      'file:///etc/passwd',
      'blob:https://a.example/x',
      'about:blank',
      'https://app.example/cb#frag',
      '/relative/cb',
      '//app.example/cb',
      'https:app.example/cb',
      'https:/app.example/cb',
      'https://',
      'not a uri',
      '',
      `https://app.example/${'x'.repeat(2048)}`,
    ]) {
      expect({ uri, allowed: isAllowedRedirectUri(uri) }).toEqual({ uri, allowed: false });
    }
    expect(isAllowedRedirectUri(undefined)).toBe(false);
    expect(isAllowedRedirectUri(42)).toBe(false);
  });
});
