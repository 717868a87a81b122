import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * clients.secret_encrypted: the sealed secret of client_secret_jwt clients (RFC 7523 HMAC
 * assertions can only be verified with the secret itself, not with its digest).
 *
 * Generated with `migration:generate` against both stores; of the MariaDB diff only the ADD is ours
 * (the rest is TypeORM misreading MariaDB's NULL defaults). For SQLite TypeORM generates a table
 * rebuild; a plain ADD COLUMN is equivalent for a nullable column without default, and copies nothing.
 */
export class ClientSecretJwt1764000000009 implements MigrationInterface {
  name = 'ClientSecretJwt1764000000009';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` ADD `secret_encrypted` text NULL');
    } else {
      await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "secret_encrypted" text');
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` DROP COLUMN `secret_encrypted`');
    } else {
      await queryRunner.query('ALTER TABLE "clients" DROP COLUMN "secret_encrypted"');
    }
  }
}
