import type { Client, GrantType } from '../clients/client.entity';
import type { OAuthParams } from '../oauth/form';
import type { TokenResponse } from '../tokens/tokens.service';

/** A token request after client authentication. */
export interface TokenRequest {
  params: OAuthParams;
  client: Client;
  ip: string;
}

/** One grant type (node-oidc-provider's lib/actions/grants/*): the token endpoint looks it up by name. */
export interface GrantHandler {
  readonly grantType: GrantType;
  /** The parameters this grant reads, for the OpenAPI description and the README. */
  readonly parameters: readonly string[];
  handle(request: TokenRequest): Promise<TokenResponse>;
}

export const GRANT_HANDLERS = Symbol('GRANT_HANDLERS');
