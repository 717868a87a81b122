// Unit specs beside the code; e2e suites under test/e2e, run once per store: SQLite always, and
// MariaDB/MySQL when TEST_DATABASE_URL is set (as .ci/run does).
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

const projects = [
  { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
  e2e('sqlite'),
];
if (process.env.TEST_DATABASE_URL) projects.push(e2e('mysql'));

// testTimeout is a global option: Jest ignores it inside a project.
module.exports = { projects, maxWorkers: 2, testTimeout: 60000 };
