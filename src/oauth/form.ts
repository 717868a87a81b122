import type { FastifyRequest } from 'fastify';
import { InvalidRequest } from './errors';

export type OAuthParams = Readonly<Record<string, string>>;
type FormRequest = FastifyRequest & { oauthParams?: OAuthParams };

/** Media type of a request, lower-cased, without parameters such as charset. */
export function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Parses an application/x-www-form-urlencoded body, keeping repeated names as arrays so they can be refused. */
export function parseForm(body: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = form[name];
    form[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return form;
}

/**
 * The parameters of an OAuth endpoint request (RFC 6749 §3.1/§3.2): form-encoded only, no parameter
 * twice, and a parameter sent without a value treated as omitted. Unknown parameters are kept and
 * ignored by whoever does not read them.
 */
export function oauthParams(req: FastifyRequest): OAuthParams {
  const request = req as FormRequest;
  if (request.oauthParams) return request.oauthParams;
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('The request body must be application/x-www-form-urlencoded');
  }
  const body = (req.body ?? {}) as Record<string, string | string[]>;
  if (typeof body !== 'object') throw new InvalidRequest('The request body must be application/x-www-form-urlencoded');
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new InvalidRequest(`Parameter "${name}" must not be repeated`);
    if (value !== '') params[name] = value;
  }
  request.oauthParams = Object.freeze(params);
  return request.oauthParams;
}
