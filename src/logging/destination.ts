import { destination, type DestinationStream } from 'pino';

/**
 * Where log lines go: stdout as JSON lines, or, when stdout is a terminal, through pino-pretty for
 * a person to read. Written synchronously (one write per line, as console.log on a pipe): lines
 * keep their order with what goes to stderr (the admin secret's box, a start-up failure) and none
 * is lost on exit.
 */
export function logDestination(): DestinationStream {
  if (!process.stdout.isTTY) return destination({ dest: 1, sync: true });
  // Loaded only for a terminal: production output (a pipe or a file) never goes through it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (options: object) => DestinationStream;
  return pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' });
}
