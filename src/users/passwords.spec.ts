import { Algorithm, hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { hashPassword, isImportableHash, needsRehash, verifyPassword } from './passwords';

describe('passwords', () => {
  it('hashes with argon2id at the OWASP parameters, which need no re-hash', async () => {
    const stored = await hashPassword('secret');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(needsRehash(stored)).toBe(false);
    expect(await verifyPassword(stored, 'secret')).toBe(true);
    expect(await verifyPassword(stored, 'Secret')).toBe(false);
  });

  it('verifies bcrypt $2a$/$2b$/$2y$ and other argon2 variants, and marks them for a re-hash', async () => {
    const b = bcrypt.hashSync('secret', 4);
    for (const stored of [b, b.replace('$2b$', '$2a$'), b.replace('$2b$', '$2y$'), await hash('secret', { algorithm: Algorithm.Argon2i })]) {
      expect(await verifyPassword(stored, 'secret')).toBe(true);
      expect(await verifyPassword(stored, 'wrong')).toBe(false);
      expect(needsRehash(stored)).toBe(true);
      expect(isImportableHash(stored)).toBe(true);
    }
  });

  it('never throws on a malformed or unknown hash', async () => {
    for (const stored of ['', 'plain', '$argon2id$broken', '$2b$04$short', '$1$md5$crypt']) {
      await expect(verifyPassword(stored, 'secret')).resolves.toBe(false);
    }
  });

  it('refuses to import hashes whose cost would make every login a denial of service', () => {
    const salt = 'c2FsdHNhbHRzYWx0';
    const digest = 'aGFzaGhhc2hoYXNoaGFzaA';
    expect(isImportableHash(`$argon2id$v=19$m=65536,t=3,p=4$${salt}$${digest}`)).toBe(true);
    expect(isImportableHash(`$argon2id$v=19$m=4194304,t=3,p=4$${salt}$${digest}`)).toBe(false);
    expect(isImportableHash(`$argon2id$v=19$m=65536,t=100,p=4$${salt}$${digest}`)).toBe(false);
    expect(isImportableHash(bcrypt.hashSync('x', 4).replace('$04$', '$15$'))).toBe(false);
    expect(isImportableHash(bcrypt.hashSync('x', 4).replace('$04$', '$03$'))).toBe(false);
    expect(isImportableHash('$1$md5$crypt')).toBe(false);
  });
});
