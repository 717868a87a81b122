import type { Type } from '@nestjs/common';
import type { Client } from '../clients/client.entity';
import type { GrantType } from '../oauth/grant-types';
import type { GrantParameters, ParsedParameters } from './grant-parameters';
import type { TokenResponse } from './token-response';

/** A token request after client authentication and the parsing of its grant's parameters. */
export interface TokenRequest<P extends GrantParameters = GrantParameters> {
  params: ParsedParameters<P>;
  client: Client;
  /** The address audit events record: the end user's when the client may forward it (Gatehouse-End-User-IP), else the caller's. */
  ip: string;
  /** The end user's address, forwarded by a confidential client with trust_end_user_ip_header; never set for other clients. */
  endUserIp?: string;
}

/** One grant type (node-oidc-provider's lib/actions/grants/*): the token endpoint looks it up by name. */
export interface GrantHandler<P extends GrantParameters = GrantParameters> {
  handle(request: TokenRequest<P>): Promise<TokenResponse>;
}

/**
 * A grant handler class. Its grant_type and parameters are static, so that the OpenAPI body of the
 * token endpoint is built from them when the controller is declared, with no instance yet.
 */
export interface GrantClass<P extends GrantParameters = GrantParameters> extends Type<GrantHandler<P>> {
  readonly grantType: GrantType;
  readonly parameters: P;
  /**
   * A minimal valid request of this grant (the form fields besides grant_type and client
   * authentication), for the OpenAPI document's examples. grants.spec.ts parses it with the
   * grant's own parameters, so it cannot drift from what the grant accepts.
   */
  readonly example: Readonly<Record<string, string>>;
}
