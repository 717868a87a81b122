import type { FastifyReply, FastifyRequest } from 'fastify';
import { mediaType } from '../oauth/form';
import type { OAuthEndpoint } from '../oauth/endpoints';
import { errorPage, type HtmlPage } from './pages';

/** What a browser endpoint answers: an HTML page or a redirect, maybe with cookies. */
export type PageOutcome = { page: HtmlPage; cookies?: string[] } | { redirect: string; cookies?: string[] };

/** Sends an outcome: the page, or the redirect (302 after a GET, 303 after a POST). */
export function sendOutcome(reply: FastifyReply, method: string, outcome: PageOutcome): void {
  if ('redirect' in outcome) sendRedirect(reply, outcome.redirect, method, outcome.cookies);
  else sendPage(reply, outcome.page, outcome.cookies);
}

/** A browser endpoint's POST takes a form only; anything else gets the 400 error page here, and false. */
export function acceptsForm(req: FastifyRequest, reply: FastifyReply): boolean {
  if (mediaType(req) === 'application/x-www-form-urlencoded') return true;
  sendPage(reply, errorPage(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.'));
  return false;
}

/** The path (alias) of `endpoint` the request came in on, so that a page's form posts back to it. */
export function requestedPath(req: FastifyRequest, endpoint: OAuthEndpoint): string {
  return endpoint.paths.find((path) => req.routeOptions.url === `/${path}`) ?? endpoint.paths[0];
}

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
