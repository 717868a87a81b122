import type { DestinationStream } from 'pino';

/**
 * Where log lines go: stdout as JSON lines (undefined: pino's own fast stdout writer), or, when
 * stdout is a terminal, through pino-pretty for a person to read.
 */
export function logDestination(): DestinationStream | undefined {
  if (!process.stdout.isTTY) return undefined;
  // Loaded only for a terminal: production output (a pipe or a file) never goes through it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (options: object) => DestinationStream;
  return pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' });
}
