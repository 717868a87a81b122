/**
 * A minimal valid body for every JSON request of the admin API, by the name of its schema (the DTO
 * class). Swagger UI's "Try it out" sends exactly this, so each one is accepted as it stands:
 * test/e2e/openapi.e2e-spec.ts validates them against their schemas and sends every one of them to
 * a live instance. A JSON request body without an entry here fails that suite.
 */
export const REQUEST_EXAMPLES: Readonly<Record<string, { summary: string; value: Record<string, unknown> }>> = {
  // No client_id: the server generates one (and the secret), so clicking twice makes two clients.
  CreateClientDto: {
    summary: 'A backend calling APIs with client_credentials',
    value: { client_name: 'My backend', grant_types: ['client_credentials'], scope: 'api:read' },
  },
  UpdateClientDto: { summary: 'Rename a client', value: { client_name: 'My renamed backend' } },
  CreateUserDto: {
    summary: 'A user who logs in with a password',
    value: { username: 'alice', password: 'correct horse battery staple', email: 'alice@example.com', name: 'Alice Liddell' },
  },
  UpdateUserDto: { summary: 'Change profile claims', value: { name: 'Alice Pleasance Liddell', locale: 'en-GB' } },
  SetPasswordDto: {
    summary: 'An initial password the user must change',
    value: { password: 'a new initial password', password_is_initial: true, password_change_required: true },
  },
  PolicyDto: {
    summary: 'The default policy',
    value: { lockout_threshold: 5, lockout_duration_seconds: 900, password_max_age_days: 0, initial_password_ttl_hours: 72, refresh_token_grace_seconds: 0 },
  },
};

/**
 * Examples of the form bodies that have no grant to derive them from, by method and path. Client
 * authentication is not in them: Swagger UI sends it as HTTP Basic (the `client` scheme).
 */
export const FORM_EXAMPLES: Readonly<Record<string, Record<string, { summary: string; value: Record<string, string> }>>> = {
  'post /oauth2/introspect': {
    access_token: { summary: 'An access token', value: { token: 'an access token of this client', token_type_hint: 'access_token' } },
  },
  'post /oauth2/revoke': {
    refresh_token: { summary: 'A refresh token (ends its login session)', value: { token: 'a refresh token of this client', token_type_hint: 'refresh_token' } },
  },
  'post /oauth2/userinfo': { access_token: { summary: 'The access token in the body', value: { access_token: 'an access token with scope openid' } } },
  // The browser endpoints: what a relying party's auto-submitted form sends (their answers are pages and redirects).
  'post /oauth2/authorize': {
    code_flow: {
      summary: 'An authorization request with PKCE',
      value: {
        response_type: 'code',
        client_id: 'my-web-app',
        redirect_uri: 'https://app.example.com/callback',
        scope: 'openid profile',
        state: 'af0ifjsldkj',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      },
    },
  },
  'post /oauth2/logout': {
    rp_initiated: {
      summary: 'RP-initiated logout with a return address',
      value: { id_token_hint: 'the ID token the application received', post_logout_redirect_uri: 'https://app.example.com/', state: 'af0ifjsldkj' },
    },
  },
};
