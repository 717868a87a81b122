import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { PageCookie, readCookie } from './cookies';
import { formPostPage, logoutConfirmationPage } from './pages';

const request = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as FastifyRequest;

describe(readCookie.name, () => {
  it('finds a cookie among others, by exact name', () => {
    expect(readCookie(request('a=1; gatehouse_sso=abc; b=2'), 'gatehouse_sso')).toBe('abc');
    expect(readCookie(request('xgatehouse_sso=abc'), 'gatehouse_sso')).toBeNull();
    expect(readCookie(request(), 'gatehouse_sso')).toBeNull();
  });
});

describe(PageCookie.name, () => {
  it('is HttpOnly and SameSite=Lax, and Secure with the __Host- prefix under an https issuer', () => {
    const plain = new PageCookie('http://localhost:3000', 'gatehouse_sso');
    expect(plain.set('v')).toBe('gatehouse_sso=v; Path=/; HttpOnly; SameSite=Lax');
    const secure = new PageCookie('https://id.example.com/tenant', 'gatehouse_sso');
    expect(secure.name).toBe('__Host-gatehouse_sso');
    expect(secure.set('v')).toBe('__Host-gatehouse_sso=v; Path=/; HttpOnly; SameSite=Lax; Secure');
    expect(secure.clear()).toBe('__Host-gatehouse_sso=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure');
    expect(secure.read(request('__Host-gatehouse_sso=x; gatehouse_sso=y'))).toBe('x');
  });
});

describe(formPostPage.name, () => {
  const page = formPostPage('https://rp.example/cb?x=1', { code: 'c"<', state: undefined, iss: 'http://localhost:3000' });

  it('posts the escaped parameters to the redirect URI and leaves out absent ones', () => {
    expect(page.html).toContain('<form method="post" action="https://rp.example/cb?x=1">');
    expect(page.html).toContain('<input type="hidden" name="code" value="c&#34;&#60;">');
    expect(page.html).not.toContain('name="state"');
  });

  it('allows exactly its one script by hash, and forms only to the redirect URI origin', () => {
    const script = /<script>([^<]*)<\/script>/.exec(page.html)![1];
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(page.csp).toContain(`script-src 'sha256-${hash}'`);
    expect(page.csp).toContain('form-action https://rp.example;');
    expect(page.html.match(/<script>/g)).toHaveLength(1);
  });
});

describe(logoutConfirmationPage.name, () => {
  it('carries the hidden fields and the post-logout origin in form-action', () => {
    const page = logoutConfirmationPage({ action: '/oauth2/logout', clientName: '<App>', hidden: { state: 'a"b', csrf_token: 't' }, redirectUri: 'https://rp.example/out' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('<strong>&#60;App&#62;</strong>');
    expect(page.html).toContain('<input type="hidden" name="state" value="a&#34;b">');
    expect(page.csp).toContain("form-action 'self' https://rp.example;");
    expect(page.html).not.toContain('<script');
  });
});
