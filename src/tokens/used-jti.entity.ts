import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * Replay cache shared by all instances: a row per single-use identifier (client assertion jti,
 * TOTP code) until it expires. Inserting an existing key fails, which is what rejects a replay.
 */
@Entity('used_jtis')
@Index('idx_used_jtis_expires', ['expiresAt'])
export class UsedJti {
  /** SHA-256 of "<namespace>:<issuer>:<jti>". */
  @PrimaryColumn({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;
}
