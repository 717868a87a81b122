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

/** bcrypt costs an imported hash may have: below 10 a wrong password answers measurably faster than an argon2id check (SPEC §3.3). */
export const BCRYPT_MIN_COST = 10;
const BCRYPT_MAX_COST = 14;

/**
 * OWASP's argon2 parameter sets (Password Storage Cheat Sheet), all equally strong: memory in KiB
 * and iterations. An imported argon2 hash must reach one of them (with at least one lane).
 */
export const ARGON2_OWASP_MINIMUMS: ReadonlyArray<{ memoryKiB: number; iterations: number }> = [
  { memoryKiB: 47104, iterations: 1 },
  { memoryKiB: 19456, iterations: 2 },
  { memoryKiB: 12288, iterations: 3 },
  { memoryKiB: 9216, iterations: 4 },
  { memoryKiB: 7168, iterations: 5 },
];

/**
 * Why an administrator may not import this hash (POST /admin/users `password_hash`), or undefined
 * when it may: argon2 in PHC form or bcrypt `$2a$/$2b$/$2y$`, with costs between a floor and a
 * ceiling. The floor, because until the first successful login re-hashes it, every failed check
 * against a cheap hash answers faster than one against argon2id, which tells an attacker which
 * users were imported and not yet seen (SPEC §3.3 refuses them rather than padding). The ceiling,
 * because every login with the user verifies against it: gigabytes of memory or a bcrypt cost of 31
 * would turn each attempt into a denial of service.
 */
export function importedHashProblem(value: string): string | undefined {
  const argon2 = ARGON2_PHC.exec(value);
  if (argon2) {
    const [memoryKiB, time, lanes] = argon2.slice(1).map(Number);
    if (memoryKiB > 262144 || time > 16 || lanes > 16) return 'argon2 parameters above m=262144, t=16, p=16 are refused (every login would verify against them)';
    if (lanes < 1 || !ARGON2_OWASP_MINIMUMS.some((min) => memoryKiB >= min.memoryKiB && time >= min.iterations)) {
      return 'argon2 parameters below the OWASP minimum are refused (at least m=19456,t=2, m=47104,t=1, m=12288,t=3, m=9216,t=4 or m=7168,t=5)';
    }
    return undefined;
  }
  const bcryptHash = BCRYPT.exec(value);
  if (bcryptHash) {
    const cost = Number(bcryptHash[1]);
    if (cost < BCRYPT_MIN_COST) return `bcrypt cost ${cost} is below the minimum of ${BCRYPT_MIN_COST}`;
    if (cost > BCRYPT_MAX_COST) return `bcrypt cost ${cost} is above the maximum of ${BCRYPT_MAX_COST}`;
    return undefined;
  }
  return `password_hash must be an argon2 PHC string or a bcrypt $2a$/$2b$/$2y$ hash (cost ${BCRYPT_MIN_COST}..${BCRYPT_MAX_COST})`;
}

export function isImportableHash(value: string): boolean {
  return importedHashProblem(value) === undefined;
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
