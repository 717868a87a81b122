import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber, epochMs } from '../database/epoch.transformer';

export interface Address {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/** The OIDC Core §5.1 profile claims a user may hold, in the order they are released. */
export const PROFILE_CLAIM_NAMES = [
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
] as const;

/** OIDC standard profile claims (OpenID Connect Core §5.1) kept as one JSON document. */
export interface ProfileClaims {
  name?: string;
  given_name?: string;
  family_name?: string;
  middle_name?: string;
  nickname?: string;
  profile?: string;
  picture?: string;
  website?: string;
  gender?: string;
  birthdate?: string;
  zoneinfo?: string;
  locale?: string;
  address?: Address;
}

@Entity('users')
export class User {
  /** The OIDC `sub`. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Lower-cased, as Keycloak does, so that lookups behave the same on SQLite and MySQL collations. */
  @Column({ type: 'varchar', length: 255, nullable: true, unique: true })
  username!: string | null;

  /** Lower-cased. */
  @Column({ type: 'varchar', length: 255, nullable: true, unique: true })
  email!: string | null;

  /** E.164. */
  @Column({ name: 'phone_number', type: 'varchar', length: 32, nullable: true, unique: true })
  phoneNumber!: string | null;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified!: boolean;

  @Column({ name: 'phone_number_verified', type: 'boolean', default: false })
  phoneNumberVerified!: boolean;

  @Column({ type: 'simple-json' })
  claims!: ProfileClaims;

  @Column({ type: 'simple-json' })
  groups!: string[];

  /** argon2id PHC string, or an imported hash (bcrypt) until the next successful login re-hashes it. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash!: string;

  @Column({ name: 'password_changed_at', type: 'bigint', transformer: epochMs })
  passwordChangedAt!: Date;

  @Column({ name: 'password_is_initial', type: 'boolean', default: false })
  passwordIsInitial!: boolean;

  @Column({ name: 'password_expires_at', type: 'bigint', nullable: true, transformer: epochMs })
  passwordExpiresAt!: Date | null;

  @Column({ name: 'password_change_required', type: 'boolean', default: false })
  passwordChangeRequired!: boolean;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'require_mfa', type: 'boolean', default: false })
  requireMfa!: boolean;

  /** Locked by an administrator: only an unlock lifts it. */
  @Column({ name: 'admin_locked', type: 'boolean', default: false })
  adminLocked!: boolean;

  /** Consecutive failed logins; changed only by single atomic UPDATEs. */
  @Column({ name: 'failed_login_count', type: 'int', default: 0, transformer: bigintAsNumber })
  failedLoginCount!: number;

  /** When the failure threshold was reached; the lock lasts the policy's lockout_duration_seconds from here. */
  @Column({ name: 'locked_at', type: 'bigint', nullable: true, transformer: epochMs })
  lockedAt!: Date | null;

  /** TOTP shared secret, encrypted at rest. */
  @Column({ name: 'totp_secret', type: 'varchar', length: 512, nullable: true })
  totpSecret!: string | null;

  /** Last accepted TOTP time step, so a code cannot be replayed within its window. */
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  totpLastStep!: number | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;
}
