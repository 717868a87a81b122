import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SqlRunner } from './sql-runner';
import { WalCheckpointer } from './wal-checkpointer';

/**
 * TypeORM over a DataSource that openDatabase has already connected and migrated: no second
 * connection, no retry loop. Also provides, to every module, the SqlRunner of the token path's
 * prepared statements over the same connection(s), and on SQLite the checkpointer that keeps
 * write-ahead-log checkpoints off the event-loop thread.
 */
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [SqlRunner, WalCheckpointer],
      exports: [SqlRunner, WalCheckpointer],
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSource.options, toRetry: () => false }),
          dataSourceFactory: async () => dataSource,
        }),
      ],
    };
  }
}
