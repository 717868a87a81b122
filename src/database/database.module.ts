import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

/** TypeORM over a DataSource that openDatabase has already connected and migrated: no second connection, no retry loop. */
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSource.options, toRetry: () => false }),
          dataSourceFactory: async () => dataSource,
        }),
      ],
    };
  }
}
