import type { FastifyRequest } from 'fastify';
import { InvalidRequest, InvalidToken, MissingToken } from './errors';
import { mediaType } from './form';

export const INVALID_ACCESS_TOKEN = 'The access token is invalid or expired';

const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of the Authorization header (RFC 6750 §2.1): null when the request uses no
 * Bearer credentials at all (RFC 6750 §3.1: the challenge then carries no error code); a header
 * that names the Bearer scheme without a well-formed token is an invalid token.
 */
export function bearerToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (!header || !/^Bearer\b/i.test(header)) return null;
  const match = BEARER_HEADER.exec(header);
  if (!match) throw new InvalidToken(INVALID_ACCESS_TOKEN);
  return match[1];
}

/**
 * The access token of a resource request (RFC 6750): the `Authorization: Bearer` header (§2.1) or,
 * on a form-encoded POST, the `access_token` body parameter (§2.2). Using both is invalid_request;
 * neither is a missing token.
 */
export function presentedAccessToken(req: FastifyRequest): string {
  const fromHeader = bearerToken(req) ?? undefined;
  let fromBody: string | undefined;
  if (req.method === 'POST' && mediaType(req) === 'application/x-www-form-urlencoded') {
    const value = (req.body as Record<string, unknown> | undefined)?.access_token;
    if (Array.isArray(value)) throw bearerInvalidRequest('Parameter "access_token" must not be repeated');
    if (typeof value === 'string' && value !== '') fromBody = value;
  }
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw bearerInvalidRequest('The access token must be sent in one way only, not in both the header and the body');
  }
  const token = fromHeader ?? fromBody;
  if (!token) throw new MissingToken();
  return token;
}

function bearerInvalidRequest(description: string): InvalidRequest {
  return new InvalidRequest(description).withHeader('WWW-Authenticate', `Bearer error="invalid_request", error_description="${description}"`);
}
