import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on authorization_codes.user_id: ending a user's sessions (admin lock, disable, delete,
 * password set, DELETE /admin/users/{id}/sessions) discards the user's outstanding codes by it.
 * The statement `migration:generate` writes for the entity's @Index on both stores.
 */
export class AuthorizationCodesUserIndex1765600000001 implements MigrationInterface {
  name = 'AuthorizationCodesUserIndex1765600000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('CREATE INDEX `idx_authorization_codes_user` ON `authorization_codes` (`user_id`)');
    } else {
      await queryRunner.query('CREATE INDEX "idx_authorization_codes_user" ON "authorization_codes" ("user_id") ');
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query('DROP INDEX `idx_authorization_codes_user` ON `authorization_codes`');
    } else {
      await queryRunner.query('DROP INDEX "idx_authorization_codes_user"');
    }
  }
}
