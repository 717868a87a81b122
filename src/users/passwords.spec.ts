import { Algorithm, hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { hashPassword, importedHashProblem, isImportableHash, needsRehash, verifyPassword } from './passwords';

describe('passwords', () => {
  it('hashes with argon2id at the OWASP parameters, which need no re-hash', async () => {
    const stored = await hashPassword('secret');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(needsRehash(stored)).toBe(false);
    expect(await verifyPassword(stored, 'secret')).toBe(true);
    expect(await verifyPassword(stored, 'Secret')).toBe(false);
  });

  it('verifies bcrypt $2a$/$2b$/$2y$ and other argon2 variants, and marks them for a re-hash', async () => {
    const b = bcrypt.hashSync('secret', 10);
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
    expect(importedHashProblem(bcrypt.hashSync('x', 4).replace('$04$', '$15$'))).toBe('bcrypt cost 15 is above the maximum of 14');
    expect(isImportableHash('$1$md5$crypt')).toBe(false);
  });

  it('refuses to import hashes cheaper than the floor: bcrypt below cost 10, argon2 below every OWASP parameter set', () => {
    const salt = 'c2FsdHNhbHRzYWx0';
    const digest = 'aGFzaGhhc2hoYXNoaGFzaA';
    const argon2 = (params: string, variant = 'argon2id') => `$${variant}$v=19$${params}$${salt}$${digest}`;
    for (const cost of ['04', '09']) {
      expect(importedHashProblem(bcrypt.hashSync('x', 4).replace('$04$', `$${cost}$`))).toBe(`bcrypt cost ${Number(cost)} is below the minimum of 10`);
    }
    for (const cost of ['10', '12', '14']) expect(isImportableHash(bcrypt.hashSync('x', 4).replace('$04$', `$${cost}$`))).toBe(true);
    for (const ok of ['m=47104,t=1,p=1', 'm=19456,t=2,p=1', 'm=12288,t=3,p=1', 'm=9216,t=4,p=1', 'm=7168,t=5,p=1', 'm=65536,t=3,p=4']) {
      expect({ ok, problem: importedHashProblem(argon2(ok)) }).toEqual({ ok, problem: undefined });
      expect(isImportableHash(argon2(ok, 'argon2i'))).toBe(true);
    }
    for (const weak of ['m=47103,t=1,p=1', 'm=19455,t=2,p=1', 'm=19456,t=1,p=1', 'm=4096,t=3,p=1', 'm=7167,t=16,p=1', 'm=8,t=1,p=1']) {
      expect({ weak, problem: importedHashProblem(argon2(weak)) }).toEqual({ weak, problem: expect.stringMatching(/^argon2 parameters below the OWASP minimum/) });
    }
  });
});
