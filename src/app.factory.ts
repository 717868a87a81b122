import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { adminValidationPipe } from './admin/validation';
import { AppModule, type AppRuntime } from './app.module';
import { AppConfig } from './config/app-config';
import { CorsService, type CorsRequest } from './cors/cors.service';
import { openDatabase } from './database/open-database';
import { AppLogger } from './logging/app-logger';
import { requestIdFrom } from './logging/request-id';
import { MetricsService } from './metrics/metrics.service';
import { parseForm } from './oauth/form';
import { OAuthExceptionFilter } from './oauth/oauth-exception.filter';
import { sendPage } from './authorize/html-response';
import { errorPage } from './authorize/pages';
import { AdmissionGate, type Admission } from './database/admission-gate';
import { OAUTH_ENDPOINTS, oauthEndpointAt } from './oauth/endpoints';
import { useLeanRoutes } from './oauth/lean-routes';
import { TemporarilyUnavailable } from './oauth/errors';
import { setUpOpenApi } from './openapi/openapi-document';

const BODY_LIMIT = 64 * 1024;

/** Retry-After of a request refused because too many were waiting for the database: a burst passes quickly. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;

/** Requests that never touch the database, so they are answered even when it is saturated: liveness, public metadata, docs. */
function skipsDatabase(req: FastifyRequest): boolean {
  if (req.method === 'OPTIONS') return true;
  const path = req.url.split('?')[0];
  if (path === '/health/live' || path === '/metrics' || path === '/docs' || path.startsWith('/docs/') || path === '/docs-json') return true;
  const endpoint = oauthEndpointAt(req.url);
  return endpoint === OAUTH_ENDPOINTS.jwks || endpoint === OAUTH_ENDPOINTS.discovery;
}

/**
 * Fastify's own JSON parser refuses "__proto__" and "constructor.prototype" keys (prototype
 * poisoning); ours replaces it, so it does the same.
 */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)) {
    throw new Error('Forbidden key');
  }
  // JSON may escape half of a surrogate pair ("\ud800"): such a string is no Unicode text, cannot
  // be stored as UTF-8, and throws inside validators (found by the hostile-input suite).
  if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new UnpairedSurrogate();
  return value;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

class UnpairedSurrogate extends Error {
  constructor() {
    super('The request body contains a string that is not valid Unicode (an unpaired surrogate)');
  }
}

export interface CreateAppOptions {
  /** JSON log lines go here instead of stdout (tests capture them). */
  logStream?: DestinationStream;
}

/**
 * Builds the Gatehouse application (not listening): used by main.ts and by every e2e test. The
 * database is opened and migrated first, so that an unusable one fails here with a
 * DatabaseUnusableError (one line), before Nest starts and logs anything.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const dataSource = await openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize, statementTimeoutMs: config.databaseStatementTimeoutMs });
  try {
    return await buildApp(config, { dataSource, logStream: options.logStream });
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    throw error;
  }
}

async function buildApp(config: AppConfig, runtime: AppRuntime): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustedProxies.length ? config.trustedProxies : false,
    // Path parameters carry client_ids of up to 128 characters (Fastify's default limit is 100).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // One request id for the logs and the X-Request-Id response header: the caller's, when sane.
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers['x-request-id']),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, runtime), adapter, {
    bodyParser: false,
    // Held until the JSON logger is in place, so that even Nest's first lines are JSON.
    bufferLogs: true,
    // Fail with the error (main.ts prints one line) instead of Nest's process.abort().
    abortOnError: false,
  });
  app.useLogger(app.get(AppLogger));

  // Form bodies keep repeated names as arrays so the OAuth endpoints can refuse them (RFC 6749 §3.2).
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: BODY_LIMIT }, (_req: unknown, body: Buffer, done: (error: null, form: unknown) => void) =>
    done(null, parseForm(body.toString('utf8'))),
  );
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT }, async (_req: unknown, body: Buffer) => {
    const text = body.toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text, refusePrototypeKeys);
    } catch (error) {
      const message = error instanceof UnpairedSurrogate ? error.message : 'The request body is not valid JSON';
      throw Object.assign(new Error(message), { statusCode: 400 });
    }
  });
  // Any other media type reaches the handlers as text, which then refuse it with a proper error.
  app.useBodyParser('*', { bodyLimit: BODY_LIMIT }, async (_req: unknown, body: Buffer) => body.toString('utf8'));

  const fastify = app.getHttpAdapter().getInstance();
  // The protocol endpoints clients call at volume skip Nest's per-request execution context (oauth/lean-routes.ts).
  useLeanRoutes(app, fastify);
  // RFC 6749 §5.1 / RFC 6750: token material is never cached. Endpoints that publish public data set their own.
  // No response is meant to be framed (clickjacking of Swagger UI) or MIME-sniffed (JSON errors echo input).
  // Callback hooks, not async ones: no promise per request for a few header writes.
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('X-Request-Id', req.id);
    done();
  });
  fastify.addHook('onSend', (_req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    if (!reply.hasHeader('cache-control')) {
      void reply.header('Cache-Control', 'no-store');
      void reply.header('Pragma', 'no-cache');
    }
    if (!reply.hasHeader('x-content-type-options')) void reply.header('X-Content-Type-Options', 'nosniff');
    if (!reply.hasHeader('x-frame-options')) void reply.header('X-Frame-Options', 'DENY');
    done(null, payload);
  });

  // Overload (SPEC §8): a bounded queue in front of the database work. A request that cannot get a
  // turn within REQUEST_QUEUE_TIMEOUT_MS, or finds REQUEST_QUEUE_LIMIT already waiting, is answered
  // 503 temporarily_unavailable with Retry-After (a page on the browser endpoints), never left hanging.
  const gate = new AdmissionGate(config.databasePoolSize, config.requestQueueLimit, config.requestQueueTimeoutMs);
  const refuse = (req: FastifyRequest, reply: FastifyReply) => {
    const error = new TemporarilyUnavailable('The service is overloaded; try again shortly', OVERLOAD_RETRY_AFTER_SECONDS);
    if (oauthEndpointAt(req.url) === OAUTH_ENDPOINTS.authorization) {
      void reply.headers(error.headers);
      sendPage(reply, errorPage(503, error.error, 'The service is temporarily unavailable. Please try again in a moment.'));
    } else {
      void reply.status(503).headers(error.headers).send(error.toJSON());
    }
  };
  // A callback hook: a request admitted at once (the usual case) goes on without a promise.
  const metricsService = app.get(MetricsService);
  metricsService.watchAdmission(() => gate.load);
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    if (skipsDatabase(req)) return done();
    // A client that went away while its request waited: the request is not run (its answer would
    // reach no one, and its effects, a failed login counted, an audit row, should not happen either)
    // and nothing is sent. hijack() ends Fastify's lifecycle for it here.
    const abandon = () => {
      metricsService.abandon();
      reply.hijack();
      done();
    };
    const admitted = (admission: Admission) => {
      if (!admission.admitted) return admission.reason === 'withdrawn' ? abandon() : refuse(req, reply);
      // Gone between its admission and now: its 'close' has already come and will not come again,
      // so the permit goes back at once (it leaked before, and a load generator stopping mid-run
      // left every later request a 503).
      if (reply.raw.closed || req.raw.destroyed) {
        admission.release();
        return abandon();
      }
      // 'close' comes once the response is sent, or when the client went away first.
      reply.raw.once('close', admission.release);
      done();
    };
    const admission = gate.enter();
    if (!('then' in admission)) return admitted(admission);
    // Waiting: a client that goes away meanwhile leaves the queue at once, without taking a permit.
    const gone = () => admission.withdraw();
    reply.raw.once('close', gone);
    void admission.then((result) => {
      reply.raw.off('close', gone);
      admitted(result);
    });
  });

  // CORS for browser apps (SPEC §4), on every response of the endpoints with CORS, errors included.
  // Backends send no Origin header: for them this is one property read, nothing else.
  const cors = app.get(CorsService);
  fastify.addHook('onSend', (req: CorsRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => {
    const origin = req.headers.origin;
    if (origin === undefined) return done(null, payload);
    cors.addResponseHeaders(req, reply, origin).then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  });

  fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    metricsService.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.useGlobalFilters(new OAuthExceptionFilter());
  app.useGlobalPipes(adminValidationPipe());
  // No enableShutdownHooks(): main.ts handles SIGTERM itself, to exit 0 once requests in flight are done.

  setUpOpenApi(app, config);
  return app;
}
