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
import { setUpOpenApi } from './openapi/openapi-document';

const BODY_LIMIT = 64 * 1024;

/**
 * Fastify's own JSON parser refuses "__proto__" and "constructor.prototype" keys (prototype
 * poisoning); ours replaces it, so it does the same.
 */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)) {
    throw new Error('Forbidden key');
  }
  return value;
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
  const dataSource = await openDatabase(config.databaseUrl);
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
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: BODY_LIMIT }, async (_req: unknown, body: Buffer) =>
    parseForm(body.toString('utf8')),
  );
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT }, async (_req: unknown, body: Buffer) => {
    const text = body.toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text, refusePrototypeKeys);
    } catch {
      throw Object.assign(new Error('The request body is not valid JSON'), { statusCode: 400 });
    }
  });
  // Any other media type reaches the handlers as text, which then refuse it with a proper error.
  app.useBodyParser('*', { bodyLimit: BODY_LIMIT }, async (_req: unknown, body: Buffer) => body.toString('utf8'));

  const fastify = app.getHttpAdapter().getInstance();
  // RFC 6749 §5.1 / RFC 6750: token material is never cached. Endpoints that publish public data set their own.
  // No response is meant to be framed (clickjacking of Swagger UI) or MIME-sniffed (JSON errors echo input).
  fastify.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    void reply.header('X-Request-Id', req.id);
  });
  fastify.addHook('onSend', async (_req: FastifyRequest, reply: FastifyReply) => {
    if (!reply.hasHeader('cache-control')) {
      void reply.header('Cache-Control', 'no-store');
      void reply.header('Pragma', 'no-cache');
    }
    if (!reply.hasHeader('x-content-type-options')) void reply.header('X-Content-Type-Options', 'nosniff');
    if (!reply.hasHeader('x-frame-options')) void reply.header('X-Frame-Options', 'DENY');
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

  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.useGlobalFilters(new OAuthExceptionFilter());
  app.useGlobalPipes(adminValidationPipe());
  app.enableShutdownHooks();

  setUpOpenApi(app, config);
  return app;
}
