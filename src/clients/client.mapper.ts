import type { Client } from './client.entity';
import type { ClientResponseDto } from './dto/client.dto';

export function toClientResponse(client: Client, secret?: string): ClientResponseDto {
  return {
    client_id: client.clientId,
    ...(secret ? { client_secret: secret } : {}),
    client_name: client.clientName,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: client.grantTypes,
    redirect_uris: client.redirectUris,
    allowed_cors_origins: client.allowedCorsOrigins ?? [],
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
    logout_revokes_refresh_tokens: client.logoutRevokesRefreshTokens,
    scope: client.scope,
    default_scope: client.defaultScope,
    jwks: client.jwks,
    jwks_uri: client.jwksUri,
    tls_client_auth_subject_dn: client.tlsClientAuthSubjectDn,
    require_pkce: client.requirePkce,
    require_mfa: client.requireMfa,
    trust_end_user_ip_header: client.trustEndUserIpHeader,
    allow_pkce_plain: client.allowPkcePlain,
    access_token_format: client.accessTokenFormat,
    access_token_ttl: client.accessTokenTtl,
    id_token_ttl: client.idTokenTtl,
    refresh_token_ttl: client.refreshTokenTtl,
    max_exchange_period_hours: client.maxExchangePeriodHours,
    refresh_token_without_offline_access: client.refreshTokenWithoutOfflineAccess,
    access_token_audience: client.accessTokenAudience,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    disabled: client.disabled,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  };
}
