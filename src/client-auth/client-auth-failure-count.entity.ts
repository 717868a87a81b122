import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * Failed client authentications of registered clients, shared by every instance. Two kinds of rows,
 * told apart by how key_hash was made (ClientAuthFailuresService):
 * - the lockout count of a client (policy client_lockout_threshold), with locked_at once it locks;
 * - the failures of one (client, client IP) pair in one minute (CLIENT_AUTH_FAILURE_LIMIT).
 * Neither secrets nor addresses are stored: keys are SHA-256 digests.
 */
@Entity('client_auth_failures')
@Index('idx_client_auth_failures_client', ['clientHash'])
@Index('idx_client_auth_failures_expires', ['expiresAt'])
export class ClientAuthFailureCount {
  @PrimaryColumn({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  /** SHA-256 of the client_id, for the admin unlock (an exact match on any collation). */
  @Column({ name: 'client_hash', type: 'varchar', length: 64 })
  clientHash!: string;

  @Column({ type: 'int' })
  failures!: number;

  @Column({ name: 'locked_at', type: 'bigint', nullable: true, transformer: epochMs })
  lockedAt!: Date | null;

  /** Past this the row counts for nothing and the purge deletes it. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;
}
