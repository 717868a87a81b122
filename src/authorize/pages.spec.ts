import { escapeHtml, loginPage, redirectSource } from './pages';

describe(escapeHtml.name, () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});

describe(redirectSource.name, () => {
  it('gives the origin of web redirect URIs and the scheme of native ones', () => {
    expect(redirectSource('https://app.example:8443/cb?x=1')).toBe('https://app.example:8443');
    expect(redirectSource('http://127.0.0.1:4000/cb')).toBe('http://127.0.0.1:4000');
    expect(redirectSource('com.example.app:/oauth2redirect')).toBe('com.example.app:');
    expect(redirectSource('not a uri')).toBeNull();
  });
});

describe(loginPage.name, () => {
  const page = loginPage({
    status: 200,
    action: '/oauth2/authorize',
    clientName: '<b>App</b>',
    hidden: { state: '"><script>', csrf_token: '1.abc' },
    username: "o'brien",
    error: 'Bad <credentials>',
    redirectUri: 'https://app.example/cb',
  });

  it('escapes everything it shows', () => {
    expect(page.html).not.toMatch(/<script|<b>App/);
    expect(page.html).toContain('<input type="hidden" name="state" value="&#34;&#62;&#60;script&#62;">');
    expect(page.html).toContain('value="o&#39;brien"');
    expect(page.html).toContain('<p class="alert" role="alert" id="login-error">Bad &#60;credentials&#62;</p>');
  });

  it('allows no script, and forms only to itself and the redirect origin', () => {
    expect(page.csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; /);
    expect(page.csp).toContain("form-action 'self' https://app.example;");
    expect(page.csp).toContain("frame-ancestors 'none'");
  });
});
