import { Injectable } from '@nestjs/common';
import { Logger } from 'nestjs-pino';

/** Nest's start-up chatter (modules loaded, one line per mapped route): useful when debugging, noise otherwise. */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * Nest's logger interface over pino (nestjs-pino), with Nest's own start-up lines moved to debug,
 * so that LOG_LEVEL=info shows what an operator needs: keys generated, "Listening", requests.
 */
@Injectable()
export class AppLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context !== 'string' || !FRAMEWORK_CONTEXTS.has(context)) return super.log(message, ...optionalParams);
    // Nest says "successfully started" before it listens: with the port taken, that line would
    // precede the failure. Our "Listening on port" line, logged once listening, replaces it.
    super.debug(message === 'Nest application successfully started' ? 'Nest application initialized' : message, ...optionalParams);
  }

  override error(message: unknown, ...optionalParams: unknown[]): void {
    // Nest logs a failed listen (port in use, no permission) before it rejects; main.ts reports it
    // in one line naming PORT, so Nest's own line is only for debugging.
    const context = optionalParams[optionalParams.length - 1];
    if (context === 'NestApplication' && typeof message === 'string' && /^Error: listen E[A-Z]+/.test(message)) return super.debug(message, ...optionalParams);
    super.error(message, ...optionalParams);
  }
}
