import Ajv from 'ajv';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, unique } from '../support/fixtures';

type Schema = Record<string, unknown>;
interface MediaType {
  schema: Schema;
  examples?: Record<string, { summary?: string; value: Record<string, unknown> }>;
}
interface Operation {
  operationId?: string;
  description?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  parameters?: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: Record<string, MediaType> };
  'x-aliases'?: string[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
}

/** Every (path, method, operation) of the document. */
const operationsOf = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

/** Every value of the document with the JSON path leading to it. */
function* walk(value: unknown, path = ''): Generator<[string, unknown]> {
  yield [path, value];
  if (value && typeof value === 'object') for (const [key, child] of Object.entries(value)) yield* walk(child, `${path}/${key}`);
}

/**
 * Issue 12 item 2: the OpenAPI document works by clicking. Its examples are valid (against their
 * own schemas, and when sent to the live server), aliases and 405s are out of the operation list,
 * union-typed properties have their real type, and an oauth2 scheme fetches the admin token.
 */
describe('OpenAPI document (/docs-json)', () => {
  let t: TestApp;
  let doc: Document;
  let ajv: Ajv;

  beforeAll(async () => {
    t = await startApp();
    const res = await t.http.get('/docs-json');
    expect(res.status).toBe(200);
    doc = res.body as Document;
    // OpenAPI 3.0 schemas are JSON Schema with a few extra keywords (nullable is Ajv's own; example, x-…).
    ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Validates `value` against an OpenAPI schema of this document ($refs resolved within it). */
  const validate = (schema: Schema, value: unknown) => {
    const check = ajv.compile({ allOf: [schema], components: doc.components });
    return check(value) ? [] : check.errors!.map((e) => `${e.instancePath} ${e.message}`);
  };

  describe('the operation list', () => {
    it('has no alias paths: each alias is named by its canonical operation', () => {
      for (const alias of ['/oidc/token', '/api/v1/oauth2/token', '/oidc/me', '/oidc/auth', '/.well-known/jwks.json', '/.well-known/oauth-authorization-server']) {
        expect(doc.paths[alias]).toBeUndefined();
      }
      expect(doc.paths['/oauth2/token'].post['x-aliases']).toEqual(['/oidc/token', '/api/v1/oauth2/token']);
      expect(doc.paths['/oauth2/token'].post.operationId).toBe('TokenController_token');
      expect(doc.paths['/oauth2/token'].post.description).toContain('Also answers at `/oidc/token`, `/api/v1/oauth2/token`. Other methods than POST: 405.');
      expect(doc.paths['/oauth2/userinfo'].get['x-aliases']).toEqual(['/oidc/me']);
      expect(doc.paths['/.well-known/openid-configuration'].get['x-aliases']).toEqual(['/.well-known/oauth-authorization-server']);
      expect(doc.paths['/oauth2/introspect'].post['x-aliases']).toBeUndefined();
      expect(doc.paths['/oauth2/introspect'].post.description).toMatch(/\n\nOther methods than POST: 405\.$/);
    });

    it('has no 405 entries and no operationId with a route index', () => {
      for (const { path, method, operation } of operationsOf(doc)) {
        expect({ path, method, responses: Object.keys(operation.responses) }).toEqual({ path, method, responses: expect.not.arrayContaining(['405']) });
        expect(operation.operationId).not.toMatch(/\[\d+\]$/);
      }
      const ids = operationsOf(doc).map(({ operation }) => operation.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(doc.paths['/oauth2/token'].options.operationId).toBe('PreflightController_preflight_oauth2_token');
    });

    it('every alias still answers as its canonical path does', async () => {
      const res = await t.http.post('/oidc/token').auth(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET).type('form').send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(200);
      expect((await t.http.get('/.well-known/jwks.json')).status).toBe(200);
    });
  });

  describe('types', () => {
    it('has no empty schema and no property typed object that is not one', () => {
      const problems: string[] = [];
      for (const [path, value] of walk(doc)) {
        if (!/\/schema$|\/properties\/[^/]+$|\/items$/.test(path) || !value || typeof value !== 'object') continue;
        const schema = value as Schema;
        if (Object.keys(schema).length === 0) problems.push(`${path}: {}`);
        const untypedObject =
          schema.type === 'object' && !schema.properties && !schema.additionalProperties && !schema.allOf && !schema.oneOf && !schema.$ref;
        if (untypedObject) problems.push(`${path}: type object without properties`);
      }
      expect(problems).toEqual([]);
    });

    it('types nullable fields with their real type', () => {
      const { CreateClientDto, ClientResponseDto, CreateUserDto, UpdateUserDto, UserResponseDto } = doc.components.schemas as Record<string, { properties: Record<string, Schema> }>;
      expect(CreateClientDto.properties.jwks_uri).toMatchObject({ type: 'string', nullable: true });
      expect(CreateClientDto.properties.client_name).toMatchObject({ type: 'string', nullable: true });
      expect(CreateClientDto.properties.jwks).toMatchObject({ type: 'object', nullable: true });
      expect(ClientResponseDto.properties.jwks_uri).toMatchObject({ type: 'string', nullable: true });
      expect(CreateUserDto.properties.username).toMatchObject({ type: 'string', nullable: true });
      expect(CreateUserDto.properties.password_expires_at).toMatchObject({ type: 'string', nullable: true });
      expect(UpdateUserDto.properties.name).toMatchObject({ type: 'string', nullable: true });
      expect(UserResponseDto.properties.email).toMatchObject({ type: 'string', nullable: true });
    });
  });

  describe('security', () => {
    it('has an oauth2 client-credentials scheme whose token URL is the token endpoint, on every admin operation', () => {
      expect(doc.components.securitySchemes.admin_client).toEqual({
        type: 'oauth2',
        description: expect.any(String),
        flows: { clientCredentials: { tokenUrl: `${ISSUER}/oauth2/token`, scopes: { admin: 'The admin API' } } },
      });
      const admin = operationsOf(doc).filter(({ path }) => path.startsWith('/admin/'));
      expect(admin.length).toBeGreaterThanOrEqual(18);
      for (const { path, method, operation } of admin) {
        expect({ path, method, security: operation.security }).toEqual({ path, method, security: [{ admin_client: ['admin'] }, { admin: [] }] });
      }
    });

    it('Swagger UI starts Authorize with the admin scope ticked', async () => {
      const init = await t.http.get('/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.text).toMatch(/initOAuth\(customOptions\.initOAuth\)/);
      expect(init.text.replace(/\s/g, '')).toContain('"initOAuth":{"scopes":["admin"]}');
    });

    it("issues an admin token for exactly the request Swagger UI's Authorize sends (client_secret_basic, scope=admin)", async () => {
      const res = await t.http
        .post('/oauth2/token')
        .set('Authorization', `Basic ${Buffer.from(`${ADMIN_CLIENT_ID}:${ADMIN_CLIENT_SECRET}`).toString('base64')}`)
        .set('X-Requested-With', 'XMLHttpRequest')
        .type('form')
        .send('grant_type=client_credentials&scope=admin');
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('admin');
      expect((await t.http.get('/admin/clients').auth(res.body.access_token, { type: 'bearer' })).status).toBe(200);
    });

    it('tells Swagger UI users to percent-encode special characters, which the server decodes (RFC 6749 §2.3.1)', async () => {
      const schemes = (doc as unknown as { components: { securitySchemes: Record<string, { description: string }> } }).components.securitySchemes;
      for (const name of ['admin_client', 'client']) expect(schemes[name].description).toContain('percent-encoded (RFC 6749 §2.3.1)');
      expect((doc as unknown as { info: { description: string } }).info.description).toContain('percent-encoded (`%25`, `%2B`, `%3A`, ...)');
      const id = unique('swagger+ui:%id');
      const secret = 'a secret with + and : and % and ü, 32 characters or more';
      await createClient(t, { client_id: id, client_secret: secret, scope: 'api:read', default_scope: 'api:read' });
      const withBasic = (user: string, password: string) =>
        t.http
          .post('/oauth2/token')
          .set('Authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)
          .type('form')
          .send('grant_type=client_credentials');
      // As entered percent-encoded in the dialog: accepted.
      expect((await withBasic(encodeURIComponent(id), encodeURIComponent(secret))).status).toBe(200);
      // As typed: the id's ":" and "+" and the secret's "%" mean something else.
      expect((await withBasic(id, secret)).status).toBe(401);
    });
  });

  describe('request bodies', () => {
    it('every request body has an example, and every example validates against its schema', () => {
      const problems: string[] = [];
      let checked = 0;
      for (const { path, method, operation } of operationsOf(doc)) {
        for (const [mediaType, media] of Object.entries(operation.requestBody?.content ?? {})) {
          const where = `${method} ${path} ${mediaType}`;
          if (!media.examples || Object.keys(media.examples).length === 0) problems.push(`${where}: no example`);
          for (const [name, example] of Object.entries(media.examples ?? {})) {
            checked++;
            for (const error of validate(media.schema, example.value)) problems.push(`${where} example ${name}: ${error}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(checked).toBeGreaterThanOrEqual(15);
    });

    it('every property example validates against its property', () => {
      const problems: string[] = [];
      for (const [path, value] of walk(doc)) {
        if (!/\/properties\/[^/]+$/.test(path) || !value || typeof value !== 'object' || !('example' in value)) continue;
        const { example, ...schema } = value as Schema;
        // An empty form field: Swagger UI starts it empty and leaves it out of the request.
        if (example === '' && path.includes('/x-www-form-urlencoded/')) continue;
        for (const error of validate(schema, example)) problems.push(`${path}: ${error}`);
      }
      expect(problems).toEqual([]);
    });

    it('the token form starts with grant_type=client_credentials and every other field empty (no "string" placeholders)', () => {
      const schema = doc.paths['/oauth2/token'].post.requestBody!.content['application/x-www-form-urlencoded'].schema as { properties: Record<string, Schema> };
      const prefilled = Object.entries(schema.properties).filter(([name, property]) => name !== 'grant_type' && property.example !== '');
      expect(prefilled).toEqual([]);
      expect(schema.properties.grant_type).toMatchObject({ type: 'string', enum: ['client_credentials', 'password', 'authorization_code', 'refresh_token'] });
      expect(schema.properties.grant_type.example).toBeUndefined();
      for (const name of ['code', 'redirect_uri', 'code_verifier', 'refresh_token', 'username', 'password', 'scope', 'client_id', 'client_secret']) {
        expect(schema.properties[name]).toMatchObject({ type: 'string', example: '' });
      }
      expect(schema.properties.token_format.enum).toEqual(['jwt', 'opaque']);
      expect(schema.properties.password_encrypt_type.enum).toEqual(['none', 'rsa', 'sm2']);
      expect(schema.properties.client_assertion_type.enum).toEqual(['urn:ietf:params:oauth:client-assertion-type:jwt-bearer']);
      // Swagger UI shows a form field's choices only in "Try it out": the description names them.
      expect(schema.properties.token_format.description).toMatch(/\. One of `jwt`, `opaque`\.$/);
      expect(schema.properties.grant_type.description).toBe('One of `client_credentials`, `password`, `authorization_code`, `refresh_token`.');
      expect(doc.paths['/oauth2/token'].post.description).toContain('- `authorization_code` reads `code`, `redirect_uri`, `code_verifier`');
    });

    it('the token endpoint has one example per grant, and discovery advertises exactly those grants', async () => {
      const examples = doc.paths['/oauth2/token'].post.requestBody!.content['application/x-www-form-urlencoded'].examples!;
      const discovery = await t.http.get('/.well-known/openid-configuration');
      expect(Object.keys(examples).sort()).toEqual([...discovery.body.grant_types_supported].sort());
      for (const [grant, example] of Object.entries(examples)) expect(example.value.grant_type).toBe(grant);
    });

    it('every example, sent as Swagger UI sends it, succeeds on the live server', async () => {
      const admin = await t.adminToken();
      const bearer = { type: 'bearer' } as const;
      const example = (path: string, method: string) => {
        const media = Object.values(doc.paths[path][method].requestBody!.content)[0];
        return Object.values(media.examples!)[0].value;
      };
      const sent: string[] = [];
      const send = async (method: 'post' | 'patch' | 'put', path: string, templated: string, body: Record<string, unknown>) => {
        sent.push(`${method} ${templated}`);
        const res = await t.http[method](path).auth(admin, bearer).send(body);
        const documented = Object.keys(doc.paths[templated][method].responses).filter((status) => status.startsWith('2'));
        expect({ route: `${method} ${templated}`, status: res.status, body: res.body }).toEqual({
          route: `${method} ${templated}`,
          status: Number(documented[0]),
          body: expect.anything(),
        });
        return res.body as Record<string, unknown>;
      };

      // The admin API, in the order one clicks through it.
      const client = await send('post', '/admin/clients', '/admin/clients', example('/admin/clients', 'post'));
      expect(client).toMatchObject({ client_name: 'My backend', grant_types: ['client_credentials'], client_secret: expect.any(String) });
      await send('patch', `/admin/clients/${client.client_id}`, '/admin/clients/{client_id}', example('/admin/clients/{client_id}', 'patch'));
      const user = await send('post', '/admin/users', '/admin/users', example('/admin/users', 'post'));
      expect(user).toMatchObject({ username: 'alice' });
      await send('patch', `/admin/users/${user.id}`, '/admin/users/{id}', example('/admin/users/{id}', 'patch'));
      await send('post', `/admin/users/${user.id}/password`, '/admin/users/{id}/password', example('/admin/users/{id}/password', 'post'));
      await send('put', '/admin/policy', '/admin/policy', example('/admin/policy', 'put'));
      // Every JSON request body of the admin API was sent.
      const jsonBodies = operationsOf(doc)
        .filter(({ operation }) => operation.requestBody?.content['application/json'])
        .map(({ path, method }) => `${method} ${path}`);
      expect(sent.sort()).toEqual(jsonBodies.sort());

      // The form examples: client authentication as HTTP Basic, placeholders replaced by real values.
      const app = await createClient(t, { grant_types: ['password', 'refresh_token', 'authorization_code'], redirect_uris: ['https://app.example.com/callback'], scope: 'openid profile offline_access' });
      const form = (path: string, name: string, values: Record<string, string> = {}, id = app.client_id, secret = app.client_secret!) => {
        const body = { ...(doc.paths[path].post.requestBody!.content['application/x-www-form-urlencoded'].examples![name].value as Record<string, string>), ...values };
        return t.http.post(path).auth(id, secret).type('form').send(body);
      };
      const admins = await form('/oauth2/token', 'client_credentials', {}, ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET);
      expect(admins.status).toBe(200);
      expect(admins.body.scope).toBe('admin');
      // The SetPasswordDto example made alice's password an initial one she must change: a fresh user for the password grant.
      const fresh = await t.http.post('/admin/users').auth(admin, bearer).send({ ...example('/admin/users', 'post'), username: unique('alice'), email: null });
      expect(fresh.status).toBe(201);
      const login = await form('/oauth2/token', 'password', { username: fresh.body.username });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({ refresh_token: expect.any(String), id_token: expect.any(String) });
      const refreshed = await form('/oauth2/token', 'refresh_token', { refresh_token: login.body.refresh_token });
      expect(refreshed.status).toBe(200);
      // A made-up code: every parameter is accepted, and only the code itself is refused.
      const code = await form('/oauth2/token', 'authorization_code');
      expect({ status: code.status, error: code.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      const userinfo = await t.http.post('/oauth2/userinfo').type('form').send({ ...example('/oauth2/userinfo', 'post'), access_token: refreshed.body.access_token });
      expect(userinfo.status).toBe(200);
      const introspection = await form('/oauth2/introspect', 'access_token', { token: refreshed.body.access_token });
      expect({ status: introspection.status, active: introspection.body.active }).toEqual({ status: 200, active: true });
      const revocation = await form('/oauth2/revoke', 'refresh_token', { token: refreshed.body.refresh_token });
      expect(revocation.status).toBe(200);
    });
  });
});
