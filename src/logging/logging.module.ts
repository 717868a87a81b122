import { DynamicModule, Global, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { LogLevel } from '../config/app-config';
import { AppLogger } from './app-logger';
import { logDestination } from './destination';
import { httpLoggerOptions } from './log-options';

/** Structured logs (SPEC §7 LOG_LEVEL): JSON lines through pino, with a request id on every request. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(level: LogLevel, stream: DestinationStream = logDestination()): DynamicModule {
    const options = httpLoggerOptions(level);
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [options, stream],
          // Every path, including unknown ones (404s get an id and a line too).
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        }),
      ],
      providers: [AppLogger],
      exports: [AppLogger],
    };
  }
}
