// A relying party (a server-side web app) signing its users in with Gatehouse: OpenID Connect
// authorization code flow with PKCE, then UserInfo, with openid-client, the certified RP library.
//
//   GATEHOUSE_ISSUER=http://localhost:3000 CLIENT_ID=my-web-app CLIENT_SECRET=... node examples/express-rp/app.mjs
//
// See README.md beside this file for the client to register.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import express from 'express';
import * as oidc from 'openid-client';

const SCOPE = 'openid profile email';

/** Configuration from the environment; BASE_URL is where the browser reaches this app. */
export function settingsFromEnv(env = process.env) {
  const port = Number(env.PORT ?? 3001);
  return {
    issuer: env.GATEHOUSE_ISSUER ?? 'http://localhost:3000',
    clientId: env.CLIENT_ID ?? 'my-web-app',
    clientSecret: env.CLIENT_SECRET,
    port,
    baseUrl: env.BASE_URL ?? `http://localhost:${port}`,
  };
}

/**
 * Reads Gatehouse's discovery document once. Plain http is allowed for an issuer on this machine
 * only (a development setup); a real deployment's issuer is https.
 */
export async function discover(settings) {
  if (!settings.clientSecret) throw new Error('CLIENT_SECRET is required');
  const issuer = new URL(settings.issuer);
  const local = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
  return oidc.discovery(issuer, settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), local ? { execute: [oidc.allowInsecureRequests] } : undefined);
}

/**
 * The web app. Sessions live in memory behind a random cookie (use a session store in production).
 * Routes: / (who is signed in), /login, /callback, /me (the session as JSON), /logout.
 */
export function createRelyingParty(config, settings) {
  const sessions = new Map();
  const redirectUri = `${settings.baseUrl}/callback`;
  const app = express();

  // The session of the request, created on first use.
  app.use((req, res, next) => {
    const id = /(?:^|;\s*)rp_session=([A-Za-z0-9_-]{43})/.exec(req.headers.cookie ?? '')?.[1];
    if (id && sessions.has(id)) {
      req.session = sessions.get(id);
    } else {
      const fresh = randomBytes(32).toString('base64url');
      req.session = {};
      sessions.set(fresh, req.session);
      res.cookie('rp_session', fresh, { httpOnly: true, sameSite: 'lax', secure: settings.baseUrl.startsWith('https:') });
    }
    next();
  });

  app.get('/', (req, res) => {
    const user = req.session.user;
    res.type('html').send(
      user
        ? `<p>Signed in as ${escapeHtml(user.preferred_username ?? user.sub)}</p><p><a href="/logout">Sign out</a></p>`
        : '<p><a href="/login">Sign in with Gatehouse</a></p>',
    );
  });

  // Step 1: send the browser to Gatehouse's authorization endpoint, with PKCE (S256), state and nonce.
  app.get('/login', async (req, res) => {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const login = { codeVerifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
    req.session.login = login;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    res.redirect(url.href);
  });

  // Step 2: Gatehouse sends the browser back with a code; redeem it (the ID token is verified), then read UserInfo.
  app.get('/callback', async (req, res) => {
    const login = req.session.login;
    if (!login) return res.status(400).type('text').send('No sign-in in progress');
    delete req.session.login;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, settings.baseUrl), {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      req.session.user = userinfo;
      req.session.idToken = tokens.id_token;
      req.session.idTokenClaims = claims;
      res.redirect('/');
    } catch (error) {
      res.status(502).type('text').send(`Sign-in failed: ${error.error ?? error.code ?? error.message}`);
    }
  });

  app.get('/me', (req, res) => {
    if (!req.session.user) return res.status(401).json({ signed_in: false });
    res.json({ signed_in: true, userinfo: req.session.user, id_token_claims: req.session.idTokenClaims });
  });

  // Sign out here, then at Gatehouse too when it offers RP-initiated logout (end_session_endpoint).
  app.get('/logout', (req, res) => {
    const idToken = req.session.idToken;
    for (const key of Object.keys(req.session)) delete req.session[key];
    if (idToken && config.serverMetadata().end_session_endpoint) {
      return res.redirect(oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${settings.baseUrl}/` }).href);
    }
    res.redirect('/');
  });

  return app;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Run directly: discover, then listen.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const settings = settingsFromEnv();
  const config = await discover(settings);
  createRelyingParty(config, settings).listen(settings.port, '127.0.0.1', () => {
    console.log(`Relying party at ${settings.baseUrl} (issuer ${config.serverMetadata().issuer})`);
  });
}
