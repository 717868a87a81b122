import { createHash, randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import type { TestApp } from './app';

/** The hosted login form as a browser would see it: where it posts, its hidden fields and the cookie it set. */
export interface LoginForm {
  action: string;
  hidden: Record<string, string>;
  cookie: string;
}

function unescapeHtml(value: string): string {
  return value.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

/** Reads the form of a login page: its action, every hidden input, and the login cookie of the response (or the one given). */
export function parseLoginForm(res: Response, cookie?: string): LoginForm {
  const html = res.text;
  const action = /<form method="post" action="([^"]*)">/.exec(html);
  if (!action) throw new Error(`No login form in: ${html.slice(0, 500)}`);
  const hidden: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    hidden[unescapeHtml(match[1])] = unescapeHtml(match[2]);
  }
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const fresh = setCookie.map((c) => c.split(';')[0]).find((c) => c.startsWith('gatehouse_login='));
  const jar = fresh ?? cookie;
  if (!jar) throw new Error('The login page set no cookie and none was given');
  return { action: unescapeHtml(action[1]), hidden, cookie: jar };
}

/** The text of the page's alert (error message), unescaped; undefined when there is none. */
export function pageAlert(html: string): string | undefined {
  const match = /<p class="alert" role="alert"[^>]*>([^<]*)<\/p>/.exec(html);
  return match ? unescapeHtml(match[1]) : undefined;
}

export function authorizePath(params: Record<string, string | undefined>, path = '/oauth2/authorize'): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  return `${path}?${query.toString()}`;
}

/** GETs the authorization endpoint and parses the login page it answers with. */
export async function openLoginPage(t: TestApp, params: Record<string, string | undefined>, cookie?: string): Promise<{ res: Response; form: LoginForm }> {
  const req = t.http.get(authorizePath(params));
  if (cookie) req.set('Cookie', cookie);
  const res = await req;
  if (res.status !== 200) throw new Error(`authorize: ${res.status} ${res.headers.location ?? res.text.slice(0, 300)}`);
  return { res, form: parseLoginForm(res, cookie) };
}

/** Submits the login form with extra fields (username, password, action...), overriding hidden ones if asked. */
export function submitLogin(t: TestApp, form: LoginForm, fields: Record<string, string>, options: { cookie?: string | null } = {}) {
  const req = t.http.post(form.action).type('form');
  const cookie = options.cookie === undefined ? form.cookie : options.cookie;
  if (cookie) req.set('Cookie', cookie);
  return req.send({ ...form.hidden, action: 'login', ...fields });
}

/** Logs in through the page and returns the redirect's query parameters (code, state, iss). */
export async function loginForCode(
  t: TestApp,
  params: Record<string, string | undefined>,
  credentials: { username: string; password: string },
): Promise<{ code: string; location: URL }> {
  const { form } = await openLoginPage(t, params);
  const res = await submitLogin(t, form, credentials);
  if (res.status !== 303) throw new Error(`login: ${res.status} ${pageAlert(res.text) ?? res.text.slice(0, 300)}`);
  const location = new URL(res.headers.location);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`login redirect without a code: ${res.headers.location}`);
  return { code, location };
}

/** RFC 7636 S256 pair. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
