import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTemporarilyUnavailable, isWriteConflict } from '../database/errors';
import { allowedMethods, methodNotAllowed, oauthEndpointAt } from './endpoints';
import { OAuthError, ServerError, TemporarilyUnavailable } from './errors';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);

/** True when an error means the database cannot be reached or is overloaded, not that our code is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const err = error as { code?: string; driverError?: { code?: string }; name?: string } | undefined;
  if (!err) return false;
  const code = err.code ?? err.driverError?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  // A write conflict still lost after the database layer ran it again (a cluster under heavy
  // contention), or a cluster node that cannot serve: the client may try again.
  if (isWriteConflict(error) || isTemporarilyUnavailable(error)) return true;
  return (
    err.name === 'ConnectionIsNotSetError' ||
    err.name === 'CannotExecuteNotConnectedError' ||
    (error instanceof Error && /Pool is closed|connection is closed|database connection is not open|Connection is not established/i.test(error.message))
  );
}

/**
 * Turns any error into a response that never leaks internals: OAuth errors in the RFC 6749 §5.2
 * shape, Nest HTTP exceptions (admin API validation, 404, 409) as Nest renders them, a database
 * outage as 503 temporarily_unavailable, and anything else as a bare 500 server_error. A request
 * to an OAuth endpoint with a method it does not answer (the router found no route) is 405.
 */
export function toErrorResponse(
  exception: unknown,
  logger: Logger,
  request?: { url: string; method: string; id?: string },
): {
  status: number;
  body: unknown;
  headers: Record<string, string>;
} {
  const endpoint = request ? oauthEndpointAt(request.url) : undefined;
  if (exception instanceof NotFoundException && endpoint && !allowedMethods(endpoint).includes(request!.method)) {
    exception = methodNotAllowed(endpoint);
  }
  if (exception instanceof OAuthError) {
    return { status: exception.status, body: exception.toJSON(), headers: exception.headers };
  }
  if (exception instanceof HttpException && exception.getStatus() !== 404 && endpoint?.jsonErrors) {
    // Raised by the framework before our handler ran (body too large, unreadable body): the OAuth
    // endpoints still answer in the RFC 6749 §5.2 shape.
    return { status: exception.getStatus(), body: { error: 'invalid_request', error_description: exception.message }, headers: {} };
  }
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const body = typeof response === 'string' ? { statusCode: exception.getStatus(), message: response } : response;
    return { status: exception.getStatus(), body, headers: {} };
  }
  const fastifyStatus = (exception as { statusCode?: number })?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    // Errors raised by Fastify itself before routing: malformed JSON, body too large, bad media type.
    const message = exception instanceof Error ? exception.message : 'Bad request';
    return { status: fastifyStatus, body: { error: 'invalid_request', error_description: message }, headers: {} };
  }
  const error = isDatabaseUnavailable(exception) ? new TemporarilyUnavailable() : new ServerError();
  const during = request?.id ? ` (request ${request.id})` : '';
  logger.error(
    error.status === 503 ? `Database unavailable${during}: ${String((exception as Error)?.message)}` : `Unhandled error${during}`,
    error.status === 503 ? undefined : (exception as Error)?.stack,
  );
  return { status: error.status, body: error.toJSON(), headers: error.headers };
}

@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gatehouse');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, headers } = toErrorResponse(exception, this.logger, http.getRequest<FastifyRequest>());
    reply.status(status).headers(headers).send(body);
  }
}
