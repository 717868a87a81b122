import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toErrorResponse } from '../oauth/oauth-exception.filter';
import { sendPage } from './html-response';
import { errorPage } from './pages';

/**
 * The authorization endpoint talks to a browser: whatever goes wrong there (a database outage, a
 * body Fastify refused) is an HTML page with the status the OAuth filter would use, never JSON or
 * a stack trace.
 */
@Catch()
export class AuthorizePageFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gatehouse');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, headers } = toErrorResponse(exception, this.logger);
    void reply.headers(headers);
    const { error, error_description: description } = body as { error?: string; error_description?: string };
    const message =
      status === 503
        ? 'The service is temporarily unavailable. Please try again in a moment.'
        : status >= 500
          ? 'Something went wrong on our side. Please try again.'
          : (description ?? 'The request could not be processed.');
    sendPage(reply, errorPage(status, error ?? 'invalid_request', message));
  }
}
