import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * clients.trust_end_user_ip_header: a confidential client may forward its end user's address in
 * Gatehouse-End-User-IP (SPEC §3.3 throttling). Every client registered before it does not.
 * Matches what `migration:generate` writes for the entity's boolean column on each store.
 */
export class TrustEndUserIpHeader1765600000000 implements MigrationInterface {
  name = 'TrustEndUserIpHeader1765600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` ADD `trust_end_user_ip_header` tinyint NOT NULL DEFAULT 0');
    } else {
      await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "trust_end_user_ip_header" boolean NOT NULL DEFAULT (0)');
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('ALTER TABLE `clients` DROP COLUMN `trust_end_user_ip_header`');
    } else {
      await queryRunner.query('ALTER TABLE "clients" DROP COLUMN "trust_end_user_ip_header"');
    }
  }
}
