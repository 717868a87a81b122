import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every table of Gatehouse. Generated from the entities with `npm run migration:generate` once
 * against SQLite and once against MariaDB, and kept together: the SQL of the two dialects differs,
 * the schema does not.
 */
export class InitialSchema1763850000000 implements MigrationInterface {
  name = 'InitialSchema1763850000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(`CREATE TABLE \`audit_events\` (\`id\` varchar(36) NOT NULL, \`type\` varchar(64) NOT NULL, \`user_id\` varchar(36) NULL, \`client_id\` varchar(128) NULL, \`ip\` varchar(64) NULL, \`details\` text NOT NULL, \`created_at\` bigint NOT NULL, INDEX \`idx_audit_events_type\` (\`type\`, \`created_at\`), INDEX \`idx_audit_events_client\` (\`client_id\`, \`created_at\`), INDEX \`idx_audit_events_user\` (\`user_id\`, \`created_at\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`clients\` (\`client_id\` varchar(128) NOT NULL, \`client_name\` varchar(255) NULL, \`secret_digest\` varchar(64) NULL, \`token_endpoint_auth_method\` varchar(40) NOT NULL, \`grant_types\` text NOT NULL, \`redirect_uris\` text NOT NULL, \`scope\` text NOT NULL, \`default_scope\` varchar(1024) NOT NULL, \`jwks\` text NULL, \`jwks_uri\` varchar(2048) NULL, \`tls_client_auth_subject_dn\` varchar(1024) NULL, \`require_pkce\` tinyint NOT NULL DEFAULT 0, \`require_mfa\` tinyint NOT NULL DEFAULT 0, \`allow_pkce_plain\` tinyint NOT NULL DEFAULT 0, \`access_token_format\` varchar(8) NOT NULL DEFAULT 'jwt', \`access_token_ttl\` int NOT NULL DEFAULT '3600', \`id_token_ttl\` int NOT NULL DEFAULT '3600', \`refresh_token_ttl\` int NOT NULL DEFAULT '2592000', \`max_exchange_period_hours\` int NOT NULL DEFAULT '4320', \`refresh_token_without_offline_access\` tinyint NOT NULL DEFAULT 0, \`access_token_audience\` varchar(1024) NULL, \`id_token_signed_response_alg\` varchar(8) NOT NULL DEFAULT 'RS256', \`disabled\` tinyint NOT NULL DEFAULT 0, \`created_at\` bigint NOT NULL, \`updated_at\` bigint NOT NULL, PRIMARY KEY (\`client_id\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`keys\` (\`kid\` varchar(64) NOT NULL, \`purpose\` varchar(16) NOT NULL, \`alg\` varchar(16) NOT NULL, \`public_key\` text NOT NULL, \`private_key\` text NOT NULL, \`private_key_encrypted\` tinyint NOT NULL DEFAULT 0, \`created_at\` bigint NOT NULL, \`retired_at\` bigint NULL, \`expires_at\` bigint NULL, INDEX \`idx_keys_purpose\` (\`purpose\`, \`retired_at\`), PRIMARY KEY (\`kid\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`policy\` (\`id\` int NOT NULL, \`lockout_threshold\` int NOT NULL DEFAULT '5', \`lockout_duration_seconds\` int NOT NULL DEFAULT '900', \`password_max_age_days\` int NOT NULL DEFAULT '0', \`initial_password_ttl_hours\` int NOT NULL DEFAULT '72', \`refresh_token_grace_seconds\` int NOT NULL DEFAULT '0', \`updated_at\` bigint NOT NULL, PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`access_tokens\` (\`token_hash\` varchar(64) NOT NULL, \`jti\` varchar(64) NOT NULL, \`client_id\` varchar(128) NOT NULL, \`user_id\` varchar(36) NULL, \`family_id\` varchar(36) NULL, \`scope\` text NOT NULL, \`audience\` varchar(1024) NOT NULL, \`auth_time\` bigint NULL, \`created_at\` bigint NOT NULL, \`expires_at\` bigint NOT NULL, \`revoked_at\` bigint NULL, INDEX \`idx_access_tokens_expires\` (\`expires_at\`), INDEX \`idx_access_tokens_family\` (\`family_id\`), PRIMARY KEY (\`token_hash\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`authorization_codes\` (\`code_hash\` varchar(64) NOT NULL, \`client_id\` varchar(128) NOT NULL, \`user_id\` varchar(36) NOT NULL, \`redirect_uri\` text NOT NULL, \`scope\` text NOT NULL, \`nonce\` varchar(512) NULL, \`code_challenge\` varchar(128) NULL, \`code_challenge_method\` varchar(8) NULL, \`auth_time\` bigint NOT NULL, \`amr\` varchar(64) NOT NULL, \`created_at\` bigint NOT NULL, \`expires_at\` bigint NOT NULL, \`consumed_at\` bigint NULL, INDEX \`idx_authorization_codes_expires\` (\`expires_at\`), PRIMARY KEY (\`code_hash\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`refresh_tokens\` (\`token_hash\` varchar(64) NOT NULL, \`family_id\` varchar(36) NOT NULL, \`client_id\` varchar(128) NOT NULL, \`scope\` text NOT NULL, \`created_at\` bigint NOT NULL, \`expires_at\` bigint NOT NULL, \`rotated_at\` bigint NULL, \`grace_used_at\` bigint NULL, INDEX \`idx_refresh_tokens_expires\` (\`expires_at\`), INDEX \`idx_refresh_tokens_family\` (\`family_id\`), PRIMARY KEY (\`token_hash\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`token_families\` (\`id\` varchar(36) NOT NULL, \`client_id\` varchar(128) NOT NULL, \`user_id\` varchar(36) NOT NULL, \`scope\` text NOT NULL, \`auth_time\` bigint NOT NULL, \`amr\` varchar(64) NOT NULL, \`exchange_deadline\` bigint NOT NULL, \`code_hash\` varchar(64) NULL, \`revoked_at\` bigint NULL, \`revoked_reason\` varchar(64) NULL, \`created_at\` bigint NOT NULL, \`expires_at\` bigint NOT NULL, INDEX \`idx_token_families_expires\` (\`expires_at\`), INDEX \`idx_token_families_user\` (\`user_id\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`used_jtis\` (\`key_hash\` varchar(64) NOT NULL, \`expires_at\` bigint NOT NULL, INDEX \`idx_used_jtis_expires\` (\`expires_at\`), PRIMARY KEY (\`key_hash\`)) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE \`users\` (\`id\` varchar(36) NOT NULL, \`username\` varchar(255) NULL, \`email\` varchar(255) NULL, \`phone_number\` varchar(32) NULL, \`email_verified\` tinyint NOT NULL DEFAULT 0, \`phone_number_verified\` tinyint NOT NULL DEFAULT 0, \`claims\` text NOT NULL, \`groups\` text NOT NULL, \`password_hash\` varchar(255) NOT NULL, \`password_changed_at\` bigint NOT NULL, \`password_is_initial\` tinyint NOT NULL DEFAULT 0, \`password_expires_at\` bigint NULL, \`password_change_required\` tinyint NOT NULL DEFAULT 0, \`disabled\` tinyint NOT NULL DEFAULT 0, \`require_mfa\` tinyint NOT NULL DEFAULT 0, \`admin_locked\` tinyint NOT NULL DEFAULT 0, \`failed_login_count\` int NOT NULL DEFAULT '0', \`locked_at\` bigint NULL, \`totp_secret\` varchar(512) NULL, \`totp_last_step\` bigint NULL, \`created_at\` bigint NOT NULL, \`updated_at\` bigint NOT NULL, UNIQUE INDEX \`IDX_fe0bb3f6520ee0469504521e71\` (\`username\`), UNIQUE INDEX \`IDX_97672ac88f789774dd47f7c8be\` (\`email\`), UNIQUE INDEX \`IDX_17d1817f241f10a3dbafb169fd\` (\`phone_number\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
    } else {
      await queryRunner.query(`CREATE TABLE "audit_events" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(64) NOT NULL, "user_id" varchar(36), "client_id" varchar(128), "ip" varchar(64), "details" text NOT NULL, "created_at" bigint NOT NULL)`);
      await queryRunner.query(`CREATE INDEX "idx_audit_events_type" ON "audit_events" ("type", "created_at") `);
      await queryRunner.query(`CREATE INDEX "idx_audit_events_client" ON "audit_events" ("client_id", "created_at") `);
      await queryRunner.query(`CREATE INDEX "idx_audit_events_user" ON "audit_events" ("user_id", "created_at") `);
      await queryRunner.query(`CREATE TABLE "clients" ("client_id" varchar(128) PRIMARY KEY NOT NULL, "client_name" varchar(255), "secret_digest" varchar(64), "token_endpoint_auth_method" varchar(40) NOT NULL, "grant_types" text NOT NULL, "redirect_uris" text NOT NULL, "scope" text NOT NULL, "default_scope" varchar(1024) NOT NULL, "jwks" text, "jwks_uri" varchar(2048), "tls_client_auth_subject_dn" varchar(1024), "require_pkce" boolean NOT NULL DEFAULT (0), "require_mfa" boolean NOT NULL DEFAULT (0), "allow_pkce_plain" boolean NOT NULL DEFAULT (0), "access_token_format" varchar(8) NOT NULL DEFAULT ('jwt'), "access_token_ttl" integer NOT NULL DEFAULT (3600), "id_token_ttl" integer NOT NULL DEFAULT (3600), "refresh_token_ttl" integer NOT NULL DEFAULT (2592000), "max_exchange_period_hours" integer NOT NULL DEFAULT (4320), "refresh_token_without_offline_access" boolean NOT NULL DEFAULT (0), "access_token_audience" varchar(1024), "id_token_signed_response_alg" varchar(8) NOT NULL DEFAULT ('RS256'), "disabled" boolean NOT NULL DEFAULT (0), "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL)`);
      await queryRunner.query(`CREATE TABLE "keys" ("kid" varchar(64) PRIMARY KEY NOT NULL, "purpose" varchar(16) NOT NULL, "alg" varchar(16) NOT NULL, "public_key" text NOT NULL, "private_key" text NOT NULL, "private_key_encrypted" boolean NOT NULL DEFAULT (0), "created_at" bigint NOT NULL, "retired_at" bigint, "expires_at" bigint)`);
      await queryRunner.query(`CREATE INDEX "idx_keys_purpose" ON "keys" ("purpose", "retired_at") `);
      await queryRunner.query(`CREATE TABLE "policy" ("id" integer PRIMARY KEY NOT NULL, "lockout_threshold" integer NOT NULL DEFAULT (5), "lockout_duration_seconds" integer NOT NULL DEFAULT (900), "password_max_age_days" integer NOT NULL DEFAULT (0), "initial_password_ttl_hours" integer NOT NULL DEFAULT (72), "refresh_token_grace_seconds" integer NOT NULL DEFAULT (0), "updated_at" bigint NOT NULL)`);
      await queryRunner.query(`CREATE TABLE "access_tokens" ("token_hash" varchar(64) PRIMARY KEY NOT NULL, "jti" varchar(64) NOT NULL, "client_id" varchar(128) NOT NULL, "user_id" varchar(36), "family_id" varchar(36), "scope" text NOT NULL, "audience" varchar(1024) NOT NULL, "auth_time" bigint, "created_at" bigint NOT NULL, "expires_at" bigint NOT NULL, "revoked_at" bigint)`);
      await queryRunner.query(`CREATE INDEX "idx_access_tokens_expires" ON "access_tokens" ("expires_at") `);
      await queryRunner.query(`CREATE INDEX "idx_access_tokens_family" ON "access_tokens" ("family_id") `);
      await queryRunner.query(`CREATE TABLE "authorization_codes" ("code_hash" varchar(64) PRIMARY KEY NOT NULL, "client_id" varchar(128) NOT NULL, "user_id" varchar(36) NOT NULL, "redirect_uri" text NOT NULL, "scope" text NOT NULL, "nonce" varchar(512), "code_challenge" varchar(128), "code_challenge_method" varchar(8), "auth_time" bigint NOT NULL, "amr" varchar(64) NOT NULL, "created_at" bigint NOT NULL, "expires_at" bigint NOT NULL, "consumed_at" bigint)`);
      await queryRunner.query(`CREATE INDEX "idx_authorization_codes_expires" ON "authorization_codes" ("expires_at") `);
      await queryRunner.query(`CREATE TABLE "refresh_tokens" ("token_hash" varchar(64) PRIMARY KEY NOT NULL, "family_id" varchar(36) NOT NULL, "client_id" varchar(128) NOT NULL, "scope" text NOT NULL, "created_at" bigint NOT NULL, "expires_at" bigint NOT NULL, "rotated_at" bigint, "grace_used_at" bigint)`);
      await queryRunner.query(`CREATE INDEX "idx_refresh_tokens_expires" ON "refresh_tokens" ("expires_at") `);
      await queryRunner.query(`CREATE INDEX "idx_refresh_tokens_family" ON "refresh_tokens" ("family_id") `);
      await queryRunner.query(`CREATE TABLE "token_families" ("id" varchar(36) PRIMARY KEY NOT NULL, "client_id" varchar(128) NOT NULL, "user_id" varchar(36) NOT NULL, "scope" text NOT NULL, "auth_time" bigint NOT NULL, "amr" varchar(64) NOT NULL, "exchange_deadline" bigint NOT NULL, "code_hash" varchar(64), "revoked_at" bigint, "revoked_reason" varchar(64), "created_at" bigint NOT NULL, "expires_at" bigint NOT NULL)`);
      await queryRunner.query(`CREATE INDEX "idx_token_families_expires" ON "token_families" ("expires_at") `);
      await queryRunner.query(`CREATE INDEX "idx_token_families_user" ON "token_families" ("user_id") `);
      await queryRunner.query(`CREATE TABLE "used_jtis" ("key_hash" varchar(64) PRIMARY KEY NOT NULL, "expires_at" bigint NOT NULL)`);
      await queryRunner.query(`CREATE INDEX "idx_used_jtis_expires" ON "used_jtis" ("expires_at") `);
      await queryRunner.query(`CREATE TABLE "users" ("id" varchar(36) PRIMARY KEY NOT NULL, "username" varchar(255), "email" varchar(255), "phone_number" varchar(32), "email_verified" boolean NOT NULL DEFAULT (0), "phone_number_verified" boolean NOT NULL DEFAULT (0), "claims" text NOT NULL, "groups" text NOT NULL, "password_hash" varchar(255) NOT NULL, "password_changed_at" bigint NOT NULL, "password_is_initial" boolean NOT NULL DEFAULT (0), "password_expires_at" bigint, "password_change_required" boolean NOT NULL DEFAULT (0), "disabled" boolean NOT NULL DEFAULT (0), "require_mfa" boolean NOT NULL DEFAULT (0), "admin_locked" boolean NOT NULL DEFAULT (0), "failed_login_count" integer NOT NULL DEFAULT (0), "locked_at" bigint, "totp_secret" varchar(512), "totp_last_step" bigint, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, CONSTRAINT "UQ_fe0bb3f6520ee0469504521e710" UNIQUE ("username"), CONSTRAINT "UQ_97672ac88f789774dd47f7c8be3" UNIQUE ("email"), CONSTRAINT "UQ_17d1817f241f10a3dbafb169fd2" UNIQUE ("phone_number"))`);
    }
    await queryRunner.query(
      'INSERT INTO policy (id, lockout_threshold, lockout_duration_seconds, password_max_age_days, initial_password_ttl_hours, refresh_token_grace_seconds, updated_at) VALUES (1, 5, 900, 0, 72, 0, 0)',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(`DROP INDEX \`IDX_17d1817f241f10a3dbafb169fd\` ON \`users\``);
      await queryRunner.query(`DROP INDEX \`IDX_97672ac88f789774dd47f7c8be\` ON \`users\``);
      await queryRunner.query(`DROP INDEX \`IDX_fe0bb3f6520ee0469504521e71\` ON \`users\``);
      await queryRunner.query(`DROP TABLE \`users\``);
      await queryRunner.query(`DROP INDEX \`idx_used_jtis_expires\` ON \`used_jtis\``);
      await queryRunner.query(`DROP TABLE \`used_jtis\``);
      await queryRunner.query(`DROP INDEX \`idx_token_families_user\` ON \`token_families\``);
      await queryRunner.query(`DROP INDEX \`idx_token_families_expires\` ON \`token_families\``);
      await queryRunner.query(`DROP TABLE \`token_families\``);
      await queryRunner.query(`DROP INDEX \`idx_refresh_tokens_family\` ON \`refresh_tokens\``);
      await queryRunner.query(`DROP INDEX \`idx_refresh_tokens_expires\` ON \`refresh_tokens\``);
      await queryRunner.query(`DROP TABLE \`refresh_tokens\``);
      await queryRunner.query(`DROP INDEX \`idx_authorization_codes_expires\` ON \`authorization_codes\``);
      await queryRunner.query(`DROP TABLE \`authorization_codes\``);
      await queryRunner.query(`DROP INDEX \`idx_access_tokens_family\` ON \`access_tokens\``);
      await queryRunner.query(`DROP INDEX \`idx_access_tokens_expires\` ON \`access_tokens\``);
      await queryRunner.query(`DROP TABLE \`access_tokens\``);
      await queryRunner.query(`DROP TABLE \`policy\``);
      await queryRunner.query(`DROP INDEX \`idx_keys_purpose\` ON \`keys\``);
      await queryRunner.query(`DROP TABLE \`keys\``);
      await queryRunner.query(`DROP TABLE \`clients\``);
      await queryRunner.query(`DROP INDEX \`idx_audit_events_user\` ON \`audit_events\``);
      await queryRunner.query(`DROP INDEX \`idx_audit_events_client\` ON \`audit_events\``);
      await queryRunner.query(`DROP INDEX \`idx_audit_events_type\` ON \`audit_events\``);
      await queryRunner.query(`DROP TABLE \`audit_events\``);
    } else {
      await queryRunner.query(`DROP TABLE "users"`);
      await queryRunner.query(`DROP INDEX "idx_used_jtis_expires"`);
      await queryRunner.query(`DROP TABLE "used_jtis"`);
      await queryRunner.query(`DROP INDEX "idx_token_families_user"`);
      await queryRunner.query(`DROP INDEX "idx_token_families_expires"`);
      await queryRunner.query(`DROP TABLE "token_families"`);
      await queryRunner.query(`DROP INDEX "idx_refresh_tokens_family"`);
      await queryRunner.query(`DROP INDEX "idx_refresh_tokens_expires"`);
      await queryRunner.query(`DROP TABLE "refresh_tokens"`);
      await queryRunner.query(`DROP INDEX "idx_authorization_codes_expires"`);
      await queryRunner.query(`DROP TABLE "authorization_codes"`);
      await queryRunner.query(`DROP INDEX "idx_access_tokens_family"`);
      await queryRunner.query(`DROP INDEX "idx_access_tokens_expires"`);
      await queryRunner.query(`DROP TABLE "access_tokens"`);
      await queryRunner.query(`DROP TABLE "policy"`);
      await queryRunner.query(`DROP INDEX "idx_keys_purpose"`);
      await queryRunner.query(`DROP TABLE "keys"`);
      await queryRunner.query(`DROP TABLE "clients"`);
      await queryRunner.query(`DROP INDEX "idx_audit_events_user"`);
      await queryRunner.query(`DROP INDEX "idx_audit_events_client"`);
      await queryRunner.query(`DROP INDEX "idx_audit_events_type"`);
      await queryRunner.query(`DROP TABLE "audit_events"`);
    }
  }
}
