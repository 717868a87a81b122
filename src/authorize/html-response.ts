import type { FastifyReply } from 'fastify';
import type { HtmlPage } from './pages';

/** Sends a page with the headers every Gatehouse page carries: no caching, no framing, no sniffing, no referrer. */
export function sendPage(reply: FastifyReply, page: HtmlPage, cookies?: string | string[]): void {
  void reply
    .status(page.status)
    .header('Content-Type', 'text/html; charset=utf-8')
    .header('Content-Security-Policy', page.csp)
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache');
  setCookies(reply, cookies);
  void reply.send(page.html);
}

/** RFC 6749 §4.1.2: 302 answers a GET; 303 makes the browser follow a POST's answer with a GET. */
export function sendRedirect(reply: FastifyReply, location: string, method: string, cookies?: string | string[]): void {
  // Node refuses such a header only once the reply is being written, and the request then never
  // gets an answer: fail here instead, while the error can still be rendered.
  if (!/^[\x21-\x7e]+$/.test(location)) throw new Error('Refusing a Location header with characters outside printable ASCII');
  void reply
    .status(method === 'POST' ? 303 : 302)
    .header('Location', location)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .header('Referrer-Policy', 'no-referrer');
  setCookies(reply, cookies);
  void reply.send();
}

function setCookies(reply: FastifyReply, cookies: string | string[] | undefined): void {
  const list = (Array.isArray(cookies) ? cookies : [cookies]).filter((c): c is string => !!c);
  if (list.length) void reply.header('Set-Cookie', list.length === 1 ? list[0] : list);
}
