// Unit specs beside the code; e2e suites under test/e2e, run once per store: SQLite always, and
// MariaDB/MySQL when TEST_DATABASE_URL is set (as .ci/run does). test/galera: see below.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': swc },
  // NestJS 12, jose and a few of their dependencies ship only ES modules. Node loads them with
  // require(esm); Jest's module system does not yet on Node 20, so they are compiled to CommonJS.
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|@fastify/static|content-disposition|jose|bcryptjs|file-type|strtok3|token-types|uint8array-extras|toad-cache|cookie|set-cookie-parser|formidable|ansis)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'json'],
};

const e2e = (store) => ({
  ...common,
  displayName: `e2e:${store}`,
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  setupFiles: [`<rootDir>/test/support/store-${store}.js`],
});

// The multi-primary suite (test/galera) starts a 3-node MariaDB Galera cluster of its own
// (test/support/galera-cluster.sh). It runs with the MariaDB store: in CI always (.ci/run installs
// galera-4), elsewhere when the Galera library is installed.
const galera = {
  ...common,
  displayName: 'e2e:galera',
  testMatch: ['<rootDir>/test/galera/**/*.e2e-spec.ts'],
  setupFiles: ['<rootDir>/test/support/store-mysql.js'],
};
const galeraInstalled = () => require('node:fs').existsSync(process.env.WSREP_PROVIDER || '/usr/lib/galera/libgalera_smm.so');

const projects = [
  { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/support/**/*.spec.ts'] },
  e2e('sqlite'),
];
if (process.env.TEST_DATABASE_URL) projects.push(e2e('mysql'));
if (process.env.TEST_DATABASE_URL && (process.env.CI || galeraInstalled())) projects.push(galera);

// testTimeout is a global option: Jest ignores it inside a project.
module.exports = { projects, maxWorkers: 2, testTimeout: 60000 };
