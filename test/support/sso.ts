import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import type { TestApp } from './app';
import { tokenRequest, type CreatedClient, type CreatedUser } from './fixtures';
import { authorizePath, parseLoginForm, pageAlert, type LoginForm } from './login-form';

/**
 * A browser's cookie jar for the hosted pages: keeps what Set-Cookie gives (and drops what it
 * expires), sends it back on every request, to any instance (one host behind a load balancer).
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') : undefined;
  }

  take(res: Response): Response {
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (attributes.some((a) => /^max-age=0$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }

  async get(t: TestApp, path: string): Promise<Response> {
    const req = t.http.get(path);
    const cookie = this.header();
    if (cookie) req.set('Cookie', cookie);
    return this.take(await req);
  }

  async post(t: TestApp, path: string, form: Record<string, string>): Promise<Response> {
    const req = t.http.post(path).type('form');
    const cookie = this.header();
    if (cookie) req.set('Cookie', cookie);
    return this.take(await req.send(form));
  }

  /** Submits the login page `res` showed with these credentials. */
  async submitLogin(t: TestApp, res: Response, credentials: { username: string; password: string }): Promise<Response> {
    const form: LoginForm = parseLoginForm(res, this.header() ?? 'none=none');
    const answer = await this.post(t, form.action, { ...form.hidden, action: 'login', ...credentials });
    if (answer.status !== 303 && answer.status !== 200) throw new Error(`login: ${answer.status} ${pageAlert(answer.text) ?? ''}`);
    return answer;
  }

  /**
   * Signs `user` in through the hosted login page for a confidential `client` (scope openid, code
   * flow) and redeems the code: the token response's body. The jar then holds the SSO session.
   */
  async signIn(t: TestApp, client: CreatedClient, user: CreatedUser, redirectUri: string): Promise<Record<string, string>> {
    const page = await this.get(t, authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid', state: 's' }));
    if (page.status !== 200) throw new Error(`authorize: ${page.status}`);
    const back = await this.submitLogin(t, page, { username: user.username as string, password: user.password });
    const code = new URL(back.headers.location).searchParams.get('code')!;
    const tokens = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, { id: client.client_id, secret: client.client_secret! });
    if (tokens.status !== 200) throw new Error(`token: ${tokens.status} ${JSON.stringify(tokens.body)}`);
    return tokens.body as Record<string, string>;
  }
}

/** What one back-channel logout POST carried. */
export interface ReceivedLogout {
  path: string;
  contentType: string | undefined;
  body: URLSearchParams;
}

/**
 * A relying party's back-channel logout receiver on a free port (the first start picks one; a
 * restart takes the same one again). `status` is what it answers next.
 */
export class LogoutReceiver {
  readonly received: ReceivedLogout[] = [];
  status = 200;
  private server?: Server;
  private waiters: (() => void)[] = [];

  /** 0 until the first start. */
  port = 0;

  get url(): string {
    return this.urlAt('127.0.0.1');
  }

  /** Its URL with another name for this host, e.g. `localhost`. */
  urlAt(host: string): string {
    return `http://${host}:${this.port}/backchannel-logout`;
  }

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(this.status, { 'Cache-Control': 'no-store' });
        res.end();
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `count` POSTs have arrived in all (no time limit of its own: jest's applies). */
  async waitFor(count: number): Promise<ReceivedLogout[]> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received.slice(0, count);
  }
}
