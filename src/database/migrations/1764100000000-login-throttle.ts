import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The login_throttle table: failed logins per client IP and minute (SPEC §3.3 per-IP rate limiting).
 * Generated with `migration:generate` against SQLite and MariaDB (only the new table kept: the
 * MariaDB diff also lists column-default noise TypeORM reports there on every run).
 */
export class LoginThrottle1764100000000 implements MigrationInterface {
  name = 'LoginThrottle1764100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(
        `CREATE TABLE \`login_throttle\` (\`key_hash\` varchar(64) NOT NULL, \`failures\` int NOT NULL, \`expires_at\` bigint NOT NULL, INDEX \`idx_login_throttle_expires\` (\`expires_at\`), PRIMARY KEY (\`key_hash\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      return;
    }
    await queryRunner.query(`CREATE TABLE "login_throttle" ("key_hash" varchar(64) PRIMARY KEY NOT NULL, "failures" integer NOT NULL, "expires_at" bigint NOT NULL)`);
    await queryRunner.query(`CREATE INDEX "idx_login_throttle_expires" ON "login_throttle" ("expires_at") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(`DROP TABLE \`login_throttle\``);
      return;
    }
    await queryRunner.query(`DROP INDEX "idx_login_throttle_expires"`);
    await queryRunner.query(`DROP TABLE "login_throttle"`);
  }
}
