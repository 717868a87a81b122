import { randomUUID } from 'node:crypto';

/**
 * An incoming X-Request-Id is kept when it is one short token of safe characters (a UUID, a hex
 * trace id, a base64 id), so that a proxy's id follows the request into our logs; anything else
 * (too long, spaces, control characters, a repeated header) is replaced by a new UUID.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
