import { DynamicModule, Global, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { LogLevel } from '../config/app-config';
import { AppLogger } from './app-logger';
import { logDestination } from './destination';
import { httpLoggerOptions, logsRequests } from './log-options';

/** Structured logs (SPEC §7 LOG_LEVEL): JSON lines through pino, with a request id on every request. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(level: LogLevel, stream: DestinationStream = logDestination()): DynamicModule {
    const options = httpLoggerOptions(level);
    const requestLines = logsRequests(level);
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [options, stream],
          // At info and below: every path, including unknown ones (404s get an id and a line too).
          // Above info there are no request lines to write, so no per-request middleware either: no
          // child logger and no AsyncLocalStorage context per request (its promise hooks cost every
          // promise of the process). Lines an error writes then name the request id themselves
          // (oauth/oauth-exception.filter.ts), and the X-Request-Id header is Fastify's, as always.
          forRoutes: requestLines ? [{ path: '{*path}', method: RequestMethod.ALL }] : [],
        }),
      ],
      providers: [AppLogger],
      exports: [AppLogger],
    };
  }
}
