/**
 * Web origins (RFC 6454) as browsers send them in the `Origin` header: `scheme://host[:port]`,
 * lower-case, IDNs in punycode, without the scheme's default port, without path or trailing slash.
 * CORS (SPEC §4) compares a request's Origin with the client's origins as strings, so a registered
 * origin must be written exactly as a browser serialises it.
 */

/** The origin of an http(s) URL; null for anything else (custom-scheme redirect URIs have none a browser would send). */
export function originOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
}

/** A host name (punycode), an IPv4 address or a bracketed IPv6 address, and an optional port: no wildcard. */
const ORIGIN_SHAPE = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/**
 * Whether `value` is an http(s) origin written as a browser serialises it (see above). The WHATWG
 * parser takes `https://*.example` as a host; it is refused, so that nobody mistakes it for a wildcard.
 */
export function isWebOrigin(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 2048 && ORIGIN_SHAPE.test(value) && originOf(value) === value;
}
