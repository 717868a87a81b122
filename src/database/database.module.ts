import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SqlRunner } from './sql-runner';

/**
 * TypeORM over a DataSource that openDatabase has already connected and migrated: no second
 * connection, no retry loop. Also provides, to every module, the SqlRunner of the token path's
 * prepared statements over the same connection(s).
 */
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [SqlRunner],
      exports: [SqlRunner],
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSource.options, toRetry: () => false }),
          dataSourceFactory: async () => dataSource,
        }),
      ],
    };
  }
}
