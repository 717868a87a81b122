import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import {
  calculateJwkThumbprint,
  CompactSign,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import type { StoredKey } from './signing-key.entity';
import { StoredKeysService } from './stored-keys.service';
import { openStoredPrivate, storedPrivate } from './key-encryption';

export const SIGNING_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/**
 * How long a retired key stays in the JWKS: longer than any token it can have signed (access and
 * id token lifetimes are capped at 24 hours by the admin API), plus clock skew.
 */
export const RETIRED_KEY_PUBLISH_SECONDS = 24 * 3600 + 300;

const utf8 = new TextEncoder();
/** The claims jose's SignJWT requires to be finite numbers when present (RFC 7519 NumericDate). */
const TIME_CLAIMS = ['iat', 'nbf', 'exp'] as const;

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  /** Imported once per kid, not per verification. */
  publicKey: CryptoKey | Uint8Array;
  privateKey: CryptoKey;
  current: boolean;
  /** When it was stored (epoch ms): a key signs only once every instance publishes it (signingKey). */
  createdMs: number;
}

/**
 * Signing keys: generated on first start (one per supported algorithm), kept in the database with
 * the private part encrypted when KEY_ENCRYPTION_SECRET is set, rotated through the admin API, and
 * re-read periodically so that every instance signs with, and publishes, the same keys.
 */
@Injectable()
export class KeysService implements OnModuleInit {
  private readonly logger = new Logger(KeysService.name);
  private keys = new Map<string, LoadedKey>();
  private loadedAt = 0;
  private loading?: Promise<void>;

  constructor(
    private readonly stored: StoredKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.ensureCurrentKeys();
  }

  /**
   * Signs a JWT with the current key of `alg`: a JWS in compact form over the claims' JSON, which is
   * what jose's SignJWT produces, byte for byte. jose's CompactSign is used instead because SignJWT
   * copies the claims with `structuredClone` and keys the copy in a WeakMap on every token, ~4 % of
   * the event-loop thread of a refresh (two tokens) and garbage for every collection. The copy only
   * guards a builder against later changes to the object it was given; every caller here builds the
   * claims for this one call. SignJWT's one check on them is kept.
   */
  async sign(payload: JWTPayload, options: { alg?: SigningAlg; typ?: string } = {}): Promise<string> {
    const key = await this.currentKey(options.alg ?? 'RS256');
    for (const claim of TIME_CLAIMS) {
      const value = payload[claim];
      if (value !== undefined && !Number.isFinite(value)) throw new TypeError(`"${claim}" claim must be a finite number`);
    }
    return new CompactSign(utf8.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: key.alg, kid: key.kid, ...(options.typ ? { typ: options.typ } : {}) })
      .sign(key.privateKey);
  }

  /** Verifies a JWT signed by one of our published keys; throws on any failure. */
  async verify(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = await this.publishedKey(header.kid);
        if (!key || key.alg !== header.alg) throw new Error('Unknown signing key');
        return key.publicKey;
      },
      { ...options, algorithms: [...SIGNING_ALGS], currentDate: this.clock.now() },
    );
    return payload;
  }

  /**
   * The JWKS: current keys and retired ones still within their publication window. Served from
   * memory like the keys themselves: read again once CACHE_TTL_SECONDS have passed (concurrent
   * requests share the read), at once on the instance that rotates. A rotation on another instance
   * is therefore published here within CACHE_TTL_SECONDS (docs/decisions.md); 0 reads it every time.
   */
  async jwks(): Promise<{ keys: JWK[] }> {
    try {
      await this.refreshIfStale();
    } catch (error) {
      // During a database outage the keys already read are still the right ones to publish:
      // relying parties keep verifying the tokens issued so far.
      if (this.keys.size === 0) throw error;
      this.logger.warn(`Serving the JWKS from memory: ${(error as Error).message}`);
    }
    if (this.jwksOf !== this.keys) {
      this.jwksDocument = { keys: [...this.keys.values()].map((k) => k.publicJwk) };
      this.jwksOf = this.keys;
    }
    return this.jwksDocument!;
  }

  /** The JWKS document built from `jwksOf`, the key set it was built from: rebuilt only when a reload replaced the set. */
  private jwksDocument?: { keys: JWK[] };
  private jwksOf?: Map<string, LoadedKey>;

  /**
   * Makes a new key current for every algorithm; the old ones stay published until their tokens
   * expire. Concurrent rotations (two admin calls, two instances) never leave an algorithm without a
   * current key: each inserts its key and then retires every current key but the newest, so the
   * newest survives whatever the interleaving, and once every rotation has finished exactly one key
   * per algorithm is current (StoredKeysService.retireAllButNewest).
   */
  async rotate(): Promise<{ kids: string[] }> {
    const kids: string[] = [];
    for (const alg of SIGNING_ALGS) {
      const fresh = await this.generate(alg);
      // Dated when stored, not when generated (RSA takes a while): the newest key is the last stored.
      fresh.createdAt = this.clock.now();
      // The new key first, then the older ones retired: an instance reading the keys in between
      // sees two current keys (and signs with the older) rather than none.
      await this.stored.insert(fresh);
      const expiresAt = new Date(this.clock.nowMs() + RETIRED_KEY_PUBLISH_SECONDS * 1000);
      await this.stored.retireAllButNewest('signing', alg, this.clock.now(), expiresAt);
      kids.push(fresh.kid);
    }
    await this.reload();
    return { kids };
  }

  private async currentKey(alg: SigningAlg): Promise<LoadedKey> {
    await this.refreshIfStale();
    const key = this.signingKey(alg) ?? (await this.ensureCurrentKeys(), this.signingKey(alg));
    if (!key) throw new Error(`No current ${alg} signing key`);
    return key;
  }

  /**
   * The key that signs for `alg`: the current one once every instance publishes it, that is once
   * CACHE_TTL_SECONDS have passed since it was stored (other instances serve their JWKS from a cache
   * that old at most); until then the key it replaced, still published, so that a relying party
   * never meets a token whose key some instance's JWKS lacks. The first key of an algorithm (no
   * predecessor) signs at once.
   */
  private signingKey(alg: SigningAlg): LoadedKey | undefined {
    let current: LoadedKey | undefined;
    let predecessor: LoadedKey | undefined;
    for (const key of this.keys.values()) {
      if (key.alg !== alg) continue;
      if (key.current) current = key;
      else if (!predecessor || key.createdMs > predecessor.createdMs) predecessor = key;
    }
    if (!current || !predecessor) return current;
    return current.createdMs + this.config.cacheTtlSeconds * 1000 <= this.clock.nowMs() ? current : predecessor;
  }

  /**
   * The published key `kid` names. A kid this instance does not know may be one another instance
   * has just rotated to: one primary-key lookup tells, and only then are the keys read again. (No
   * rate limit: an attacker sending unknown kids costs one indexed read each, like an unknown opaque
   * token; a time-based limit refused genuine tokens signed within that time after a rotation.)
   */
  private async publishedKey(kid: string | undefined): Promise<LoadedKey | undefined> {
    if (!kid || kid.length > 64) return undefined;
    await this.refreshIfStale();
    if (!this.keys.has(kid) && (await this.stored.exists(kid, 'signing'))) await this.reload();
    return this.keys.get(kid);
  }

  private async ensureCurrentKeys(): Promise<void> {
    await this.reload();
    const missing = SIGNING_ALGS.filter((alg) => ![...this.keys.values()].some((k) => k.current && k.alg === alg));
    if (missing.length === 0) return;
    for (const alg of missing) {
      await this.stored.insert(await this.generate(alg));
      this.logger.log(`Generated ${alg} signing key`);
    }
    await this.reload();
  }

  /** Keys are re-read every CACHE_TTL_SECONDS, so a rotation on another instance is signed with within it. */
  private async refreshIfStale(): Promise<void> {
    const age = this.clock.nowMs() - this.loadedAt;
    if (age < 0 || age >= this.config.cacheTtlSeconds * 1000) await this.reload();
  }

  private reload(): Promise<void> {
    // Concurrent callers share one database read.
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const now = this.clock.nowMs();
    const rows = await this.stored.list(['signing']);
    const next = new Map<string, LoadedKey>();
    const currentAlgs = new Set<string>();
    for (const row of rows) {
      if (row.retiredAt && row.expiresAt && row.expiresAt.getTime() <= now) continue;
      const alg = row.alg as SigningAlg;
      // Two instances starting together may both generate a key: all of them pick the oldest.
      const current = !row.retiredAt && !currentAlgs.has(alg);
      if (current) currentAlgs.add(alg);
      const cached = this.keys.get(row.kid);
      const publicJwk = cached?.publicJwk ?? (JSON.parse(row.publicKey) as JWK);
      next.set(row.kid, {
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: cached?.publicKey ?? (await importJWK(publicJwk, alg)),
        privateKey: cached?.privateKey ?? (await importPKCS8(this.openPrivate(row), alg)),
        current,
        createdMs: row.createdAt.getTime(),
      });
    }
    this.keys = next;
    this.loadedAt = now;
  }

  private openPrivate(row: StoredKey): string {
    return openStoredPrivate(row, this.config.keyEncryptionSecret, 'Signing key');
  }

  private async generate(alg: SigningAlg): Promise<StoredKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, {
      extractable: true,
      ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
      ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const pem = await exportPKCS8(privateKey);
    return {
      kid,
      purpose: 'signing',
      alg,
      publicKey: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }),
      ...storedPrivate(pem, this.config.keyEncryptionSecret),
      createdAt: this.clock.now(),
      retiredAt: null,
      expiresAt: null,
    };
  }
}
