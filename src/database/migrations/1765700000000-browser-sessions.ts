import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single sign-on and logout (SPEC §5): the browser sessions and the clients each one has logged in
 * to, the persisted queue of back-channel logout notifications, the session a code and a token
 * family belong to, the clients' logout metadata and the policy's session lifetimes. The client_id
 * columns use utf8mb4_bin on MySQL, as clients.client_id does ("App" and "app" are two clients); the
 * other identifiers are UUIDs and hex digests Gatehouse generates itself.
 */
export class BrowserSessions1765700000000 implements MigrationInterface {
  name = 'BrowserSessions1765700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      const bin = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';
      await queryRunner.query(
        `CREATE TABLE \`browser_sessions\` (\`id\` varchar(36) NOT NULL, \`cookie_hash\` varchar(64) NOT NULL, \`user_id\` varchar(36) NOT NULL, ` +
          `\`auth_time\` bigint NOT NULL, \`amr\` varchar(64) NOT NULL, \`ip\` varchar(64) NULL, \`user_agent\` varchar(255) NULL, \`created_at\` bigint NOT NULL, ` +
          `\`last_seen_at\` bigint NOT NULL, \`ended_at\` bigint NULL, \`ended_reason\` varchar(64) NULL, ` +
          `UNIQUE INDEX \`idx_browser_sessions_cookie\` (\`cookie_hash\`), INDEX \`idx_browser_sessions_user\` (\`user_id\`), INDEX \`idx_browser_sessions_seen\` (\`last_seen_at\`), ` +
          `PRIMARY KEY (\`id\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      await queryRunner.query(
        `CREATE TABLE \`browser_session_clients\` (\`session_id\` varchar(36) NOT NULL, \`client_id\` varchar(128) ${bin} NOT NULL, \`created_at\` bigint NOT NULL, ` +
          `\`last_seen_at\` bigint NOT NULL, PRIMARY KEY (\`session_id\`, \`client_id\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      await queryRunner.query(
        `CREATE TABLE \`logout_notifications\` (\`id\` varchar(36) NOT NULL, \`client_id\` varchar(128) ${bin} NOT NULL, \`user_id\` varchar(36) NOT NULL, ` +
          `\`session_id\` varchar(36) NOT NULL, \`reason\` varchar(64) NOT NULL, \`attempts\` int NOT NULL DEFAULT '0', \`next_attempt_at\` bigint NOT NULL, ` +
          `\`claimed_until\` bigint NULL, \`claim_id\` varchar(36) NULL, \`delivered_at\` bigint NULL, \`failed_at\` bigint NULL, \`last_error\` varchar(255) NULL, ` +
          `\`created_at\` bigint NOT NULL, INDEX \`idx_logout_notifications_due\` (\`delivered_at\`, \`failed_at\`, \`next_attempt_at\`), ` +
          `PRIMARY KEY (\`id\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      await queryRunner.query('ALTER TABLE `authorization_codes` ADD `browser_session_id` varchar(36) NULL');
      await queryRunner.query('ALTER TABLE `token_families` ADD `browser_session_id` varchar(36) NULL');
      await queryRunner.query('CREATE INDEX `idx_token_families_browser_session` ON `token_families` (`browser_session_id`)');
      await queryRunner.query(
        'ALTER TABLE `clients` ADD `post_logout_redirect_uris` text NULL, ADD `backchannel_logout_uri` varchar(2048) NULL, ' +
          'ADD `backchannel_logout_session_required` tinyint NOT NULL DEFAULT 0, ADD `logout_revokes_refresh_tokens` tinyint NOT NULL DEFAULT 1',
      );
      await queryRunner.query("ALTER TABLE `policy` ADD `sso_session_idle_seconds` int NOT NULL DEFAULT '1800', ADD `sso_session_max_seconds` int NOT NULL DEFAULT '36000'");
      return;
    }
    await queryRunner.query(
      `CREATE TABLE "browser_sessions" ("id" varchar(36) PRIMARY KEY NOT NULL, "cookie_hash" varchar(64) NOT NULL, "user_id" varchar(36) NOT NULL, "auth_time" bigint NOT NULL, ` +
        `"amr" varchar(64) NOT NULL, "ip" varchar(64), "user_agent" varchar(255), "created_at" bigint NOT NULL, "last_seen_at" bigint NOT NULL, "ended_at" bigint, "ended_reason" varchar(64))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_browser_sessions_cookie" ON "browser_sessions" ("cookie_hash") `);
    await queryRunner.query(`CREATE INDEX "idx_browser_sessions_user" ON "browser_sessions" ("user_id") `);
    await queryRunner.query(`CREATE INDEX "idx_browser_sessions_seen" ON "browser_sessions" ("last_seen_at") `);
    await queryRunner.query(
      `CREATE TABLE "browser_session_clients" ("session_id" varchar(36) NOT NULL, "client_id" varchar(128) NOT NULL, "created_at" bigint NOT NULL, "last_seen_at" bigint NOT NULL, ` +
        `PRIMARY KEY ("session_id", "client_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "logout_notifications" ("id" varchar(36) PRIMARY KEY NOT NULL, "client_id" varchar(128) NOT NULL, "user_id" varchar(36) NOT NULL, "session_id" varchar(36) NOT NULL, ` +
        `"reason" varchar(64) NOT NULL, "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint NOT NULL, "claimed_until" bigint, "claim_id" varchar(36), ` +
        `"delivered_at" bigint, "failed_at" bigint, "last_error" varchar(255), "created_at" bigint NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "idx_logout_notifications_due" ON "logout_notifications" ("delivered_at", "failed_at", "next_attempt_at") `);
    await queryRunner.query('ALTER TABLE "authorization_codes" ADD COLUMN "browser_session_id" varchar(36)');
    await queryRunner.query('ALTER TABLE "token_families" ADD COLUMN "browser_session_id" varchar(36)');
    await queryRunner.query('CREATE INDEX "idx_token_families_browser_session" ON "token_families" ("browser_session_id") ');
    await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "post_logout_redirect_uris" text');
    await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "backchannel_logout_uri" varchar(2048)');
    await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "backchannel_logout_session_required" boolean NOT NULL DEFAULT (0)');
    await queryRunner.query('ALTER TABLE "clients" ADD COLUMN "logout_revokes_refresh_tokens" boolean NOT NULL DEFAULT (1)');
    await queryRunner.query('ALTER TABLE "policy" ADD COLUMN "sso_session_idle_seconds" integer NOT NULL DEFAULT (1800)');
    await queryRunner.query('ALTER TABLE "policy" ADD COLUMN "sso_session_max_seconds" integer NOT NULL DEFAULT (36000)');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    const q = queryRunner.connection.options.type === 'mysql' ? '`' : '"';
    const id = (name: string) => `${q}${name}${q}`;
    for (const column of ['sso_session_max_seconds', 'sso_session_idle_seconds']) await queryRunner.query(`ALTER TABLE ${id('policy')} DROP COLUMN ${id(column)}`);
    for (const column of ['logout_revokes_refresh_tokens', 'backchannel_logout_session_required', 'backchannel_logout_uri', 'post_logout_redirect_uris']) {
      await queryRunner.query(`ALTER TABLE ${id('clients')} DROP COLUMN ${id(column)}`);
    }
    if (q === '`') await queryRunner.query('DROP INDEX `idx_token_families_browser_session` ON `token_families`');
    else await queryRunner.query('DROP INDEX "idx_token_families_browser_session"');
    await queryRunner.query(`ALTER TABLE ${id('token_families')} DROP COLUMN ${id('browser_session_id')}`);
    await queryRunner.query(`ALTER TABLE ${id('authorization_codes')} DROP COLUMN ${id('browser_session_id')}`);
    await queryRunner.query(`DROP TABLE ${id('logout_notifications')}`);
    await queryRunner.query(`DROP TABLE ${id('browser_session_clients')}`);
    await queryRunner.query(`DROP TABLE ${id('browser_sessions')}`);
  }
}
