import { Logger } from '@nestjs/common';
import { decodeProtectedHeader, importPKCS8, SignJWT, type CryptoKey } from 'jose';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { KeysService, SIGNING_ALGS, type SigningAlg } from './keys.service';
import type { StoredKey } from './signing-key.entity';
import type { StoredKeysService } from './stored-keys.service';

/** The rows KeysService reads and writes, in memory: only what signing needs. */
function memoryStore(): { store: StoredKeysService; rows: StoredKey[] } {
  const rows: StoredKey[] = [];
  const store = {
    insert: async (key: StoredKey) => void rows.push(key),
    list: async () => [...rows],
    exists: async (kid: string) => rows.some((row) => row.kid === kid),
  } as unknown as StoredKeysService;
  return { store, rows };
}

/**
 * KeysService.sign builds the JWS with jose's CompactSign over the claims' JSON (issue 8: SignJWT's
 * structuredClone of the claims cost ~4 % of a refresh's event-loop time). The tokens must be the
 * ones SignJWT makes: RS256 and EdDSA signatures are deterministic, so the bytes are compared whole.
 */
describe('KeysService.sign', () => {
  const { store, rows } = memoryStore();
  const keys = new KeysService(store, { cacheTtlSeconds: 5 } as AppConfig, new Clock());
  const privateKeys = new Map<SigningAlg, { kid: string; key: CryptoKey }>();
  const claims = { iss: 'https://issuer.example', sub: 'user-1', aud: ['api', 'client-1'], iat: 1_800_000_000, exp: 1_800_000_300, scope: 'openid api:read', jti: 'j-1', nested: { a: [1, 'two'] } };

  beforeAll(async () => {
    Logger.overrideLogger(false);
    await keys.onModuleInit();
    for (const row of rows) privateKeys.set(row.alg as SigningAlg, { kid: row.kid, key: await importPKCS8(row.privateKey, row.alg) });
    expect([...privateKeys.keys()].sort()).toEqual([...SIGNING_ALGS].sort());
  });

  it.each(['RS256', 'EdDSA'] as const)('%s: the same bytes as jose SignJWT, typ included', async (alg) => {
    const { kid, key } = privateKeys.get(alg)!;
    const token = await keys.sign(claims, { alg, typ: 'at+jwt' });
    const expected = await new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'at+jwt' }).sign(key);
    expect(token).toBe(expected);
    expect(await keys.sign(claims, { alg })).toBe(await new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key));
  });

  it('ES256: the same header and claims as SignJWT, a signature that verifies', async () => {
    const { kid, key } = privateKeys.get('ES256')!;
    const token = await keys.sign(claims, { alg: 'ES256' });
    const expected = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
    expect(token.split('.').slice(0, 2)).toEqual(expected.split('.').slice(0, 2));
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid });
    const now = Math.floor(Date.now() / 1000);
    const current = await keys.sign({ ...claims, iat: now, exp: now + 60 }, { alg: 'ES256' });
    expect(await keys.verify(current, { issuer: 'https://issuer.example', audience: 'client-1' })).toMatchObject({ ...claims, iat: now, exp: now + 60 });
  });

  it('verifies its own tokens and rejects a changed one', async () => {
    const token = await keys.sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 60, iat: Math.floor(Date.now() / 1000) });
    expect(await keys.verify(token, { audience: 'api' })).toMatchObject({ sub: 'user-1', scope: 'openid api:read' });
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`;
    await expect(keys.verify(forged, {})).rejects.toThrow('signature verification failed');
  });

  it('refuses a time claim that is not a finite number, as SignJWT does', async () => {
    for (const claim of ['iat', 'nbf', 'exp'] as const) {
      await expect(keys.sign({ ...claims, [claim]: Number.NaN })).rejects.toThrow(`"${claim}" claim must be a finite number`);
      await expect(keys.sign({ ...claims, [claim]: Number.POSITIVE_INFINITY })).rejects.toThrow(TypeError);
    }
  });
});
