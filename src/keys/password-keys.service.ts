import { createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type forge from 'node-forge';
import { sm2 } from 'sm-crypto';
import { Clock } from '../common/clock';
import { sha256Base64Url } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import { openStoredPrivate, storedPrivate } from './key-encryption';
import { decryptRsaPassword, decryptSm2Password, type RsaTransportKey } from './password-transport';
import type { StoredKey } from './signing-key.entity';
import { StoredKeysService } from './stored-keys.service';

const generateKeyPair = promisify(generateKeyPairCb);

/**
 * node-forge, loaded on the first PKCS#1 v1.5 decryption: only clients that still send that padding
 * need it, and it costs every process ~2 MiB of heap (its TLS, X.509 and ASN.1 code) otherwise.
 */
function loadForge(): typeof forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node-forge') as typeof forge;
}

export const RSA_TRANSPORT_ALG = 'RSA-OAEP-256';
export const SM2_TRANSPORT_ALG = 'SM2';
const RELOAD_INTERVAL_MS = 60_000;

interface LoadedRsaKey extends RsaTransportKey {
  kid: string;
  publicKeyPem: string;
}

interface LoadedSm2Key {
  kid: string;
  /** Uncompressed point, "04" + x + y. */
  publicKeyHex: string;
  privateKeyHex: string;
}

export interface PasswordTransportKeys {
  rsa: { kid: string; publicKeyPem: string };
  sm2: { kid: string; publicKeyHex: string };
}

/**
 * The password transport keys (SPEC §3.3): one RSA-2048 key for RSA-OAEP-256 and one SM2 key pair,
 * generated on first start and kept in the `keys` table (purposes password-rsa and password-sm2,
 * private parts encrypted when KEY_ENCRYPTION_SECRET is set), so that every instance publishes and
 * decrypts with the same keys. Instances that start together may each generate a pair: all of them
 * publish the oldest, and decryption tries every stored key, so no ciphertext is refused meanwhile.
 */
@Injectable()
export class PasswordKeysService implements OnModuleInit {
  private readonly logger = new Logger(PasswordKeysService.name);
  private rsaKeys: LoadedRsaKey[] = [];
  private sm2Keys: LoadedSm2Key[] = [];
  private loadedAt = 0;
  private loading?: Promise<void>;

  constructor(
    private readonly stored: StoredKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    let generated = false;
    if (this.rsaKeys.length === 0) {
      await this.stored.insert(await this.generateRsa());
      this.logger.log('Generated the RSA password transport key');
      generated = true;
    }
    if (this.sm2Keys.length === 0) {
      await this.stored.insert(this.generateSm2());
      this.logger.log('Generated the SM2 password transport key');
      generated = true;
    }
    if (generated) await this.reload();
  }

  /** The published keys: the oldest of each kind. */
  async publicKeys(): Promise<PasswordTransportKeys> {
    await this.refreshIfStale();
    const [rsa] = this.rsaKeys;
    const [sm2Key] = this.sm2Keys;
    return { rsa: { kid: rsa.kid, publicKeyPem: rsa.publicKeyPem }, sm2: { kid: sm2Key.kid, publicKeyHex: sm2Key.publicKeyHex } };
  }

  /** The password inside an RSA (base64) or SM2 (hex) ciphertext, or null when it does not decrypt under any stored key. */
  async decrypt(type: 'rsa' | 'sm2', ciphertext: string): Promise<string | null> {
    await this.refreshIfStale();
    if (type === 'rsa') {
      for (const key of this.rsaKeys) {
        const password = decryptRsaPassword(key, ciphertext, this.config.passwordRsaPkcs1);
        if (password !== null) return password;
      }
    } else {
      for (const key of this.sm2Keys) {
        const password = decryptSm2Password(key.privateKeyHex, ciphertext);
        if (password !== null) return password;
      }
    }
    return null;
  }

  private async refreshIfStale(): Promise<void> {
    if (this.clock.nowMs() - this.loadedAt > RELOAD_INTERVAL_MS) await this.reload();
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await this.stored.list(['password-rsa', 'password-sm2'], { currentOnly: true });
    const cachedRsa = new Map(this.rsaKeys.map((k) => [k.kid, k]));
    const cachedSm2 = new Map(this.sm2Keys.map((k) => [k.kid, k]));
    const rsaKeys: LoadedRsaKey[] = [];
    const sm2Keys: LoadedSm2Key[] = [];
    for (const row of rows) {
      if (row.purpose === 'password-rsa') rsaKeys.push(cachedRsa.get(row.kid) ?? this.loadRsa(row));
      else sm2Keys.push(cachedSm2.get(row.kid) ?? { kid: row.kid, publicKeyHex: row.publicKey, privateKeyHex: this.openPrivate(row) });
    }
    this.rsaKeys = rsaKeys;
    this.sm2Keys = sm2Keys;
    this.loadedAt = this.clock.nowMs();
  }

  private loadRsa(row: StoredKey): LoadedRsaKey {
    const pem = this.openPrivate(row);
    let forgeKey: forge.pki.rsa.PrivateKey | undefined;
    return {
      kid: row.kid,
      privateKey: createPrivateKey(pem),
      publicKeyPem: createPublicKey({ key: JSON.parse(row.publicKey) as JWK & { kty: string }, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString(),
      forgeKey: () => (forgeKey ??= loadForge().pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey),
    };
  }

  private openPrivate(row: StoredKey): string {
    return openStoredPrivate(row, this.config.keyEncryptionSecret, 'Password transport key');
  }

  private async generateRsa(): Promise<StoredKey> {
    const { publicKey, privateKey } = await generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const jwk = (publicKey as KeyObject).export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    const pem = (privateKey as KeyObject).export({ type: 'pkcs8', format: 'pem' }).toString();
    return this.row(kid, 'password-rsa', RSA_TRANSPORT_ALG, JSON.stringify({ ...jwk, kid, alg: RSA_TRANSPORT_ALG, use: 'enc' }), pem);
  }

  private generateSm2(): StoredKey {
    // The private scalar comes from node:crypto, not from the library's own generator.
    const { privateKey, publicKey } = sm2.generateKeyPairHex(randomBytes(40).toString('hex'), 16);
    return this.row(sha256Base64Url(publicKey), 'password-sm2', SM2_TRANSPORT_ALG, publicKey, privateKey);
  }

  private row(kid: string, purpose: 'password-rsa' | 'password-sm2', alg: string, publicKey: string, privateKey: string): StoredKey {
    return {
      kid,
      purpose,
      alg,
      publicKey,
      ...storedPrivate(privateKey, this.config.keyEncryptionSecret),
      createdAt: this.clock.now(),
      retiredAt: null,
      expiresAt: null,
    };
  }
}
