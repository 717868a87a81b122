import type { JWK } from 'jose';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';
import type { GrantType } from '../oauth/grant-types';
import type { AccessTokenFormat } from '../tokens/access-tokens.service';
import { originOf } from './origin';

/** Also the order in which client authentication tries them (client-auth-strategies.ts): `none` stays last. */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** The methods that authenticate with a client secret; clients of the others have none. */
export const SECRET_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];


/** Clock difference between instances tolerated by Client.predates. */
const REGISTRATION_CLOCK_SKEW_SECONDS = 5;

@Entity('clients')
export class Client {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'client_name', type: 'varchar', length: 255, nullable: true })
  clientName!: string | null;

  /** SHA-256 (or HMAC-SHA-256 with the pepper) of the secret, hex; null for public clients. */
  @Column({ name: 'secret_digest', type: 'varchar', length: 64, nullable: true })
  secretDigest!: string | null;

  /**
   * client_secret_jwt only: the secret itself, sealed with AES-256-GCM (client-secret-sealer.ts). The
   * client MACs its assertions with the secret, and a MAC can only be checked by someone holding it.
   */
  @Column({ name: 'secret_encrypted', type: 'text', nullable: true })
  secretEncrypted!: string | null;

  @Column({ name: 'token_endpoint_auth_method', type: 'varchar', length: 40 })
  tokenEndpointAuthMethod!: TokenEndpointAuthMethod;

  @Column({ name: 'grant_types', type: 'simple-json' })
  grantTypes!: GrantType[];

  @Column({ name: 'redirect_uris', type: 'simple-json' })
  redirectUris!: string[];

  /** Origins of browser apps besides those of the redirect URIs (SPEC §4 CORS); null in rows registered before it existed. */
  @Column({ name: 'allowed_cors_origins', type: 'simple-json', nullable: true })
  allowedCorsOrigins!: string[] | null;

  /** RP-Initiated Logout 1.0: where the logout endpoint may send the browser afterwards (exact match); null in older rows. */
  @Column({ name: 'post_logout_redirect_uris', type: 'simple-json', nullable: true })
  postLogoutRedirectUris!: string[] | null;

  /** Back-Channel Logout 1.0: where logout tokens are POSTed. */
  @Column({ name: 'backchannel_logout_uri', type: 'varchar', length: 2048, nullable: true })
  backchannelLogoutUri!: string | null;

  /** The client needs `sid` in logout tokens (Gatehouse always sends it). */
  @Column({ name: 'backchannel_logout_session_required', type: 'boolean', default: false })
  backchannelLogoutSessionRequired!: boolean;

  /** Ending a browser session (logout, admin) also ends this client's token families from it. */
  @Column({ name: 'logout_revokes_refresh_tokens', type: 'boolean', default: true })
  logoutRevokesRefreshTokens!: boolean;

  /** Space-separated scopes the client may request, custom ones included. */
  @Column({ type: 'text' })
  scope!: string;

  @Column({ name: 'default_scope', type: 'varchar', length: 1024 })
  defaultScope!: string;

  @Column({ type: 'simple-json', nullable: true })
  jwks!: { keys: JWK[] } | null;

  @Column({ name: 'jwks_uri', type: 'varchar', length: 2048, nullable: true })
  jwksUri!: string | null;

  @Column({ name: 'tls_client_auth_subject_dn', type: 'varchar', length: 1024, nullable: true })
  tlsClientAuthSubjectDn!: string | null;

  @Column({ name: 'require_pkce', type: 'boolean', default: false })
  requirePkce!: boolean;

  @Column({ name: 'require_mfa', type: 'boolean', default: false })
  requireMfa!: boolean;

  /**
   * A confidential client (a backend) trusted to forward its end user's address in
   * Gatehouse-End-User-IP: its failed password logins then also count per (client, address), and
   * audit events record that address (SPEC §3.3). Never for public clients.
   */
  @Column({ name: 'trust_end_user_ip_header', type: 'boolean', default: false })
  trustEndUserIpHeader!: boolean;

  @Column({ name: 'allow_pkce_plain', type: 'boolean', default: false })
  allowPkcePlain!: boolean;

  @Column({ name: 'access_token_format', type: 'varchar', length: 8, default: 'jwt' })
  accessTokenFormat!: AccessTokenFormat;

  @Column({ name: 'access_token_ttl', type: 'int', default: 3600 })
  accessTokenTtl!: number;

  @Column({ name: 'id_token_ttl', type: 'int', default: 3600 })
  idTokenTtl!: number;

  @Column({ name: 'refresh_token_ttl', type: 'int', default: 2592000 })
  refreshTokenTtl!: number;

  @Column({ name: 'max_exchange_period_hours', type: 'int', default: 4320 })
  maxExchangePeriodHours!: number;

  @Column({ name: 'refresh_token_without_offline_access', type: 'boolean', default: false })
  refreshTokenWithoutOfflineAccess!: boolean;

  @Column({ name: 'access_token_audience', type: 'varchar', length: 1024, nullable: true })
  accessTokenAudience!: string | null;

  @Column({ name: 'id_token_signed_response_alg', type: 'varchar', length: 8, default: 'RS256' })
  idTokenSignedResponseAlg!: string;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;

  get isPublic(): boolean {
    return this.tokenEndpointAuthMethod === 'none';
  }

  /**
   * Whether a token issued at `issuedAtSeconds` (its `iat`) predates this registration, and so was
   * issued to an earlier, deleted client with the same client_id. Stored tokens of a deleted client
   * are revoked with it; this covers JWTs, which cannot be recalled. A few seconds of clock difference
   * between instances are allowed, so that a token issued right after the registration always counts.
   */
  predates(issuedAtSeconds: number): boolean {
    return issuedAtSeconds < Math.floor(this.createdAt.getTime() / 1000) - REGISTRATION_CLOCK_SKEW_SECONDS;
  }

  /** Whether the client authenticates with a secret (else it is public, or uses keys or certificates). */
  get usesSecret(): boolean {
    return SECRET_AUTH_METHODS.includes(this.tokenEndpointAuthMethod);
  }

  /**
   * The origins whose browser apps may read this client's responses at the token, UserInfo and
   * revocation endpoints (SPEC §4): those of its http(s) redirect URIs plus its allowed_cors_origins.
   */
  corsOrigins(): Set<string> {
    const origins = new Set(this.allowedCorsOrigins ?? []);
    for (const uri of this.redirectUris) {
      const origin = originOf(uri);
      if (origin) origins.add(origin);
    }
    return origins;
  }

  allowedScopes(): Set<string> {
    return new Set(this.scope.split(' ').filter(Boolean));
  }
}
