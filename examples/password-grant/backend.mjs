// A backend (a trusted first-party service) logging a user in with the resource owner password
// grant, refreshing the tokens, and reading UserInfo, with openid-client.
//
//   GATEHOUSE_ISSUER=http://localhost:3000 CLIENT_ID=my-backend CLIENT_SECRET=... \
//   LOGIN_USERNAME=alice LOGIN_PASSWORD='correct horse battery staple' node examples/password-grant/backend.mjs
//
// It prints one JSON object: what each step returned (tokens shortened, never printed in full).
import * as oidc from 'openid-client';

const env = process.env;
for (const name of ['CLIENT_SECRET', 'LOGIN_USERNAME', 'LOGIN_PASSWORD']) {
  if (!env[name]) throw new Error(`${name} is required`);
}
const issuer = new URL(env.GATEHOUSE_ISSUER ?? 'http://localhost:3000');
// Plain http only for an issuer on this machine (development); a real deployment's issuer is https.
const local = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
const config = await oidc.discovery(
  issuer,
  env.CLIENT_ID ?? 'my-backend',
  undefined,
  oidc.ClientSecretBasic(env.CLIENT_SECRET),
  local ? { execute: [oidc.allowInsecureRequests] } : undefined,
);

const short = (token) => (token ? `${token.slice(0, 8)}…` : undefined);

// 1. Log in: the password grant (RFC 6749 §4.3); offline_access asks for a refresh token.
const login = await oidc.genericGrantRequest(config, 'password', {
  username: env.LOGIN_USERNAME,
  password: env.LOGIN_PASSWORD,
  scope: env.SCOPE ?? 'openid profile offline_access',
});

// 2. Refresh: the refresh token is rotated, the old one is spent.
const refreshed = await oidc.refreshTokenGrant(config, login.refresh_token);

// 3. Who is it: UserInfo with the new access token, checked against the ID token's sub.
const sub = login.claims()?.sub;
const userinfo = await oidc.fetchUserInfo(config, refreshed.access_token, sub ?? oidc.skipSubjectCheck);

console.log(
  JSON.stringify({
    login: { token_type: login.token_type, scope: login.scope, expires_in: login.expires_in, access_token: short(login.access_token), refresh_token: short(login.refresh_token), sub },
    refresh: { rotated: refreshed.refresh_token !== login.refresh_token, access_token: short(refreshed.access_token), expires_in: refreshed.expires_in },
    userinfo,
  }),
);
