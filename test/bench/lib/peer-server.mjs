// The peer of `npm run bench:peer`: node-oidc-provider with its default in-memory adapter,
// configured for the token shapes Gatehouse issues in the compared scenarios:
// - client_credentials with an RS256 JWT access token (resource indicator urn:bench:api) or an
//   opaque one (urn:bench:opaque), client_secret_basic;
// - refresh_token with rotation on every use, answering a new RS256 JWT access token, a new
//   RS256 id_token and the new refresh token.
// It has no password grant, so the benchmark asks this process over IPC to mint refresh tokens
// through the provider's own models (a Grant and a RefreshToken, as an authorization code
// exchange would have saved them).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const API = 'urn:bench:api';
const OPAQUE = 'urn:bench:opaque';
const LOGIN_SCOPE = 'openid profile offline_access api';
const SECRET = process.env.PEER_CLIENT_SECRET;

const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'bench-service', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'api' },
    {
      client_id: 'bench-app',
      client_secret: SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/bench/callback'],
    },
  ],
  jwks: { keys: [{ ...signing, kid: 'bench-rs256', alg: 'RS256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  findAccount: (_ctx, accountId) => ({
    accountId,
    claims: () => ({ sub: accountId, name: 'Bench User', email: 'bench-user@example.com', email_verified: false }),
  }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf ?? API,
      // The refresh grant answers an access token for the granted API even though openid is in scope.
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== API && resource !== OPAQUE) throw new Error(`unknown resource ${resource}`);
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: resource === API ? 'jwt' : 'opaque',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // Every refresh rotates, as Gatehouse's does.
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    AuthorizationCode: 600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
  },
});

/** `count` refresh tokens, each of a new grant of LOGIN_SCOPE to the account "bench-user". */
async function mintRefreshTokens(count) {
  const client = await provider.Client.find('bench-app');
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const grant = new provider.Grant({ accountId: 'bench-user', clientId: client.clientId });
    grant.addOIDCScope('openid profile offline_access');
    grant.addResourceScope(API, 'api');
    const grantId = await grant.save();
    const refreshToken = new provider.RefreshToken({
      accountId: 'bench-user',
      client,
      grantId,
      gty: 'authorization_code',
      scope: LOGIN_SCOPE,
      resource: API,
      authTime: Math.floor(Date.now() / 1000),
      amr: ['pwd'],
    });
    tokens.push(await refreshToken.save());
  }
  return tokens;
}

process.on('message', (message) => {
  if (!message || message.bench !== true || message.target !== 'server') return;
  const reply = (body) => process.send({ bench: true, id: message.id, ...body });
  if (message.cmd !== 'mint-refresh') return reply({ error: `unknown command ${message.cmd}` });
  mintRefreshTokens(message.count).then(
    (tokens) => reply({ result: { tokens } }),
    (error) => reply({ error: String(error?.stack ?? error) }),
  );
});

provider.listen(port, '127.0.0.1');
