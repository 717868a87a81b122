/**
 * The grant types Gatehouse implements, one handler each in src/grants. Client registration
 * validates `grant_types` against this list, which sits here because the Clients module may not
 * depend on the Grants module; the grant registry refuses to start unless its handlers are exactly
 * these, so the list cannot drift from the code.
 */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'password', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];
