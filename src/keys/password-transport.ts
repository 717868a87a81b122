import { constants, privateDecrypt, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { sm2 } from 'sm-crypto';

/** `password_encrypt_type` values (SPEC §3.3): the password as typed, or encrypted for transport. */
export const PASSWORD_ENCRYPT_TYPES = ['none', 'rsa', 'sm2'] as const;
export type PasswordEncryptType = (typeof PASSWORD_ENCRYPT_TYPES)[number];

export function isPasswordEncryptType(value: string): value is PasswordEncryptType {
  return (PASSWORD_ENCRYPT_TYPES as readonly string[]).includes(value);
}

/** The longest password accepted inside an SM2 ciphertext, in bytes; RSA bounds it by the modulus. */
const SM2_MAX_PLAINTEXT = 1024;
/** C1 (x and y, 32 bytes each, without the 04 prefix) and C3 (SM3, 32 bytes), in hex digits. */
const SM2_C1_HEX = 128;
const SM2_C3_HEX = 64;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The password as text, or null when the decrypted bytes are not UTF-8. */
function utf8(bytes: Buffer | null): string | null {
  if (!bytes) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * base64 (or base64url) RSA ciphertext as the integer's bytes, left-padded to the modulus length:
 * JSEncrypt drops leading zero bytes. A form body with an unencoded "+" arrives with a space in
 * its place; base64 has no spaces, so it is put back.
 */
function rsaCiphertextBytes(value: string, modulusBytes: number): Buffer | null {
  const text = value.replace(/ /g, '+');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) || text.length > 2 * modulusBytes) return null;
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0 || bytes.length > modulusBytes) return null;
  return bytes.length === modulusBytes ? bytes : Buffer.concat([Buffer.alloc(modulusBytes - bytes.length), bytes]);
}

export interface RsaTransportKey {
  privateKey: KeyObject;
  /** node-forge's copy of the key, made on first use: only PKCS#1 v1.5 decryption needs it. */
  forgeKey(): forge.pki.rsa.PrivateKey;
}

/**
 * RSA-OAEP with SHA-256 (MGF1-SHA-256), by OpenSSL. With `allowPkcs1`, a ciphertext that is not
 * OAEP is tried as PKCS#1 v1.5 through node-forge: Node refuses that padding for private
 * decryption since CVE-2023-46809 (Marvin), and it is weaker — see the README.
 */
export function decryptRsaPassword(key: RsaTransportKey, ciphertext: string, allowPkcs1: boolean): string | null {
  const modulusBytes = (key.privateKey.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
  const bytes = rsaCiphertextBytes(ciphertext, modulusBytes);
  if (!bytes) return null;
  try {
    return utf8(privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, bytes));
  } catch {
    // Not OAEP under this key.
  }
  if (!allowPkcs1) return null;
  try {
    return utf8(Buffer.from(key.forgeKey().decrypt(bytes.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary'));
  } catch {
    return null;
  }
}

/**
 * SM2 public-key encryption (GB/T 32918.4) in C1C3C2 order, hex. C1 may come with or without the
 * uncompressed-point prefix 04; as an unprefixed C1 may itself start with the digits 04, both
 * readings are tried, and the C3 hash check decides.
 */
export function decryptSm2Password(privateKeyHex: string, ciphertext: string): string | null {
  const maxHex = SM2_C1_HEX + 2 + SM2_C3_HEX + 2 * SM2_MAX_PLAINTEXT;
  if (ciphertext.length % 2 !== 0 || ciphertext.length > maxHex || !/^[0-9a-fA-F]+$/.test(ciphertext)) return null;
  const readings = ciphertext.startsWith('04') ? [ciphertext.slice(2), ciphertext] : [ciphertext];
  for (const reading of readings) {
    if (reading.length < SM2_C1_HEX + SM2_C3_HEX + 2) continue;
    let plaintext: number[];
    try {
      // C1 is checked to be on the curve before it is used; a failed C3 check returns [].
      plaintext = sm2.doDecrypt(reading, privateKeyHex, 1, { output: 'array' });
    } catch {
      continue;
    }
    if (plaintext.length > 0) return utf8(Buffer.from(plaintext));
  }
  return null;
}
