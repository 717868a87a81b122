import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { isUniqueViolation } from '../database/errors';
import { openStoredPrivate, storedPrivate } from './key-encryption';
import type { StoredKey } from './signing-key.entity';
import { StoredKeysService } from './stored-keys.service';

/** What a server secret is for; each purpose has its own random key. */
export type SecretPurpose = 'login-form' | 'totp' | 'client-secret-encryption';

/**
 * Symmetric server secrets (HMAC keys) shared by every instance: 256 random bits generated on first
 * use and kept in the `keys` table (purpose "secret", encrypted like the signing keys when
 * KEY_ENCRYPTION_SECRET is set), so that a value MACed by one instance verifies on any other.
 */
@Injectable()
export class ServerSecretsService {
  private readonly cache = new Map<SecretPurpose, Promise<Buffer>>();

  constructor(
    private readonly stored: StoredKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get(purpose: SecretPurpose): Promise<Buffer> {
    let secret = this.cache.get(purpose);
    if (!secret) {
      secret = this.loadOrCreate(purpose);
      // A failed database read must not be cached for the life of the process.
      secret.catch(() => this.cache.delete(purpose));
      this.cache.set(purpose, secret);
    }
    return secret;
  }

  private async loadOrCreate(purpose: SecretPurpose): Promise<Buffer> {
    const kid = `secret:${purpose}`;
    const existing = await this.stored.find(kid);
    if (existing) return this.open(existing);
    const value = randomBytes(32).toString('base64url');
    try {
      await this.stored.insert({
        kid,
        purpose: 'secret',
        alg: 'HS256',
        publicKey: '',
        ...storedPrivate(value, this.config.keyEncryptionSecret),
        createdAt: this.clock.now(),
        retiredAt: null,
        expiresAt: null,
      });
      return Buffer.from(value, 'base64url');
    } catch (error) {
      // Another instance created it at the same moment: everyone uses the stored one.
      if (!isUniqueViolation(error)) throw error;
      const stored = await this.stored.find(kid);
      if (!stored) throw error;
      return this.open(stored);
    }
  }

  private open(row: StoredKey): Buffer {
    return Buffer.from(openStoredPrivate(row, this.config.keyEncryptionSecret, 'Secret'), 'base64url');
  }
}
