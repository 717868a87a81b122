import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * Failed password logins per counter (end-user address, confidential client, client and forwarded
 * end-user address) and minute, shared by every instance (SPEC §3.3: "per-IP
 * rate limiting covers" unknown identifiers, which no per-user lockout counts).
 */
@Entity('login_throttle')
@Index('idx_login_throttle_expires', ['expiresAt'])
export class LoginThrottle {
  /** SHA-256 of the counter (address, client, or client and end-user address) and the minute: one row per counter and window, no address or client_id stored. */
  @PrimaryColumn({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ type: 'int' })
  failures!: number;

  /** The end of the window: the row is purged after it. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;
}
