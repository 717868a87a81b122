import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/** The global security policy: a single row with id 1. */
@Entity('policy')
export class Policy {
  @PrimaryColumn({ type: 'int' })
  id!: number;

  @Column({ name: 'lockout_threshold', type: 'int', default: 5 })
  lockoutThreshold!: number;

  /** 0 = locked until an administrator unlocks. */
  @Column({ name: 'lockout_duration_seconds', type: 'int', default: 900 })
  lockoutDurationSeconds!: number;

  /** 0 = passwords never expire by age. */
  @Column({ name: 'password_max_age_days', type: 'int', default: 0 })
  passwordMaxAgeDays!: number;

  @Column({ name: 'initial_password_ttl_hours', type: 'int', default: 72 })
  initialPasswordTtlHours!: number;

  @Column({ name: 'refresh_token_grace_seconds', type: 'int', default: 0 })
  refreshTokenGraceSeconds!: number;

  /** Consecutive failed client authentications that lock the client_id; 0 = client lockout off. */
  @Column({ name: 'client_lockout_threshold', type: 'int', default: 0 })
  clientLockoutThreshold!: number;

  /** How long a client stays locked, and how long a failure counts toward the lock; 0 = until an administrator unlocks. */
  @Column({ name: 'client_lockout_duration_seconds', type: 'int', default: 3600 })
  clientLockoutDurationSeconds!: number;
  /** A browser SSO session unused this long ends (Keycloak's SSO Session Idle). */
  @Column({ name: 'sso_session_idle_seconds', type: 'int', default: 1800 })
  ssoSessionIdleSeconds!: number;

  /** A browser SSO session ends this long after its login, used or not (Keycloak's SSO Session Max). */
  @Column({ name: 'sso_session_max_seconds', type: 'int', default: 36000 })
  ssoSessionMaxSeconds!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;
}
