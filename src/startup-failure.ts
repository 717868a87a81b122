import type { AppConfig } from './config/app-config';
import { ConfigError } from './config/app-config';
import { DatabaseUnusableError } from './database/open-database';

/**
 * Why start-up failed, in one line an operator can act on: no stack trace, no retry. Unexpected
 * errors keep their message (the code is at fault, not the configuration).
 */
export function startupFailure(error: unknown, config?: AppConfig): string {
  if (error instanceof ConfigError || error instanceof DatabaseUnusableError) return error.message;
  const code = (error as { code?: string } | undefined)?.code;
  if (config && code === 'EADDRINUSE') {
    return `Cannot listen: PORT ${config.port} is already in use; stop the process that holds it, or set PORT to a free port`;
  }
  if (config && code === 'EACCES') {
    return `Cannot listen: PORT ${config.port} needs privileges this process does not have; use a PORT above 1023, or let a proxy listen on the low port`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Gatehouse failed to start: ${message.split('\n')[0]}`;
}

