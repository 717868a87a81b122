/**
 * The module graph of src/ (docs/architecture.md), enforced by `npm run lint:deps`, which
 * `npm test` runs before jest. Each folder of src/ is a module that may import only the modules
 * listed for it; the files at the top of src/ (main, app.module, app.factory) wire everything and
 * are not restricted. A new module, or a new arrow between two, is added here on purpose.
 */
const MODULES = {
  common: [],
  config: ['common', 'database'],
  oauth: ['common', 'database'],
  // Transformers, driver errors, the cluster-aware driver and conflict retries; data-source-options.ts, which registers every entity, has its own rule below.
  database: ['common'],
  audit: ['common', 'config', 'database'],
  keys: ['common', 'config', 'database', 'oauth'],
  sessions: ['common', 'database', 'oauth'],
  tokens: ['common', 'config', 'database', 'oauth', 'keys', 'sessions'],
  // The admin API: @AdminOnly() and the global guard, which checks tokens; feature modules import it, it imports none of them.
  admin: ['common', 'config', 'oauth', 'audit', 'keys', 'tokens'],
  policy: ['common', 'config', 'database', 'oauth', 'audit', 'admin', 'sessions'],
  // tokens: ending a user's sessions discards their authorization codes (UserSessionsService).
  users: ['common', 'config', 'database', 'oauth', 'audit', 'admin', 'keys', 'policy', 'sessions', 'tokens'],
  clients: ['common', 'config', 'database', 'oauth', 'audit', 'admin', 'keys', 'sessions', 'tokens'],
  'client-auth': ['common', 'config', 'database', 'oauth', 'audit', 'admin', 'policy', 'clients', 'tokens'],
  grants: ['common', 'config', 'database', 'oauth', 'audit', 'keys', 'sessions', 'tokens', 'policy', 'users', 'clients', 'client-auth'],
  authorize: ['common', 'config', 'oauth', 'audit', 'keys', 'sessions', 'tokens', 'policy', 'users', 'clients'],
  // Back-channel logout delivery: the queue is the Sessions module's, the receivers the Clients module's.
  backchannel: ['common', 'config', 'audit', 'keys', 'sessions', 'clients'],
  userinfo: ['common', 'oauth', 'tokens', 'policy', 'users', 'clients'],
  'token-management': ['common', 'config', 'oauth', 'audit', 'sessions', 'tokens', 'policy', 'users', 'clients', 'client-auth'],
  purge: ['common', 'config', 'sessions', 'tokens', 'policy', 'client-auth'],
  discovery: ['common', 'config', 'oauth', 'keys', 'users', 'clients', 'client-auth', 'grants'],
  // CORS for browser apps: the preflight route and the response headers; the origins are the Clients module's.
  cors: ['common', 'oauth', 'clients'],
  health: ['common', 'config', 'database'],
  metrics: ['common', 'config'],
  // pino through nestjs-pino: options, redaction, the request id; main.ts and app.module wire it.
  logging: ['common', 'config'],
  // The admin CLI: the admin API's services, DTOs and validation in a Nest application context.
  cli: ['common', 'config', 'database', 'admin', 'audit', 'clients', 'keys', 'users'],
  // The OpenAPI document and Swagger UI: one post-processor over what the controllers declare, and the request examples.
  openapi: ['common', 'config', 'oauth'],
  types: [],
};

const escape = (name) => name.replace(/[-]/g, '\\-');

const moduleRules = Object.entries(MODULES).map(([name, allowed]) => ({
  name: `module-graph: ${name}`,
  comment: `src/${name}/ may import ${allowed.length ? allowed.join(', ') : 'no other module'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${escape(name)}/`, pathNot: '^src/database/data-source-options\\.ts$' },
  to: { path: '^src/', pathNot: `^src/(${[name, ...allowed].map(escape).join('|')})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file imports itself through others, types included: two modules that need each other want a third.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'unknown-module',
      comment: 'Every folder of src/ is a module with its place in MODULES above.',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${Object.keys(MODULES).map(escape).join('|')})/|^src/[^/]+\\.ts$` },
      to: {},
    },
    ...moduleRules,
    {
      name: 'data-source-entities',
      comment: 'The data source registers every entity, and imports nothing else of the modules.',
      severity: 'error',
      from: { path: '^src/database/data-source-options\\.ts$' },
      to: { path: '^src/', pathNot: '\\.entity\\.ts$|^src/(common|config|database)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    // Type-only imports count: a module that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
