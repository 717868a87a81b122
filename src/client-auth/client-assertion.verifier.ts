import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import type { OAuthParams } from '../oauth/form';
import { endpointUrl, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { ReplayCacheService } from '../tokens/replay-cache.service';
import type { Client, TokenEndpointAuthMethod } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure, type ClientAuthFailureReason } from './client-auth-failure';

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** client_secret_jwt: HMAC with the client secret. */
export const CLIENT_SECRET_JWT_ALGS = ['HS256', 'HS384', 'HS512'];
/** private_key_jwt: a signature by a key in the client's jwks / jwks_uri. */
export const PRIVATE_KEY_JWT_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** An assertion may not be valid for longer than this from now (SPEC §3.2: "exp at most 5 min ahead"). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Allowed difference between the client's clock and ours, for exp, nbf and iat. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;
const MAX_JTI_LENGTH = 256;

/**
 * The `alg` of a presented client assertion, read without verifying anything (no I/O, so an
 * authenticator's matches() may use it); undefined when no JWT-bearer assertion is presented.
 */
export function presentedAssertionAlg(params: OAuthParams): string | undefined {
  const assertion = params.client_assertion;
  if (params.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE || assertion === undefined || assertion.split('.').length !== 3) return undefined;
  try {
    const { alg } = decodeProtectedHeader(assertion);
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RFC 7523 §3 checks shared by client_secret_jwt and private_key_jwt: which client the assertion is
 * from, its signature, its claims, and that its jti has not been used before on any instance.
 */
@Injectable()
export class ClientAssertionVerifier {
  private readonly logger = new Logger(ClientAssertionVerifier.name);

  constructor(
    private readonly clients: ClientsService,
    private readonly replayCache: ReplayCacheService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * The client the (not yet verified) assertion claims to come from: iss = sub = client_id, and the
   * client_id parameter, when sent, names the same client. Only clients registered for `method`
   * go further, so no key is fetched and no jti is spent for the wrong method.
   */
  async claimedClient(params: OAuthParams, method: TokenEndpointAuthMethod): Promise<Client> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(params.client_assertion);
    } catch {
      throw new ClientAuthFailure('malformed_credentials', { clientId: params.client_id });
    }
    const { iss, sub } = claims;
    if (typeof iss !== 'string' || iss !== sub) throw this.refused(`iss and sub differ or are missing`, { clientId: params.client_id });
    if (params.client_id !== undefined && params.client_id !== iss) throw this.refused('client_id does not match iss', { clientId: params.client_id });
    const client = await this.clients.findById(iss);
    if (!client) throw new ClientAuthFailure('unknown_client', { clientId: iss });
    if (client.tokenEndpointAuthMethod !== method) throw new ClientAuthFailure('wrong_method', { client, presented: method });
    return client;
  }

  /**
   * Verifies signature and claims with `key`; throws jose's errors (JWKSNoMatchingKey lets the
   * caller refresh a jwks_uri; see {@link failure}) or a ClientAuthFailure. Does not spend the jti:
   * see {@link consume}.
   */
  async verify(req: FastifyRequest, params: OAuthParams, client: Client, key: Uint8Array | JWTVerifyGetKey, algorithms: string[]): Promise<JWTPayload> {
    const options = {
      algorithms,
      issuer: client.clientId,
      subject: client.clientId,
      audience: this.audiences(req),
      currentDate: this.clock.now(),
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'jti'],
    };
    const { payload } = await verifyWithEveryMatchingKey(params.client_assertion, key, options);
    const now = this.clock.nowSeconds();
    if (payload.exp! > now + MAX_ASSERTION_LIFETIME_SECONDS + ASSERTION_CLOCK_SKEW_SECONDS) throw this.refused('exp is more than 5 minutes ahead', { client });
    if (payload.iat !== undefined && payload.iat > now + ASSERTION_CLOCK_SKEW_SECONDS) throw this.refused('iat is in the future', { client });
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH) {
      throw this.refused('jti is not a string of 1-256 characters', { client });
    }
    return payload;
  }

  /**
   * Spends the jti: one INSERT into the shared replay cache, kept until the assertion can no longer
   * pass the exp check anywhere (exp plus the clock skew allowance).
   */
  async consume(client: Client, payload: JWTPayload): Promise<void> {
    const key = `client_assertion:${client.clientId}:${payload.jti}`;
    const usedUntil = new Date((payload.exp! + ASSERTION_CLOCK_SKEW_SECONDS) * 1000);
    if (!(await this.replayCache.markUsed(key, usedUntil))) throw this.refused('jti was used before (replay)', { client }, 'replayed_assertion');
  }

  /**
   * RFC 7523 §3: the issuer, or the URL of the token endpoint (its aliases included); at the
   * introspection and revocation endpoints also their own URL. All built from ISSUER, as discovery is.
   */
  private audiences(req: FastifyRequest): string[] {
    const issuer = this.config.issuer;
    const endpoint = req.routeOptions?.url;
    return [...new Set([issuer, endpointUrl(issuer, OAUTH_ENDPOINTS.token), ...(endpoint ? [`${issuer}${endpoint}`] : [])])];
  }

  /** The failure for an error of jose's (or ours) from {@link verify}: an expired assertion is told apart. */
  failure(error: unknown, client: Client): ClientAuthFailure {
    if (error instanceof ClientAuthFailure) return error;
    return new ClientAuthFailure(error instanceof errors.JWTExpired ? 'expired_assertion' : 'invalid_assertion', { client });
  }

  private refused(why: string, details: { client?: Client; clientId?: string }, reason: ClientAuthFailureReason = 'invalid_assertion'): ClientAuthFailure {
    this.logger.debug(`Client assertion refused${details.client ? ` for "${details.client.clientId}"` : ''}: ${why}`);
    return new ClientAuthFailure(reason, details);
  }
}

/**
 * jwtVerify, except that when the assertion names no kid and several keys of the set fit its alg,
 * each is tried (jose leaves that to the caller).
 */
async function verifyWithEveryMatchingKey(token: string, key: Uint8Array | JWTVerifyGetKey, options: Parameters<typeof jwtVerify>[2]) {
  try {
    return await jwtVerify(token, key as JWTVerifyGetKey, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const candidate of error as unknown as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(token, candidate, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}
