import { BadRequestException, HttpException } from '@nestjs/common';
import { ConfigError } from '../config/app-config';
import { DatabaseUnusableError } from '../database/open-database';

/** A mistake in the command line itself (unknown command or option, missing argument): exit status 2. */
export class UsageError extends Error {}

/** An error the operator can act on: one line, no stack (exit status 1). */
export class CliError extends Error {}

type FieldErrors = Record<string, string[]>;

/**
 * The one line the CLI prints for an error: the admin API's 400 as "field: message; …", its 404 and
 * 409 as their message, configuration and database errors as the service prints them, anything
 * else as its first line.
 */
export function errorLine(error: unknown): string {
  if (error instanceof BadRequestException) {
    const body = error.getResponse() as { message?: unknown; fields?: FieldErrors };
    if (body.fields) {
      const fields = Object.entries(body.fields).map(([field, messages]) => `${field}: ${messages.join(', ')}`);
      return `validation failed: ${fields.join('; ')}`;
    }
    return String(body.message ?? error.message);
  }
  if (error instanceof HttpException || error instanceof ConfigError || error instanceof DatabaseUnusableError || error instanceof CliError || error instanceof UsageError) {
    return error.message.split('\n')[0];
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}
