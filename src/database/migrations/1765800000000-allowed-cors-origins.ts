import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * clients.allowed_cors_origins: the origins of a client's browser apps besides those of its redirect
 * URIs (SPEC §4 CORS), a JSON array. Nullable without default (a TEXT default needs MySQL 8.0.13);
 * the rows registered before it read as none. Checked with `migration:generate` against both stores:
 * nothing left on SQLite; on MariaDB only the NULL-default noise it reports for every nullable column.
 */
export class AllowedCorsOrigins1765800000000 implements MigrationInterface {
  name = 'AllowedCorsOrigins1765800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` ADD `allowed_cors_origins` text NULL');
    } else {
      await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "allowed_cors_origins" text');
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` DROP COLUMN `allowed_cors_origins`');
    } else {
      await queryRunner.query('ALTER TABLE "clients" DROP COLUMN "allowed_cors_origins"');
    }
  }
}
