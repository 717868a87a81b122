import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CLIENT_ASSERTION_SIGNING_ALGS, confidentialClientAuthMethods, supportedClientAuthMethods } from '../client-auth/client-auth-methods';
import { AppConfig } from '../config/app-config';
import { GrantRegistry } from '../grants/grant-registry';
import { SIGNING_ALGS } from '../keys/keys.service';
import { ApiOtherMethodsRefused, endpointUrl, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { STANDARD_SCOPES } from '../oauth/scopes';
import { CLAIMS_BY_SCOPE, ID_TOKEN_CLAIMS } from '../users/claims';

/**
 * OIDC Discovery 1.0 and RFC 8414 metadata. Only what is implemented is advertised: grant types come
 * from the grant registry, endpoints from `endpoints` below.
 */
@ApiTags('OpenID Connect')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.discovery)
@Controller()
export class DiscoveryController {
  constructor(
    private readonly config: AppConfig,
    private readonly grants: GrantRegistry,
  ) {}

  @Get(OAUTH_ENDPOINTS.discovery.paths)
  @Header('Cache-Control', 'public, max-age=300')
  // Public metadata any browser app may read (SPEC §4 CORS); the same for every origin, so cacheable.
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({ summary: 'Discovery metadata (OIDC Discovery 1.0, RFC 8414)' })
  @ApiOkResponse({ description: 'Provider metadata' })
  metadata(): Record<string, unknown> {
    const issuer = this.config.issuer;
    const authMethods = supportedClientAuthMethods(this.config);
    return {
      issuer,
      authorization_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.authorization),
      token_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.token),
      jwks_uri: endpointUrl(issuer, OAUTH_ENDPOINTS.jwks),
      userinfo_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.userinfo),
      grant_types_supported: this.grants.grantTypes,
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'form_post'],
      prompt_values_supported: ['none', 'login'],
      code_challenge_methods_supported: ['S256', 'plain'],
      authorization_response_iss_parameter_supported: true,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      token_endpoint_auth_methods_supported: authMethods,
      token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_SIGNING_ALGS,
      scopes_supported: [...STANDARD_SCOPES],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...SIGNING_ALGS],
      claims_supported: [...ID_TOKEN_CLAIMS, ...new Set(Object.values(CLAIMS_BY_SCOPE).flat())],
      service_documentation: `${issuer}/docs`,
      introspection_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.introspection),
      // Public clients may not introspect (SPEC §4).
      introspection_endpoint_auth_methods_supported: confidentialClientAuthMethods(authMethods),
      introspection_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_SIGNING_ALGS,
      revocation_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.revocation),
      revocation_endpoint_auth_methods_supported: authMethods,
      revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_SIGNING_ALGS,
      // RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 (SPEC §5); front-channel logout is not offered.
      end_session_endpoint: endpointUrl(issuer, OAUTH_ENDPOINTS.endSession),
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      frontchannel_logout_supported: false,
      frontchannel_logout_session_supported: false,
    };
  }
}
