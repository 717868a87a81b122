import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * signing: JWS keys published in the JWKS. password-rsa / password-sm2: password transport keys.
 * secret: symmetric server secrets (ServerSecretsService), never published.
 */
export type KeyPurpose = 'signing' | 'password-rsa' | 'password-sm2' | 'secret';

@Entity('keys')
@Index('idx_keys_purpose', ['purpose', 'retiredAt'])
export class StoredKey {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  kid!: string;

  @Column({ type: 'varchar', length: 16 })
  purpose!: KeyPurpose;

  @Column({ type: 'varchar', length: 16 })
  alg!: string;

  /** Public JWK as JSON; for SM2 the hex public key itself (uncompressed, 04…). */
  @Column({ name: 'public_key', type: 'text' })
  publicKey!: string;

  /** PKCS#8 PEM (or the hex private scalar for SM2); AES-256-GCM encrypted when KEY_ENCRYPTION_SECRET is set. */
  @Column({ name: 'private_key', type: 'text' })
  privateKey!: string;

  @Column({ name: 'private_key_encrypted', type: 'boolean', default: false })
  privateKeyEncrypted!: boolean;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  /** When a newer key replaced it for signing; it stays published until `expiresAt`. */
  @Column({ name: 'retired_at', type: 'bigint', nullable: true, transformer: epochMs })
  retiredAt!: Date | null;

  /** When the last token it signed has expired: from then on it is left out of the JWKS. */
  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: epochMs })
  expiresAt!: Date | null;
}
