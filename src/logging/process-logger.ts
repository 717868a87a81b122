import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/app-config';
import { logDestination } from './destination';
import { baseLoggerOptions } from './log-options';

/** A logger for a process that runs no Nest application (the cluster primary): same format, same redaction. */
export function processLogger(level: LogLevel, context: string): Logger {
  const destination = logDestination();
  const logger = destination ? pino(baseLoggerOptions(level), destination) : pino(baseLoggerOptions(level));
  return logger.child({ context });
}
