import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type MediaTypeObject,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type PathItemObject,
  type ReferenceObject,
  type RequestBodyObject,
  type SchemaObject,
  type SwaggerCustomOptions,
} from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import type { AppConfig } from '../config/app-config';
import { allowedMethods, endpointUrl, OAUTH_ENDPOINTS, type OAuthEndpoint } from '../oauth/endpoints';
import { ADMIN_SCOPE } from '../oauth/scopes';
import { FORM_EXAMPLES, REQUEST_EXAMPLES } from './request-examples';

/** The name of the OAuth 2.0 security scheme with which Swagger UI's Authorize fetches an admin token. */
export const ADMIN_CLIENT_SCHEME = 'admin_client';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof HTTP_METHODS)[number];

/**
 * The OpenAPI document of Gatehouse, built by @nestjs/swagger from the decorators, then refined in
 * one place (refineDocument) so that Swagger UI works by clicking: controllers keep only their own
 * decorators, and what concerns the whole document is decided here.
 */
export function createOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const tokenUrl = endpointUrl(config.issuer, OAUTH_ENDPOINTS.token);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse')
      .setDescription(
        'OAuth 2.0 / OpenID Connect identity service: token endpoint, discovery and admin API.\n\n' +
          '**Admin API from this page:** click **Authorize**, and under `admin_client` enter the client_id and client_secret of an ' +
          'admin client (the bootstrap admin client printed at start-up), keep the `admin` scope ticked, and authorize: Swagger UI ' +
          `fetches an access token from ${tokenUrl} with client_credentials (client_secret_basic). Every admin operation's ` +
          '"Try it out" then starts from a valid example body. Swagger UI puts the client_id and secret into the Basic header as ' +
          'typed, while RFC 6749 §2.3.1 has them form-urlencoded first (and Gatehouse decodes them so): enter an id or secret ' +
          'containing `%`, `+`, `:` or non-ASCII characters percent-encoded (`%25`, `%2B`, `%3A`, ...). Generated secrets need nothing.\n\n' +
          '**Browser apps (CORS):** discovery and JWKS may be read from any origin; the token, UserInfo and revocation endpoints from ' +
          "the origins of the client the response is for (its redirect_uris' origins and allowed_cors_origins), errors included; never " +
          'with credentials. See the OPTIONS operations.\n\n' +
          '**Aliases and other methods:** some endpoints also answer on alias paths (listed in their description and in ' +
          '`x-aliases`); any method an OAuth endpoint does not list answers 405 `invalid_request` with an `Allow` header.',
      )
      .setVersion('0.1.0')
      .addServer(config.issuer)
      .addOAuth2(
        {
          type: 'oauth2',
          description:
            'An admin client\'s client_id and client_secret: Swagger UI fetches an access token with scope "admin" (client_credentials, ' +
            'client_secret_basic). Enter `%`, `+`, `:` and non-ASCII characters percent-encoded (RFC 6749 §2.3.1).',
          flows: { clientCredentials: { tokenUrl, scopes: { [ADMIN_SCOPE]: 'The admin API' } } },
        },
        ADMIN_CLIENT_SCHEME,
      )
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token with scope "admin" (client_credentials of an admin client)' }, 'admin')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A user\'s access token (JWT or opaque) with scope "openid"' }, 'access_token')
      .addBasicAuth(
        { type: 'http', scheme: 'basic', description: 'client_id and client_secret (client_secret_basic); `%`, `+`, `:` and non-ASCII characters percent-encoded (RFC 6749 §2.3.1)' },
        'client',
      )
      .build(),
  );
  return refineDocument(document);
}

/** Swagger UI at /docs, the document at /docs-json; Authorize starts with the admin scope ticked. */
export const SWAGGER_UI_OPTIONS: SwaggerCustomOptions = {
  jsonDocumentUrl: 'docs-json',
  swaggerOptions: { initOAuth: { scopes: [ADMIN_SCOPE] }, displayRequestDuration: true },
};

/**
 * What the decorators cannot say, for every operation at once:
 * - alias paths and the 405 of other methods leave the operation list (the canonical operation
 *   names its aliases in `x-aliases` and its description);
 * - query parameters without a type are strings, and properties typed `object` only because a
 *   TypeScript union (`string | null`) hides their type get their real type;
 * - JSON request bodies carry the minimal valid example of REQUEST_EXAMPLES, form bodies theirs,
 *   and every form field but a required choice (grant_type) starts empty in "Try it out" instead
 *   of the placeholder "string" (Swagger UI sends it empty, which RFC 6749 §3.2 reads as absent).
 */
export function refineDocument(document: OpenAPIObject): OpenAPIObject {
  describeOAuthEndpoints(document);
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  for (const [name, schema] of Object.entries(schemas)) typeUnionProperties(name, schema, schemas);
  nameOperations(document);
  for (const [path, method, operation] of operations(document)) {
    delete operation.responses['405'];
    for (const parameter of operation.parameters ?? []) {
      const p = parameter as ParameterObject;
      if (p.schema && Object.keys(p.schema).length === 0) p.schema = { type: 'string' };
    }
    const body = operation.requestBody as RequestBodyObject | undefined;
    if (body) addBodyExamples(body, FORM_EXAMPLES[`${method} ${path}`]);
  }
  return document;
}

function* operations(document: OpenAPIObject): Generator<[string, Method, OperationObject]> {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = (item as PathItemObject)[method];
      if (operation) yield [path, method, operation];
    }
  }
}

/**
 * A handler routed on several paths gets ids like "TokenController_token[1]". With the aliases gone,
 * a handler left on one path keeps its plain name; one still on several (the CORS preflight) is
 * named by its path.
 */
function nameOperations(document: OpenAPIObject): void {
  const base = (id: string) => id.replace(/\[\d+\]$/, '');
  const all = [...operations(document)].filter(([, , operation]) => operation.operationId);
  const count = new Map<string, number>();
  for (const [, , operation] of all) count.set(base(operation.operationId!), (count.get(base(operation.operationId!)) ?? 0) + 1);
  for (const [path, , operation] of all) {
    const name = base(operation.operationId!);
    operation.operationId = count.get(name) === 1 ? name : `${name}_${path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
  }
}

/** Alias paths leave the list; the canonical operation names them, and says which methods get a 405. */
function describeOAuthEndpoints(document: OpenAPIObject): void {
  for (const endpoint of Object.values(OAUTH_ENDPOINTS) as OAuthEndpoint[]) {
    const [canonical, ...aliases] = endpoint.paths.map((p) => `/${p}`);
    const item = document.paths[canonical] as PathItemObject | undefined;
    if (!item) continue;
    for (const alias of aliases) delete document.paths[alias];
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const notes: string[] = [];
      if (aliases.length) {
        (operation as OperationObject & { 'x-aliases'?: string[] })['x-aliases'] = aliases;
        notes.push(`Also answers at ${aliases.map((a) => `\`${a}\``).join(', ')}.`);
      }
      if (method !== 'options') notes.push(`Other methods than ${allowedMethods(endpoint).join(', ')}: 405.`);
      operation.description = [operation.description, notes.join(' ')].filter(Boolean).join('\n\n');
    }
  }
}

/** class-validator constraint names that fix a property's JSON type. */
const VALIDATOR_TYPES: Readonly<Record<string, string>> = {
  isString: 'string',
  isUrl: 'string',
  isEmail: 'string',
  isDateString: 'string',
  isISO8601: 'string',
  matches: 'string',
  isInt: 'integer',
  isNumber: 'number',
  isBoolean: 'boolean',
  isObject: 'object',
};

/** The classes class-validator knows, by name: the DTO behind a schema of the same name. */
function validatedClass(name: string): Function | undefined {
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<Function, unknown> };
  return [...(storage.validationMetadatas?.keys() ?? [])].find((target) => target.name === name);
}

function validatorType(target: Function | undefined, property: string): string | undefined {
  if (!target) return undefined;
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(target, '', true, false);
  return metadatas.filter((m) => m.propertyName === property).map((m) => VALIDATOR_TYPES[m.name ?? ''])
    .find((type) => type !== undefined);
}

const looksUntyped = (s: SchemaObject) =>
  s.type === 'object' && !s.properties && !s.additionalProperties && !s.allOf && !s.oneOf && !s.anyOf && !('$ref' in s);

/**
 * A property declared `string | null` reaches @nestjs/swagger as `Object` (TypeScript emits no
 * type for unions), so the schema says `type: object` and Swagger UI shows `{}`. Its real type
 * comes from the DTO's validators, else from the same property of another schema (a response DTO
 * mirrors the request DTO), else from its example; failing all three it is left untyped.
 */
function typeUnionProperties(name: string, schema: SchemaObject, schemas: Record<string, SchemaObject>): void {
  const target = validatedClass(name);
  for (const [property, value] of Object.entries(schema.properties ?? {})) {
    const s = value as SchemaObject;
    if (!looksUntyped(s)) continue;
    const type =
      validatorType(target, property) ??
      Object.entries(schemas)
        .filter(([other]) => other !== name)
        .map(([other, o]) => (o.properties?.[property] as SchemaObject | undefined) && validatorType(validatedClass(other), property))
        .find((t) => t !== undefined) ??
      (s.example !== undefined && s.example !== null ? (typeof s.example === 'number' ? 'number' : typeof s.example) : undefined);
    if (type === 'object') continue;
    if (type) s.type = type as SchemaObject['type'];
    else delete s.type;
  }
}

function addBodyExamples(body: RequestBodyObject, formExamples: MediaTypeObject['examples']): void {
  for (const [mediaType, media] of Object.entries(body.content) as [string, MediaTypeObject][]) {
    const ref = (media.schema as ReferenceObject | undefined)?.$ref;
    if (ref) {
      const example = REQUEST_EXAMPLES[ref.split('/').pop()!];
      if (example && !media.examples) media.examples = { [exampleKey(example.summary)]: example };
      continue;
    }
    if (mediaType !== 'application/x-www-form-urlencoded') continue;
    const schema = media.schema as SchemaObject | undefined;
    const required = new Set(schema?.required ?? []);
    for (const [field, value] of Object.entries(schema?.properties ?? {})) {
      const property = value as SchemaObject;
      // Swagger UI shows a form field's choices only once "Try it out" turns it into a list.
      if (property.enum && !property.description?.includes('One of')) {
        const choices = `One of ${property.enum.map((v) => `\`${String(v)}\``).join(', ')}.`;
        property.description = property.description ? `${property.description.replace(/\.?$/, '.')} ${choices}` : choices;
      }
      // A required choice (grant_type) keeps its first value; everything else starts empty.
      if (required.has(field) && property.enum) continue;
      property.example = '';
    }
    if (formExamples && !media.examples) media.examples = formExamples;
  }
}

const exampleKey = (summary: string) => summary.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

/** Serves Swagger UI and the document. */
export function setUpOpenApi(app: INestApplication, config: AppConfig): void {
  SwaggerModule.setup('docs', app, createOpenApiDocument(app, config), SWAGGER_UI_OPTIONS);
}
