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

const ARGON2_PHC = /^\$argon2(?:id|i|d)\$(?:v=(?:16|19)\$)?m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/**
 * Whether an administrator may import this hash (POST /admin/users `password_hash`): argon2 in PHC
 * form or bcrypt `$2a$/$2b$/$2y$`. The cost parameters are bounded, because every login with the
 * user verifies against them: a hash asking for gigabytes of memory or a bcrypt cost of 31 would
 * turn each attempt into a denial of service.
 */
export function isImportableHash(value: string): boolean {
  const argon2 = ARGON2_PHC.exec(value);
  if (argon2) {
    const [memoryKiB, time, lanes] = argon2.slice(1).map(Number);
    return memoryKiB >= 8 && memoryKiB <= 262144 && time >= 1 && time <= 16 && lanes >= 1 && lanes <= 16;
  }
  const bcryptHash = BCRYPT.exec(value);
  return !!bcryptHash && Number(bcryptHash[1]) >= 4 && Number(bcryptHash[1]) <= 14;
}

/**
 * Verifies against argon2 (any variant) or an imported bcrypt hash. Never throws on a malformed hash.
 * bcryptjs is pure JavaScript: its async compare yields to the event loop between rounds rather
 * than running on another thread, and it is only used until the first successful login re-hashes.
 */
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
