import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Response } from 'supertest';
import type { TestApp } from './app';
import { testStore } from './database';
import { parseLoginForm, pageAlert, type LoginForm } from './login-form';

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
}

/** What one back-channel logout POST carried. */
export interface ReceivedLogout {
  path: string;
  contentType: string | undefined;
  body: URLSearchParams;
}

/**
 * A relying party's back-channel logout receiver on a fixed port of this suite's range (the two
 * stores run at once, so each gets its own ports). `status` is what it answers next.
 */
export class LogoutReceiver {
  readonly received: ReceivedLogout[] = [];
  status = 200;
  private server?: Server;
  private waiters: (() => void)[] = [];

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/backchannel-logout`;
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

/** Ports of this suite's range (47300-47399): SQLite and MariaDB runs get different ones. */
export function receiverPort(offset: number): number {
  return 47300 + (testStore() === 'mysql' ? 50 : 0) + offset;
}
