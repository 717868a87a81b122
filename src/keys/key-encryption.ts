import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** A 256-bit key for one purpose (`info`), derived with HKDF-SHA-256 from KEY_ENCRYPTION_SECRET. */
export function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', info, 32));
}

/** AES-256-GCM under `key`, authenticated together with `aad` when given: "v1.<iv>.<tag>.<ciphertext>". */
export function seal(plaintext: string, key: Buffer, aad?: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** Opens a {@link seal}ed value; throws when the key, the aad or the value is not the one it was sealed with. */
export function unseal(sealed: string, key: Buffer, aad?: string): string {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined || rest.length > 0) throw new Error('Unrecognised encrypted key format');
  // A full 16-byte tag is required: GCM would otherwise accept truncated ones.
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
  if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

/** AES-256-GCM under a key derived (HKDF-SHA-256) from KEY_ENCRYPTION_SECRET: "v1.<iv>.<tag>.<ciphertext>". */
export function encryptPrivate(plaintext: string, secret: string): string {
  return seal(plaintext, deriveKey(secret, 'private-key-encryption'));
}

export function decryptPrivate(sealed: string, secret: string): string {
  return unseal(sealed, deriveKey(secret, 'private-key-encryption'));
}

/** The private part of a `keys` row as stored: sealed under KEY_ENCRYPTION_SECRET when one is set. */
export function storedPrivate(plaintext: string, secret: string | undefined): { privateKey: string; privateKeyEncrypted: boolean } {
  return secret ? { privateKey: encryptPrivate(plaintext, secret), privateKeyEncrypted: true } : { privateKey: plaintext, privateKeyEncrypted: false };
}

/** Opens the private part of a `keys` row; `label` ("Signing key", "Secret", ...) names it in the error. */
export function openStoredPrivate(
  row: { kid: string; privateKey: string; privateKeyEncrypted: boolean },
  secret: string | undefined,
  label: string,
): string {
  if (!row.privateKeyEncrypted) return row.privateKey;
  if (!secret) throw new Error(`${label} ${row.kid} is encrypted but KEY_ENCRYPTION_SECRET is not set`);
  try {
    return decryptPrivate(row.privateKey, secret);
  } catch {
    // AES-GCM says only "unable to authenticate data": name the likely cause instead.
    throw new Error(`${label} ${row.kid} cannot be decrypted: KEY_ENCRYPTION_SECRET is not the secret it was encrypted with`);
  }
}
