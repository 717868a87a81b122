/** The RFC 6749 §5.1 success body of the token endpoint (SPEC §3.8). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  refresh_expires_in?: number;
  id_token?: string;
}
