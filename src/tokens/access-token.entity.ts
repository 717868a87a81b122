import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/** An opaque access token, stored only as the SHA-256 of its value. JWT access tokens are not stored. */
@Entity('access_tokens')
@Index('idx_access_tokens_family', ['familyId'])
@Index('idx_access_tokens_expires', ['expiresAt'])
export class AccessToken {
  @PrimaryColumn({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ type: 'varchar', length: 64 })
  jti!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  /** The user, or null for client_credentials tokens (whose sub is the client_id). */
  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  @Column({ name: 'family_id', type: 'varchar', length: 36, nullable: true })
  familyId!: string | null;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'varchar', length: 1024 })
  audience!: string;

  @Column({ name: 'auth_time', type: 'bigint', nullable: true, transformer: epochMs })
  authTime!: Date | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'bigint', nullable: true, transformer: epochMs })
  revokedAt!: Date | null;
}
