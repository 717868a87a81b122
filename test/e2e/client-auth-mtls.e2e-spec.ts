import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApp, type TestApp } from '../support/app';
import { CertificateFactory, CLIENT_CERT_HEADER as CERT_HEADER, publicJwk, TLS_PROXY_ENV as PROXY_ENV, type TestCertificate } from '../support/certificates';
import { createClient, tokenRequest, unique, type CreatedClient } from '../support/fixtures';

const BAD_CLIENT = { error: 'invalid_client', error_description: 'Bad client credentials' };
const SUBJECT = '/C=DE/O=Example GmbH/OU=Payments/CN=billing.example.com';
const SUBJECT_DN = 'CN=billing.example.com,OU=Payments,O=Example GmbH,C=DE';

describe('Client authentication with certificates: tls_client_auth and self_signed_tls_client_auth (SPEC §3.2, RFC 8705)', () => {
  const certs = new CertificateFactory();
  let t: TestApp;
  let ca: TestCertificate;
  let clientCert: TestCertificate;
  let otherSubjectCert: TestCertificate;
  let selfSigned: TestCertificate;
  let selfSignedRsa: TestCertificate;
  let pkiClient: CreatedClient;
  let selfSignedClient: CreatedClient;

  const common = { scope: 'api:read', default_scope: 'api:read' };

  beforeAll(async () => {
    ca = certs.selfSigned('/O=Example GmbH/CN=Example Test CA', { keyType: 'rsa' });
    clientCert = certs.issued(ca, SUBJECT);
    otherSubjectCert = certs.issued(ca, '/C=DE/O=Example GmbH/OU=Payments/CN=intruder.example.com');
    selfSigned = certs.selfSigned('/CN=self-signed-client', { keyType: 'ed25519' });
    selfSignedRsa = certs.selfSigned('/CN=self-signed-rsa', { keyType: 'rsa' });
    t = await startApp({ env: PROXY_ENV });
    pkiClient = await createClient(t, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: SUBJECT_DN });
    selfSignedClient = await createClient(t, { ...common, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [await publicJwk(selfSigned)] } });
  });
  afterAll(async () => {
    await t.close();
    certs.remove();
  });

  function withCertificate(clientId: string | undefined, header: string | undefined, app: TestApp = t, extraHeaders: Record<string, string> = {}) {
    const req = app.http.post('/oauth2/token').type('form');
    if (header !== undefined) req.set(CERT_HEADER, header);
    for (const [name, value] of Object.entries(extraHeaders)) req.set(name, value);
    return req.send({ grant_type: 'client_credentials', ...(clientId ? { client_id: clientId } : {}) });
  }

  function expectBadClient(res: { status: number; body: unknown; headers: Record<string, string> }) {
    expect(res.status).toBe(401);
    expect(res.body).toEqual(BAD_CLIENT);
    expect(res.headers['www-authenticate']).toBeUndefined();
  }

  function expectToken(res: { status: number; body: Record<string, unknown> }) {
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
    expect(res.status).toBe(200);
  }

  describe('tls_client_auth', () => {
    it('accepts a certificate with the registered subject DN from a trusted proxy (URL-encoded PEM, as nginx sends it)', async () => {
      const res = await withCertificate(pkiClient.client_id, clientCert.escaped);
      expectToken(res);
      const token = JSON.parse(Buffer.from((res.body.access_token as string).split('.')[1], 'base64url').toString());
      expect(token).toMatchObject({ sub: pkiClient.client_id, client_id: pkiClient.client_id });
    });

    it('also reads base64 DER', async () => {
      expectToken(await withCertificate(pkiClient.client_id, clientCert.x509.raw.toString('base64')));
    });

    it.each([
      'c=de, o=example gmbh, ou=payments, cn=billing.example.com',
      '/C=DE/O=Example GmbH/OU=Payments/CN=billing.example.com',
      'CN = Billing.Example.COM , OU = Payments , O = Example  GmbH , C = DE',
    ])('compares the DN as attributes, ignoring order, case and extra whitespace: %j', async (dn) => {
      const client = await createClient(t, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: dn });
      expectToken(await withCertificate(client.client_id, clientCert.escaped));
    });

    it('refuses a certificate with another subject, even from the same CA', async () => {
      expectBadClient(await withCertificate(pkiClient.client_id, otherSubjectCert.escaped));
      const partial = await createClient(t, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=billing.example.com,O=Example GmbH,C=DE' });
      expectBadClient(await withCertificate(partial.client_id, clientCert.escaped));
    });

    it('refuses a request without a certificate, or with one that does not parse', async () => {
      expectBadClient(await withCertificate(pkiClient.client_id, undefined));
      expectBadClient(await withCertificate(pkiClient.client_id, 'garbage'));
      expectBadClient(await withCertificate(pkiClient.client_id, encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')));
      expectBadClient(await withCertificate(pkiClient.client_id, '%E0%A4%A'));
    });

    it('refuses the certificate for another client_id, and without client_id', async () => {
      const other = await createClient(t, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=someone.else' });
      expectBadClient(await withCertificate(other.client_id, clientCert.escaped));
      expectBadClient(await withCertificate('no-such-client', clientCert.escaped));
      expectBadClient(await withCertificate(undefined, clientCert.escaped));
    });

    it('refuses a certificate outside its validity period (application clock)', async () => {
      t.clock.advance(3 * 24 * 3600 * 1000);
      try {
        expectBadClient(await withCertificate(pkiClient.client_id, clientCert.escaped));
      } finally {
        t.clock.advance(-3 * 24 * 3600 * 1000);
      }
      expectToken(await withCertificate(pkiClient.client_id, clientCert.escaped));
    });

    it('a tls_client_auth client cannot use a secret, and has none', async () => {
      expect(pkiClient.client_secret).toBeUndefined();
      const [row] = await t.db.query('SELECT secret_digest, secret_encrypted FROM clients WHERE client_id = ?', [pkiClient.client_id]);
      expect(row).toEqual({ secret_digest: null, secret_encrypted: null });
      const basic = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: pkiClient.client_id, secret: 'x'.repeat(43) });
      expect(basic.status).toBe(401);
      expect(basic.body).toEqual(BAD_CLIENT);
    });

    it('authenticates at the introspection endpoint too', async () => {
      const issued = await withCertificate(pkiClient.client_id, clientCert.escaped);
      const res = await t.http
        .post('/oauth2/introspect')
        .set(CERT_HEADER, clientCert.escaped)
        .type('form')
        .send({ token: issued.body.access_token, client_id: pkiClient.client_id });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ active: true, client_id: pkiClient.client_id });
    });
  });

  describe('the certificate header is believed only from TRUSTED_PROXIES', () => {
    it('ignores it from any other peer (invalid_client), whatever X-Forwarded-For says', async () => {
      const elsewhere = await startApp({ env: { TRUSTED_PROXIES: '10.0.0.0/8', TRUSTED_CLIENT_CERT_HEADER: CERT_HEADER } });
      try {
        const client = await createClient(elsewhere, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: SUBJECT_DN });
        expectBadClient(await withCertificate(client.client_id, clientCert.escaped, elsewhere));
        expectBadClient(await withCertificate(client.client_id, clientCert.escaped, elsewhere, { 'X-Forwarded-For': '10.0.0.7' }));
      } finally {
        await elsewhere.close();
      }
    });

    it('ignores it when TRUSTED_CLIENT_CERT_HEADER is not set, and discovery leaves the methods out', async () => {
      const plain = await startApp({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
      try {
        const client = await createClient(plain, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: SUBJECT_DN });
        expectBadClient(await withCertificate(client.client_id, clientCert.escaped, plain));
        const discovery = await plain.http.get('/.well-known/openid-configuration');
        expect(discovery.body.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none']);
      } finally {
        await plain.close();
      }
    });

    it('with TRUSTED_CLIENT_CERT_VERIFY_HEADER, tls_client_auth needs the proxy to report a verified chain; self-signed does not', async () => {
      const verifying = await startApp({ env: { ...PROXY_ENV, TRUSTED_CLIENT_CERT_VERIFY_HEADER: 'X-SSL-Client-Verify' } });
      try {
        const pki = await createClient(verifying, { ...common, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: SUBJECT_DN });
        const self = await createClient(verifying, { ...common, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [await publicJwk(selfSigned)] } });
        expectToken(await withCertificate(pki.client_id, clientCert.escaped, verifying, { 'X-SSL-Client-Verify': 'SUCCESS' }));
        // nginx with ssl_verify_client optional_no_ca passes unverified certificates on: a self-made
        // certificate with the registered subject must not pass for tls_client_auth.
        const forged = certs.selfSigned(SUBJECT);
        expectBadClient(await withCertificate(pki.client_id, forged.escaped, verifying, { 'X-SSL-Client-Verify': 'FAILED:self signed certificate' }));
        expectBadClient(await withCertificate(pki.client_id, clientCert.escaped, verifying));
        expectToken(await withCertificate(self.client_id, selfSigned.escaped, verifying, { 'X-SSL-Client-Verify': 'FAILED:self signed certificate' }));
      } finally {
        await verifying.close();
      }
    });

    it('discovery lists the mutual-TLS methods when a trusted proxy can pass certificates on', async () => {
      const res = await t.http.get('/.well-known/openid-configuration');
      const methods = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none'];
      expect(res.body.token_endpoint_auth_methods_supported).toEqual(methods);
      // Public clients may not introspect (SPEC §4).
      expect(res.body.introspection_endpoint_auth_methods_supported).toEqual(methods.filter((method) => method !== 'none'));
      expect(res.body.revocation_endpoint_auth_methods_supported).toEqual(methods);
    });
  });

  describe('self_signed_tls_client_auth', () => {
    it('accepts the certificate whose public key is registered in jwks', async () => {
      expectToken(await withCertificate(selfSignedClient.client_id, selfSigned.escaped));
    });

    it('matches a registered x5c certificate, or its x5t#S256 thumbprint', async () => {
      const x5c = await createClient(t, {
        ...common,
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [await publicJwk(selfSignedRsa, { x5c: [selfSignedRsa.x509.raw.toString('base64')] })] },
      });
      expectToken(await withCertificate(x5c.client_id, selfSignedRsa.escaped));
      const thumbprint = createHash('sha256').update(selfSignedRsa.x509.raw).digest('base64url');
      const x5t = await createClient(t, {
        ...common,
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [await publicJwk(selfSignedRsa, { 'x5t#S256': thumbprint })] },
      });
      expectToken(await withCertificate(x5t.client_id, selfSignedRsa.escaped));
    });

    it('refuses a certificate whose key is not registered', async () => {
      expectBadClient(await withCertificate(selfSignedClient.client_id, selfSignedRsa.escaped));
      expectBadClient(await withCertificate(selfSignedClient.client_id, clientCert.escaped));
      expectBadClient(await withCertificate(selfSignedClient.client_id, undefined));
    });

    it('refuses a tls_client_auth certificate for a self-signed client and vice versa (the method is the registered one)', async () => {
      expectBadClient(await withCertificate(pkiClient.client_id, selfSigned.escaped));
      const both = await createClient(t, { ...common, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [await publicJwk(clientCert)] }, tls_client_auth_subject_dn: SUBJECT_DN });
      expectToken(await withCertificate(both.client_id, clientCert.escaped));
      const patched = await t.http
        .patch(`/admin/clients/${both.client_id}`)
        .auth(await t.adminToken(), { type: 'bearer' })
        .send({ token_endpoint_auth_method: 'tls_client_auth' });
      expect(patched.status).toBe(200);
      expectToken(await withCertificate(both.client_id, clientCert.escaped));
      expectBadClient(await withCertificate(both.client_id, otherSubjectCert.escaped));
    });

    it('reads the keys from jwks_uri', async () => {
      let hits = 0;
      const jwks = { keys: [await publicJwk(selfSigned)] };
      const server: Server = createServer((_req, res) => {
        hits++;
        res.end(JSON.stringify(jwks));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const client = await createClient(t, {
          ...common,
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks_uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
        });
        expectToken(await withCertificate(client.client_id, selfSigned.escaped));
        expectBadClient(await withCertificate(client.client_id, selfSignedRsa.escaped));
        // Cached; an unknown certificate asks for a fresh copy only once the cached one is 30 s old.
        expect(hits).toBe(1);
        t.clock.advance(31_000);
        jwks.keys.push(await publicJwk(selfSignedRsa));
        expectToken(await withCertificate(client.client_id, selfSignedRsa.escaped));
        expect(hits).toBe(2);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('other methods behind the same proxy', () => {
    it('a certificate does not count as a second credential: Basic, client_secret_post and public clients still work', async () => {
      const basic = await createClient(t, common);
      const res = await t.http
        .post('/oauth2/token')
        .set(CERT_HEADER, clientCert.escaped)
        .auth(basic.client_id, basic.client_secret!)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      expectToken(res);
      const post = await createClient(t, { ...common, token_endpoint_auth_method: 'client_secret_post' });
      const postRes = await t.http
        .post('/oauth2/token')
        .set(CERT_HEADER, clientCert.escaped)
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: post.client_id, client_secret: post.client_secret });
      expectToken(postRes);
      const publicClient = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://app.example/cb'] });
      const revoke = await t.http.post('/oauth2/revoke').set(CERT_HEADER, selfSigned.escaped).type('form').send({ token: 'unknown', client_id: publicClient.client_id });
      expect(revoke.status).toBe(200);
    });
  });

  describe('registration (admin API)', () => {
    const post = async (body: Record<string, unknown>) =>
      t.http
        .post('/admin/clients')
        .auth(await t.adminToken(), { type: 'bearer' })
        .send({ client_id: unique('mtls'), grant_types: ['client_credentials'], ...body });

    it('tls_client_auth needs tls_client_auth_subject_dn', async () => {
      const res = await post({ token_endpoint_auth_method: 'tls_client_auth' });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ tls_client_auth_subject_dn: ['tls_client_auth needs tls_client_auth_subject_dn'] });
    });

    it.each(['CN', 'FOO=bar', 'CN=a,', ''])('refuses the subject DN %j', async (dn) => {
      const res = await post({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: dn });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({
        tls_client_auth_subject_dn: ['tls_client_auth_subject_dn must be a distinguished name (RFC 4514), e.g. "CN=client,O=Example,C=DE"'],
      });
    });

    it('self_signed_tls_client_auth needs jwks or jwks_uri', async () => {
      const res = await post({ token_endpoint_auth_method: 'self_signed_tls_client_auth' });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ jwks: ["self_signed_tls_client_auth needs the client's public keys: jwks (with at least one key) or jwks_uri"] });
    });

    it('refuses a JWK whose x5c holds another key', async () => {
      const res = await post({
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [await publicJwk(selfSigned, { x5c: [selfSignedRsa.x509.raw.toString('base64')] })] },
      });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ jwks: ['jwks keys[0] x5c[0] does not hold the key of the JWK'] });
    });
  });
});
