import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Client authentication failures (issue 13 item 5): the client_auth_failures table (lockout counts
 * per client_id and failure windows per client and address, keyed by SHA-256 digests), and the two
 * client lockout settings of the policy (off by default). Written after `migration:generate` on
 * both stores, keeping the new table and columns only.
 */
export class ClientAuthFailures1765900000000 implements MigrationInterface {
  name = 'ClientAuthFailures1765900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(
        'CREATE TABLE `client_auth_failures` (`key_hash` varchar(64) NOT NULL, `client_hash` varchar(64) NOT NULL, `failures` int NOT NULL, ' +
          '`locked_at` bigint NULL, `expires_at` bigint NOT NULL, INDEX `idx_client_auth_failures_client` (`client_hash`), ' +
          'INDEX `idx_client_auth_failures_expires` (`expires_at`), PRIMARY KEY (`key_hash`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci',
      );
      await queryRunner.query('ALTER TABLE `policy` ADD `client_lockout_threshold` int NOT NULL DEFAULT 0');
      await queryRunner.query('ALTER TABLE `policy` ADD `client_lockout_duration_seconds` int NOT NULL DEFAULT 3600');
      return;
    }
    await queryRunner.query(
      'CREATE TABLE "client_auth_failures" ("key_hash" varchar(64) PRIMARY KEY NOT NULL, "client_hash" varchar(64) NOT NULL, "failures" integer NOT NULL, ' +
        '"locked_at" bigint, "expires_at" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "idx_client_auth_failures_client" ON "client_auth_failures" ("client_hash") ');
    await queryRunner.query('CREATE INDEX "idx_client_auth_failures_expires" ON "client_auth_failures" ("expires_at") ');
    await queryRunner.query('ALTER TABLE "policy" ADD COLUMN "client_lockout_threshold" integer NOT NULL DEFAULT (0)');
    await queryRunner.query('ALTER TABLE "policy" ADD COLUMN "client_lockout_duration_seconds" integer NOT NULL DEFAULT (3600)');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `policy` DROP COLUMN `client_lockout_duration_seconds`');
      await queryRunner.query('ALTER TABLE `policy` DROP COLUMN `client_lockout_threshold`');
      await queryRunner.query('DROP TABLE `client_auth_failures`');
      return;
    }
    await queryRunner.query('ALTER TABLE "policy" DROP COLUMN "client_lockout_duration_seconds"');
    await queryRunner.query('ALTER TABLE "policy" DROP COLUMN "client_lockout_threshold"');
    await queryRunner.query('DROP INDEX "idx_client_auth_failures_expires"');
    await queryRunner.query('DROP INDEX "idx_client_auth_failures_client"');
    await queryRunner.query('DROP TABLE "client_auth_failures"');
  }
}
