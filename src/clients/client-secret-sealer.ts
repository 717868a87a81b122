import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ServerSecretsService } from '../keys/server-secrets.service';

/** Sealed with a key derived from KEY_ENCRYPTION_SECRET. */
const UNDER_KEK = 'k1';
/** Sealed with a random server key kept in the keys table (KEY_ENCRYPTION_SECRET unset at the time). */
const UNDER_SERVER_KEY = 's1';
const INFO = 'client-secret-encryption';

/**
 * Reversible storage for the secrets of client_secret_jwt clients (RFC 7523 §2.2 HMAC assertions):
 * a digest, which is all Gatehouse keeps for other clients, cannot verify a MAC. AES-256-GCM with
 * the client_id as associated data, so a sealed secret copied onto another client does not open.
 * The key is derived (HKDF-SHA-256) from KEY_ENCRYPTION_SECRET when it is set, else from a random
 * 256-bit server secret shared by all instances through the keys table. The version prefix records
 * which, so a secret sealed before KEY_ENCRYPTION_SECRET was introduced still opens afterwards.
 */
@Injectable()
export class ClientSecretSealer {
  private readonly logger = new Logger(ClientSecretSealer.name);

  constructor(
    private readonly config: AppConfig,
    private readonly serverSecrets: ServerSecretsService,
  ) {}

  async seal(clientId: string, secret: string): Promise<string> {
    const version = this.config.keyEncryptionSecret ? UNDER_KEK : UNDER_SERVER_KEY;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.key(version), iv);
    cipher.setAAD(Buffer.from(clientId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [version, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** The secret, or null when it cannot be opened (tampered, or sealed under a KEY_ENCRYPTION_SECRET since changed). */
  async open(clientId: string, sealed: string): Promise<string | null> {
    const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
    if ((version !== UNDER_KEK && version !== UNDER_SERVER_KEY) || !iv || !tag || !ciphertext || rest.length) return null;
    if (version === UNDER_KEK && !this.config.keyEncryptionSecret) {
      this.logger.warn(`The secret of client_secret_jwt client "${clientId}" was sealed under KEY_ENCRYPTION_SECRET, which is not set`);
      return null;
    }
    // Outside the try: a database outage while loading the server key is a 503, not a wrong secret.
    const key = await this.key(version);
    try {
      // A fixed tag length: GCM would otherwise accept a truncated tag.
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(clientId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      this.logger.warn(`The sealed secret of client_secret_jwt client "${clientId}" does not open (KEY_ENCRYPTION_SECRET changed?)`);
      return null;
    }
  }

  private async key(version: string): Promise<Buffer> {
    const material = version === UNDER_KEK ? this.config.keyEncryptionSecret! : await this.serverSecrets.get('client-secret-encryption');
    return Buffer.from(hkdfSync('sha256', material, 'gatehouse', INFO, 32));
  }
}
