import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/**
 * argon2id with OWASP's recommended parameters (19 MiB, t=2, p=1). @node-rs/argon2 runs the hash on
 * the libuv thread pool, off the event loop.
 */
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** A real argon2id hash of a random string: verifying against it costs what a real check costs. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`);
  return dummyHash;
}

export function isImportableHash(value: string): boolean {
  return /^\$argon2(id|i|d)\$/.test(value) || /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(value);
}

/** Verifies against argon2 (any variant) or an imported bcrypt hash. Never throws on a malformed hash. */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    if (storedHash.startsWith('$argon2')) return await verify(storedHash, password);
    if (/^\$2[aby]\$/.test(storedHash)) return await bcrypt.compare(password, storedHash);
  } catch {
    return false;
  }
  return false;
}

/** Whether a hash should be replaced by a fresh argon2id hash after the next successful login. */
export function needsRehash(storedHash: string): boolean {
  return !storedHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$');
}
