import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * One back-channel logout (OIDC Back-Channel Logout 1.0) still to be delivered to one client: the
 * persisted queue, so that a restart loses none and every instance can deliver. The id is the
 * logout token's `jti`, the same on every attempt. A row is claimed by one conditional UPDATE
 * (`claim_id`, `claimed_until`), so two instances never send it at the same time.
 */
@Entity('logout_notifications')
@Index('idx_logout_notifications_due', ['deliveredAt', 'failedAt', 'nextAttemptAt'])
export class LogoutNotification {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  /** The browser session's id: the logout token's `sid`. */
  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  @Column({ type: 'varchar', length: 64 })
  reason!: string;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'bigint', transformer: epochMs })
  nextAttemptAt!: Date;

  @Column({ name: 'claimed_until', type: 'bigint', nullable: true, transformer: epochMs })
  claimedUntil!: Date | null;

  @Column({ name: 'claim_id', type: 'varchar', length: 36, nullable: true })
  claimId!: string | null;

  @Column({ name: 'delivered_at', type: 'bigint', nullable: true, transformer: epochMs })
  deliveredAt!: Date | null;

  /** Set when the retries are exhausted: the row is kept for the administrator to see, never sent again. */
  @Column({ name: 'failed_at', type: 'bigint', nullable: true, transformer: epochMs })
  failedAt!: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;
}
