import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/** An authorization code (RFC 6749 §4.1.2), stored only as the SHA-256 of its value. */
@Entity('authorization_codes')
@Index('idx_authorization_codes_expires', ['expiresAt'])
@Index('idx_authorization_codes_user', ['userId'])
export class AuthorizationCode {
  @PrimaryColumn({ name: 'code_hash', type: 'varchar', length: 64 })
  codeHash!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'redirect_uri', type: 'text' })
  redirectUri!: string;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  nonce!: string | null;

  @Column({ name: 'code_challenge', type: 'varchar', length: 128, nullable: true })
  codeChallenge!: string | null;

  @Column({ name: 'code_challenge_method', type: 'varchar', length: 8, nullable: true })
  codeChallengeMethod!: string | null;

  @Column({ name: 'auth_time', type: 'bigint', transformer: epochMs })
  authTime!: Date;

  @Column({ type: 'varchar', length: 64 })
  amr!: string;

  /** The browser SSO session the code was issued in. */
  @Column({ name: 'browser_session_id', type: 'varchar', length: 36, nullable: true })
  browserSessionId!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;

  /** Set by the single conditional UPDATE that redeems the code. */
  @Column({ name: 'consumed_at', type: 'bigint', nullable: true, transformer: epochMs })
  consumedAt!: Date | null;
}
