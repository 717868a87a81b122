import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identifiers compare exactly on both stores. SQLite compares text byte for byte; MySQL/MariaDB
 * columns took the database's default collation (e.g. utf8mb4_unicode_ci), where "Foo" = "foo",
 * "josé" = "jose" and "ß" = "ss". Then a client_id or username could collide, or a lookup find
 * another row, on MySQL and not on SQLite. client_id is case-sensitive (as in Keycloak); usernames
 * and emails are lower-cased by the application before they are stored or looked up.
 *
 * The entities do not declare the collation (TypeORM would write it into the SQLite DDL too), and
 * TypeORM's schema diff does not compare collations, so `migration:generate` leaves this alone.
 * SQLite needs no change: its default BINARY collation already compares exactly.
 */
export class ExactIdentifierCollation1763900000000 implements MigrationInterface {
  name = 'ExactIdentifierCollation1763900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') return;
    await queryRunner.query(
      'ALTER TABLE `clients` MODIFY `client_id` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
    );
    await queryRunner.query(
      'ALTER TABLE `users` ' +
        'MODIFY `id` varchar(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ' +
        'MODIFY `username` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, ' +
        'MODIFY `email` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, ' +
        'MODIFY `phone_number` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') return;
    // Back to the table's default collation, as the initial migration created them.
    await queryRunner.query(
      'ALTER TABLE `users` MODIFY `id` varchar(36) NOT NULL, MODIFY `username` varchar(255) NULL, MODIFY `email` varchar(255) NULL, MODIFY `phone_number` varchar(32) NULL',
    );
    await queryRunner.query('ALTER TABLE `clients` MODIFY `client_id` varchar(128) NOT NULL');
  }
}
