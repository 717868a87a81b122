import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * One login of one user at one client (a "grant" or session): every access and refresh token issued
 * from it, through any number of refreshes, belongs to the family and dies with it. Its id is the
 * `sid` claim of the tokens.
 */
@Entity('token_families')
@Index('idx_token_families_user', ['userId'])
@Index('idx_token_families_expires', ['expiresAt'])
@Index('idx_token_families_browser_session', ['browserSessionId'])
export class TokenFamily {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  /** The scope granted at login; refreshes may narrow it, never widen it. */
  @Column({ type: 'text' })
  scope!: string;

  @Column({ name: 'auth_time', type: 'bigint', transformer: epochMs })
  authTime!: Date;

  /** Authentication methods (RFC 8176 `amr`), space-separated. */
  @Column({ type: 'varchar', length: 64 })
  amr!: string;

  /** auth_time + the effective max exchange period: no refresh after this. */
  @Column({ name: 'exchange_deadline', type: 'bigint', transformer: epochMs })
  exchangeDeadline!: Date;

  /** The authorization code this family was created from, so that a replayed code can end it. */
  @Column({ name: 'code_hash', type: 'varchar', length: 64, nullable: true })
  codeHash!: string | null;

  /** The browser SSO session the login came from (authorization code flow), whose `sid` its id_tokens carry. */
  @Column({ name: 'browser_session_id', type: 'varchar', length: 36, nullable: true })
  browserSessionId!: string | null;

  @Column({ name: 'revoked_at', type: 'bigint', nullable: true, transformer: epochMs })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 64, nullable: true })
  revokedReason!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  /** When the last token of the family expires; the purge removes the family after that. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;
}
