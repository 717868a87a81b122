import { MigrationInterface, QueryRunner } from 'typeorm';

/** What normalizeLogin (src/users/identifiers.ts) makes of a username or email; restated here, as migrations never change. */
const normalize = (value: string) => value.trim().normalize('NFC').toLowerCase();

/**
 * Usernames and emails are now stored in Unicode NFC (besides lower-cased), and looked up that
 * way, so that "é" typed precomposed or decomposed is one name (SPEC §6 directory usernames).
 * Rewrites the stored values that are not yet normalised. Only values with a non-ASCII character
 * can change, so only those are read. A value whose normalised form another user already holds is
 * left as it is (the admin API shows both; docs/decisions.md): the unique index would refuse the
 * change, and choosing which user keeps the name is an administrator's decision.
 */
export class LoginNamesNfc1765600000002 implements MigrationInterface {
  name = 'LoginNamesNfc1765600000002';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const q = (name: string) => (mysql ? `\`${name}\`` : `"${name}"`);
    for (const column of ['username', 'email']) {
      const nonAscii = mysql ? `${q(column)} REGEXP '[^ -~]'` : `${q(column)} GLOB '*[^ -~]*'`;
      const rows: Array<{ id: string; value: string }> = await queryRunner.query(`SELECT ${q('id')} AS id, ${q(column)} AS value FROM ${q('users')} WHERE ${nonAscii}`);
      for (const { id, value } of rows) {
        const normalized = normalize(value);
        if (normalized === value) continue;
        const taken: unknown[] = await queryRunner.query(`SELECT ${q('id')} FROM ${q('users')} WHERE ${q(column)} = ?`, [normalized]);
        if (taken.length) continue;
        await queryRunner.query(`UPDATE ${q('users')} SET ${q(column)} = ? WHERE ${q('id')} = ?`, [normalized, id]);
      }
    }
  }

  public async down(): Promise<void> {
    // The decomposed spellings are not kept; NFC values are valid before this migration too.
  }
}
