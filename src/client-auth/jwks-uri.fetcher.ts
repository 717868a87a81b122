import * as http from 'node:http';
import * as https from 'node:https';
import { Injectable } from '@nestjs/common';
import type { JSONWebKeySet } from 'jose';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { nonPublicLiteral, publicOnlyLookup } from '../common/ip-addresses';
import { publicJwks } from '../clients/client-jwks';

/** How long a fetched key set is used before it is fetched again. */
export const JWKS_URI_CACHE_MS = 5 * 60_000;
/** A key set younger than this is not fetched again for an unknown kid (a client cannot make us hammer its server). */
export const JWKS_URI_REFRESH_COOLDOWN_MS = 30_000;
const TIMEOUT_MS = 5_000;
const MAX_BYTES = 256 * 1024;
const MAX_CACHED_URIS = 1_000;

export class JwksFetchError extends Error {}

interface CachedKeySet {
  jwks: JSONWebKeySet;
  fetchedAtMs: number;
}

/**
 * Fetches the key sets behind clients' jwks_uri (RFC 7591 §2): GET only, no redirects, a 5 s
 * deadline and a 256 KiB limit, cached per URI for 5 minutes in this instance (the keys are public;
 * every instance fetches for itself). With JWKS_URI_BLOCK_PRIVATE=true the host must resolve only to
 * public addresses, checked on the addresses actually connected to, so DNS rebinding cannot slip
 * past the check.
 */
@Injectable()
export class JwksUriFetcher {
  private readonly cache = new Map<string, CachedKeySet>();
  private readonly inFlight = new Map<string, Promise<JSONWebKeySet>>();

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * The key set at `uri`, from the cache while it is fresh. `refresh` asks for a new copy (an
   * unknown kid: the client may have rotated its keys), granted once the cached one is 30 s old.
   */
  async get(uri: string, options: { refresh?: boolean } = {}): Promise<JSONWebKeySet> {
    const cached = this.cache.get(uri);
    const age = cached ? this.clock.nowMs() - cached.fetchedAtMs : Infinity;
    if (cached && age < JWKS_URI_CACHE_MS && !(options.refresh && age >= JWKS_URI_REFRESH_COOLDOWN_MS)) return cached.jwks;
    let pending = this.inFlight.get(uri);
    if (!pending) {
      pending = this.fetch(uri)
        .then((jwks) => {
          this.remember(uri, jwks);
          return jwks;
        })
        .finally(() => this.inFlight.delete(uri));
      this.inFlight.set(uri, pending);
    }
    return pending;
  }

  private remember(uri: string, jwks: JSONWebKeySet): void {
    this.cache.delete(uri);
    this.cache.set(uri, { jwks, fetchedAtMs: this.clock.nowMs() });
    if (this.cache.size > MAX_CACHED_URIS) this.cache.delete(this.cache.keys().next().value!);
  }

  private fetch(uri: string): Promise<JSONWebKeySet> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return Promise.reject(new JwksFetchError('not a URL'));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new JwksFetchError('not an http(s) URL'));
    const block = this.config.jwksUriBlockPrivate;
    const refused = block ? nonPublicLiteral(url) : null;
    if (refused) return Promise.reject(new JwksFetchError(refused.message));

    return new Promise<JSONWebKeySet>((resolve, reject) => {
      const client = url.protocol === 'https:' ? https : http;
      const request = client.request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/jwk-set+json, application/json' },
          agent: false,
          timeout: TIMEOUT_MS,
          ...(block ? { lookup: publicOnlyLookup } : {}),
        },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            reject(new JwksFetchError(`answered HTTP ${response.statusCode}`));
            return;
          }
          if (Number(response.headers['content-length']) > MAX_BYTES) {
            request.destroy(new JwksFetchError(`is larger than ${MAX_BYTES} bytes`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BYTES) request.destroy(new JwksFetchError(`is larger than ${MAX_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on('end', () => {
            try {
              const jwks = publicJwks(JSON.parse(Buffer.concat(chunks).toString('utf8')));
              if (!jwks) throw new JwksFetchError('is not a JWK Set');
              resolve(jwks);
            } catch (error) {
              reject(error instanceof JwksFetchError ? error : new JwksFetchError('is not JSON'));
            }
          });
          response.on('error', reject);
        },
      );
      // `timeout` only limits idle time; this bounds the whole exchange.
      const deadline = setTimeout(() => request.destroy(new JwksFetchError('timed out')), TIMEOUT_MS);
      deadline.unref();
      request.on('close', () => clearTimeout(deadline));
      request.on('timeout', () => request.destroy(new JwksFetchError('timed out')));
      request.on('error', (error) => reject(error instanceof JwksFetchError ? error : new JwksFetchError(error.message)));
      request.end();
    });
  }
}
