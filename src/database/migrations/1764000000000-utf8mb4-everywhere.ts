import { MigrationInterface, QueryRunner } from 'typeorm';

/** Identifier columns that compare exactly (see ExactIdentifierCollation1763900000000). */
const EXACT_COLUMNS: Record<string, string[]> = {
  clients: ['MODIFY `client_id` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL'],
  users: [
    'MODIFY `id` varchar(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
    'MODIFY `username` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
    'MODIFY `email` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
    'MODIFY `phone_number` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
  ],
};

/**
 * Every text column stores any Unicode text on MySQL/MariaDB. The tables were created with the
 * database's default character set, which is latin1 on an upstream MariaDB server (and utf8mb3 on
 * some older set-ups): there a client name or a user's claim with an emoji, a CJK character or a
 * 4-byte character failed with "Incorrect string value" and a 500. This converts the database
 * default and every table that is not utf8mb4 yet; on a database created as utf8mb4 it changes
 * nothing. SQLite stores every string as Unicode already.
 */
export class Utf8mb4Everywhere1764000000000 implements MigrationInterface {
  name = 'Utf8mb4Everywhere1764000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') return;
    const [schema] = await queryRunner.query(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS charset FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()',
    );
    // Tables created by later migrations get it too.
    if (schema?.charset !== 'utf8mb4') await queryRunner.query('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    const tables: { name: string }[] = await queryRunner.query(
      `SELECT DISTINCT t.TABLE_NAME AS name FROM information_schema.TABLES t
       LEFT JOIN information_schema.COLUMNS c
         ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CHARACTER_SET_NAME IS NOT NULL AND c.CHARACTER_SET_NAME <> 'utf8mb4'
       WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
         AND (t.TABLE_COLLATION NOT LIKE 'utf8mb4%' OR c.COLUMN_NAME IS NOT NULL)`,
    );
    for (const { name } of tables) {
      await queryRunner.query(`ALTER TABLE \`${name}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      // CONVERT gives every column the table's collation: the exact identifiers get theirs back.
      if (EXACT_COLUMNS[name]) await queryRunner.query(`ALTER TABLE \`${name}\` ${EXACT_COLUMNS[name].join(', ')}`);
    }
  }

  public async down(): Promise<void> {
    // Converting back could lose characters the old character set cannot hold: nothing to undo.
  }
}
