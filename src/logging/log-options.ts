import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';
import { stdTimeFunctions } from 'pino';
import type { LogLevel } from '../config/app-config';
import { requestIdFrom } from './request-id';

/**
 * Field and parameter names whose values are secrets or tokens. Their values are never written,
 * wherever they appear in a logged object (redaction by path) or in a logged URL's query string.
 */
export const SECRET_NAMES = [
  'password',
  'new_password',
  'client_secret',
  'client_assertion',
  'assertion',
  'refresh_token',
  'access_token',
  'id_token',
  'id_token_hint',
  'token',
  'code',
  'code_verifier',
  'csrf_token',
  'secret',
  'authorization',
  'cookie',
] as const;

export const REDACTED = '[Redacted]';

/**
 * Objects that may be logged with secrets among their fields: headers, a query, a DTO, an entity,
 * an audit event's details. Named, not matched with `*.`: pino checks wildcard paths on every log
 * call and every child logger. `req` and `res` are not among them: their serializers below write
 * only the request line and the status, so there is nothing to redact, and the per-request child
 * logger stays cheap (redaction paths under `req` would cost ~10 µs a request, even at warn).
 */
const SECRET_PARENTS = ['headers', 'query', 'params', 'dto', 'client', 'user', 'details', 'data', 'form', 'credentials'];

/** Pino redaction paths: each secret name at the top level and under the usual parents; a body as a whole. */
export const REDACT_PATHS = [...SECRET_NAMES, ...SECRET_PARENTS.flatMap((parent) => SECRET_NAMES.map((name) => `${parent}.${name}`)), 'body'];

const SECRET_PARAMETERS = new Set<string>(SECRET_NAMES);

/** The request path and query, with the value of every secret parameter replaced (RFC 6750 §2.3 allows ?access_token=). */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMETERS.has(name.toLowerCase())) {
      params.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? `${url.slice(0, query)}?${params.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED)}` : url;
}

/** What a log line says about the request it belongs to: its id, never its headers or body. */
function serializeRequest(req: IncomingMessage & { id?: unknown; originalUrl?: string }) {
  // Middleware sees req.url relative to its mount point; originalUrl is what the client asked for.
  return { id: req.id, method: req.method, url: redactUrl(req.originalUrl ?? req.url ?? ''), remoteAddress: req.socket?.remoteAddress };
}

function serializeResponse(res: ServerResponse) {
  return { statusCode: res.statusCode };
}

/** Options shared by every pino logger of the service (the HTTP one and the cluster primary's). */
export function baseLoggerOptions(level: LogLevel): Options {
  return {
    level,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
  };
}

/** Whether a level writes one line per request ("request completed"): info and below. */
export function logsRequests(level: LogLevel): boolean {
  return level === 'info' || level === 'debug' || level === 'trace';
}

/**
 * pino-http for Nest (nestjs-pino): one line per request at info with its id, method, redacted URL,
 * status and time; logs made while serving a request carry the same `req` (with its id). Above info
 * (LOG_LEVEL=warn and up) LoggingModule does not install it at all (no per-request work).
 */
export function httpLoggerOptions(level: LogLevel): Options {
  const requestLines = logsRequests(level);
  return {
    ...baseLoggerOptions(level),
    // Fastify has already given the request its id (app.factory.ts, echoed as X-Request-Id); this is the fallback.
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    wrapSerializers: false,
    serializers: { req: serializeRequest, res: serializeResponse },
    autoLogging: requestLines,
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
  };
}
