// The raw ceilings of the two operations that bound the token endpoint, measured in the same run
// and on the same machine as the scenarios (while the server idles): RS256 signatures as the
// service makes them (jose SignJWT with a CryptoKey from importPKCS8; WebCrypto signs on the libuv
// thread pool, so enough operations in flight use both cores), and argon2id verifications with
// @node-rs/argon2 at the service's parameters (also on the thread pool).
'use strict';

const ARGON2_ID = 2; // @node-rs/argon2 Algorithm.Argon2id
/** src/users/passwords.ts ARGON2_OPTIONS: OWASP's 19 MiB, t=2, p=1. Keep in step with it. */
const SERVICE_ARGON2 = { algorithm: ARGON2_ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

async function perSecond(seconds, inFlight, operation) {
  let done = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const started = process.hrtime.bigint();
  async function worker() {
    while (process.hrtime.bigint() < deadline) {
      await operation();
      done++;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function rs256SignsPerSecond(seconds) {
  const { SignJWT, exportPKCS8, generateKeyPair, importPKCS8 } = await import('jose');
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const key = await importPKCS8(await exportPKCS8(privateKey), 'RS256');
  const sign = () =>
    new SignJWT({ scope: 'api', client_id: 'bench' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'at+jwt' })
      .setIssuer('http://127.0.0.1')
      .setSubject('bench')
      .setAudience('api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti(String(Math.random()))
      .sign(key);
  await perSecond(0.5, 32, sign);
  return perSecond(seconds, 32, sign);
}

async function argon2VerifiesPerSecond(seconds) {
  const { hash, verify } = require('@node-rs/argon2');
  const stored = await hash('correct horse battery staple', SERVICE_ARGON2);
  const check = async () => {
    if (!(await verify(stored, 'correct horse battery staple'))) throw new Error('argon2 verify failed');
  };
  await perSecond(0.5, 16, check);
  return { perSecond: await perSecond(seconds, 16, check), parameters: stored.split('$')[3] };
}

module.exports = { rs256SignsPerSecond, argon2VerifiesPerSecond };
