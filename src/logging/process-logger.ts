import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/app-config';
import { logDestination } from './destination';
import { baseLoggerOptions } from './log-options';

/** A logger for a process that runs no Nest application (the cluster primary): same format, same redaction. */
export function processLogger(level: LogLevel, context: string): Logger {
  return pino(baseLoggerOptions(level), logDestination()).child({ context });
}
