/** Schemes a browser would run or read locally instead of navigating: never a redirect target. */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:']);

/**
 * RFC 3986 §2: an absolute URI is written with unreserved and reserved characters and
 * percent-encoded octets only; "#" is left out because a redirect URI has no fragment (RFC 6749 §3.1.2).
 */
const URI_CHARACTERS = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

export const MAX_REDIRECT_URI_LENGTH = 2048;

/**
 * Whether `value` may be a client's redirect URI: an absolute URI of RFC 3986 characters only, no
 * fragment, no script or local scheme, and for http(s) a real authority ("https:evil" is a relative
 * reference to a browser). The redirect goes into a Location header and the login page's CSP as it is
 * registered, so a space, a control or non-ASCII character, a quote or an angle bracket would either
 * break the response or inject into it: WHATWG URL parsing tolerates all of those, so it is not enough.
 *
 * The admin API refuses other values, and the authorization endpoint checks again, for clients
 * registered before this rule existed.
 */
export function isAllowedRedirectUri(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_REDIRECT_URI_LENGTH || !URI_CHARACTERS.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return false;
  if (url.protocol === 'http:' || url.protocol === 'https:') return /^https?:\/\/[^/?]/i.test(value) && url.hostname !== '';
  return true;
}
