import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/database/data-source-options';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, startApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { tokenRequest, unique } from '../support/fixtures';
import { compiledService, freePort, ROOT, serviceEnv } from '../support/service';

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Issue 12 item 6: `gatehouse-admin` (the package's bin, `npm run admin` in a checkout), run as the
 * compiled program against the test database; what it did is then checked through the HTTP API of
 * the real app on the same database.
 */
describe('Admin CLI (gatehouse-admin)', () => {
  // Each case starts the program several times (a few seconds each on a loaded 2-core machine).
  jest.setTimeout(180_000);
  let outDir: string;
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    outDir = await compiledService();
    database = await createTestDatabase();
    t = await startApp({ database });
  }, 180_000);
  afterAll(() => t.close());

  /** Runs the compiled CLI with the app's environment; `input` goes to its standard input. */
  function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(outDir, 'cli/admin-cli.js'), ...args], {
        cwd: outDir,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: serviceEnv({ DATABASE_URL: database.url, ISSUER, BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID, ...options.env }),
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });
  }

  /** A refused command: exit status 1 and one line on stderr, nothing on stdout. */
  async function refused(args: string[], line: string, options: { input?: string; status?: number } = {}): Promise<void> {
    const run = await cli(args, options);
    expect(run).toEqual({ status: options.status ?? 1, stdout: '', stderr: `gatehouse-admin: ${line}\n` });
  }

  const admin = async () => ({ Authorization: `Bearer ${await t.adminToken()}` });

  /** The admin API's 400 for a body, in the CLI's words: "field: messages; …". */
  const apiValidationLine = (fields: Record<string, string[]>) =>
    `validation failed: ${Object.entries(fields)
      .map(([field, messages]) => `${field}: ${messages.join(', ')}`)
      .join('; ')}`;

  it('is the package\'s bin, and prints its commands and each command\'s options', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin).toEqual({ 'gatehouse-admin': 'dist/cli/admin-cli.js' });
    expect(pkg.scripts.admin).toBe('node dist/cli/admin-cli.js');
    expect(readFileSync(join(outDir, 'cli/admin-cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);

    const help = await cli(['help']);
    expect(help.status).toBe(0);
    expect(help.stderr).toBe('');
    for (const command of ['create-client', 'list-clients', 'create-user', 'set-password', 'unlock-user', 'rotate-keys', 'reset-admin-secret', 'migrate']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    }
    const one = await cli(['create-client', '--help']);
    expect(one.status).toBe(0);
    expect(one.stdout).toMatch(/^Usage: gatehouse-admin create-client \[options\]$/m);
    expect(one.stdout).toMatch(/^ {2}--grant-type TYPE +one of grant_types; repeat for several$/m);
    expect((await cli(['help', 'unlock-user'])).stdout).toMatch(/^Usage: gatehouse-admin unlock-user <user> \[options\]$/m);
  });

  it('create-client registers a client that gets a token, and shows what the admin API shows', async () => {
    const clientId = unique('cli-app');
    const run = await cli(['create-client', '--client-id', clientId, '--name', 'CLI app', '--grant-type', 'client_credentials', '--scope', 'api:read api:write', '--json']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    const created = JSON.parse(run.stdout);
    expect(created).toMatchObject({ client_id: clientId, client_name: 'CLI app', grant_types: ['client_credentials'], scope: 'api:read api:write', client_secret: expect.any(String) });

    const token = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read' }, { id: clientId, secret: created.client_secret });
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('api:read');
    const { client_secret: _secret, ...shown } = created;
    expect((await t.http.get(`/admin/clients/${clientId}`).set(await admin())).body).toEqual(shown);

    // Without --json, for a person: the secret once, in a field list.
    const text = await cli(['create-client', '--client-id', unique('cli-text'), '--grant-type', 'client_credentials']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^Created client "cli-text-[\d-]+"\. Its client_secret is shown this once; only a digest is stored\.\n {2}client_id +cli-text-[\d-]+\n {2}client_secret +[A-Za-z0-9_-]{43}\n/);

    // The audit trail names the CLI and the system user.
    const audit = await t.http.get(`/admin/audit-events?client=${clientId}&type=admin.client.created`).set(await admin());
    expect(audit.body).toEqual([expect.objectContaining({ type: 'admin.client.created', details: { by: expect.stringMatching(/^cli(:.+)?$/) } })]);
  });

  it('refuses what the admin API refuses, with the same field messages, in one line and exit status 1', async () => {
    const body = { client_id: unique('cli-bad'), grant_types: ['password', 'bogus'], redirect_uris: ['not a uri'], access_token_ttl: -1 };
    const api = await t.http.post('/admin/clients').set(await admin()).send(body);
    expect(api.status).toBe(400);
    await refused(['create-client', '--fields', JSON.stringify(body)], apiValidationLine(api.body.fields));

    // Rules across fields (checked by the service) too.
    const crossField = { client_id: unique('cli-bad'), grant_types: ['client_credentials'], scope: 'api', default_scope: 'openid' };
    const apiCross = await t.http.post('/admin/clients').set(await admin()).send(crossField);
    expect(apiCross.status).toBe(400);
    await refused(['create-client', '--fields', JSON.stringify(crossField)], apiValidationLine(apiCross.body.fields));

    // Unknown fields, as the API's whitelist does.
    const unknownField = { grant_types: ['client_credentials'], is_admin: true };
    const apiUnknown = await t.http.post('/admin/clients').set(await admin()).send(unknownField);
    await refused(['create-client', '--fields', JSON.stringify(unknownField)], apiValidationLine(apiUnknown.body.fields));

    // A duplicate is the API's 409 message.
    await refused(['create-client', '--client-id', ADMIN_CLIENT_ID, '--grant-type', 'client_credentials'], `Client "${ADMIN_CLIENT_ID}" already exists`);
  });

  it('create-user, set-password and unlock-user: the user logs in with the password the CLI set, and is unlocked by it', async () => {
    const app = JSON.parse((await cli(['create-client', '--client-id', unique('cli-pw'), '--grant-type', 'password', '--json'])).stdout);
    const username = unique('cli-user');
    const login = (password: string) => tokenRequest(t, { grant_type: 'password', username, password }, { id: app.client_id, secret: app.client_secret });

    // The password never comes from the command line.
    await refused(['create-user', '--username', username], 'give the password on standard input with --password-stdin (never on the command line)', { status: 2 });
    await refused(['create-user', '--username', username, '--password', 'x'], 'create-user has no option --password (gatehouse-admin help create-user)', { status: 2 });
    // The API's rules for the password.
    const api = await t.http.post('/admin/users').set(await admin()).send({ username: unique('u'), password: 'short' });
    await refused(['create-user', '--username', username, '--password-stdin'], apiValidationLine(api.body.fields), { input: 'short\n' });

    const created = await cli(['create-user', '--username', username, '--email', `${username}@example.com`, '--name', 'Ada CLI', '--password-stdin', '--json'], { input: 'first password 1234\n' });
    expect(created.status).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({ username, email: `${username}@example.com`, name: 'Ada CLI', locked: false });
    expect(created.stdout).not.toContain('first password 1234');
    expect((await login('first password 1234')).status).toBe(200);

    // Locked by failed logins (policy: 5), unlocked by the CLI, found by username.
    for (let i = 0; i < 5; i++) expect((await login('wrong password')).body.error).toBe('invalid_grant');
    expect((await t.http.get(`/admin/users/${user.id}`).set(await admin())).body.locked).toBe(true);
    expect((await login('first password 1234')).status).toBe(400);
    const unlocked = await cli(['unlock-user', username, '--json']);
    expect(unlocked.status).toBe(0);
    expect(JSON.parse(unlocked.stdout)).toMatchObject({ id: user.id, locked: false, failed_login_count: 0 });
    expect((await login('first password 1234')).status).toBe(200);

    // A new password, the user found by email: the old one stops working.
    const set = await cli(['set-password', `${username}@example.com`, '--password-stdin'], { input: 'second password 5678\n' });
    expect(set.status).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`^Set the password of user ${user.id}\\.\\n`));
    expect((await login('first password 1234')).status).toBe(400);
    expect((await login('second password 5678')).status).toBe(200);

    await refused(['unlock-user', 'nobody-by-that-name'], 'no user has the id, username, email or phone number "nobody-by-that-name"');
    await refused(['unlock-user'], 'unlock-user takes <user> (gatehouse-admin help unlock-user)', { status: 2 });
  });

  it('list-clients shows every client, as GET /admin/clients does', async () => {
    const json = await cli(['list-clients', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual((await t.http.get('/admin/clients').set(await admin())).body);
    const text = await cli(['list-clients']);
    expect(text.stdout.split('\n')[0]).toMatch(/^CLIENT_ID +AUTH_METHOD +GRANT_TYPES +SCOPE +DISABLED +NAME$/);
    expect(text.stdout).toMatch(new RegExp(`^${ADMIN_CLIENT_ID} +client_secret_basic +client_credentials +admin +false +`, 'm'));
  });

  it('rotate-keys makes new signing keys that the running service publishes and signs with', async () => {
    const run = await cli(['rotate-keys', '--json']);
    expect(run.status).toBe(0);
    const { kids } = JSON.parse(run.stdout) as { kids: string[] };
    expect(kids).toHaveLength(3);
    // The CLI is another process: the server publishes its keys once its cached key set is
    // CACHE_TTL_SECONDS (5 s) old, as another instance's (docs/operations.md#caches).
    t.clock.advance(5_001);
    const published = (await t.http.get('/oauth2/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    for (const kid of kids) expect(published).toContain(kid);
    const audit = await t.http.get('/admin/audit-events?type=admin.keys.rotated').set(await admin());
    expect(audit.body[0].details).toEqual({ kids, by: expect.stringMatching(/^cli/) });
  });

  it('reset-admin-secret issues a new admin secret, shown once in a box on stderr; the old one stops working', async () => {
    const run = await cli(['reset-admin-secret']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^\+-+\+\n\| Issued a new secret for the admin client "test-admin"; the old one no longer works\. +\|\n/);
    const secret = /\| {3}client_secret {2}([A-Za-z0-9_-]{43}) +\|/.exec(run.stderr)![1];
    expect(run.stderr).toContain(`Admin token: grant_type=client_credentials at ${ISSUER}/oauth2/token`);

    // The CLI is another process: the server sees its change once its cached client is
    // CACHE_TTL_SECONDS (5 s) old, as another instance's (docs/operations.md#caches).
    t.clock.advance(5_001);
    expect((await tokenRequest(t, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET })).status).toBe(401);
    const token = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret });
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('admin');
    // Only a digest is stored.
    const [row] = await t.db.query(`SELECT * FROM clients WHERE client_id = '${ADMIN_CLIENT_ID}'`);
    expect(JSON.stringify(row)).not.toContain(secret);

    // Another id creates a new admin client; a client that is no admin client is refused.
    const rescue = await cli(['reset-admin-secret', '--client-id', 'rescue-admin', '--json']);
    expect(rescue.status).toBe(0);
    expect(rescue.stderr).toMatch(/\| Created the admin client "rescue-admin"\. +\|/);
    const rescued = JSON.parse(rescue.stdout) as { client_id: string; client_secret: string };
    expect(rescued.client_id).toBe('rescue-admin');
    expect((await tokenRequest(t, { grant_type: 'client_credentials' }, { id: 'rescue-admin', secret: rescued.client_secret })).body.scope).toBe('admin');
    const plain = JSON.parse((await cli(['create-client', '--client-id', unique('cli-plain'), '--grant-type', 'client_credentials', '--json'])).stdout);
    await refused(
      ['reset-admin-secret', '--client-id', plain.client_id],
      `validation failed: client_id: client "${plain.client_id}" is not an admin client (it needs grant client_credentials and scope admin): pass --client-id with a new id to create one`,
    );
  });

  it('migrate runs the migrations of a new database, then finds nothing to do', async () => {
    const fresh = await createTestDatabase();
    try {
      const env = { DATABASE_URL: fresh.url };
      const first = await cli(['migrate'], { env });
      expect(first).toEqual({ status: 0, stderr: '', stdout: `Ran ${MIGRATIONS.length} migrations:\n${MIGRATIONS.map((m) => `  ${m.name}\n`).join('')}` });
      expect(await cli(['migrate'], { env })).toEqual({ status: 0, stderr: '', stdout: 'The database schema is up to date.\n' });
      expect(JSON.parse((await cli(['migrate', '--json'], { env })).stdout)).toEqual({ migrations: [] });
    } finally {
      await fresh.drop();
    }
  });

  it('fails in one line: wrong usage (status 2), bad configuration or an unusable database (status 1)', async () => {
    await refused(['frobnicate'], 'unknown command "frobnicate" (gatehouse-admin help lists them)', { status: 2 });
    await refused(['list-clients', 'extra'], 'list-clients takes no arguments, got "extra"', { status: 2 });
    await refused(['create-client', '--client-id'], 'option --client-id of create-client needs a value', { status: 2 });
    await refused(['create-client', '--fields', '[1]'], '--fields must be a JSON object', { status: 2 });
    const port = await freePort();
    const cliEnv = { DATABASE_URL: `mysql://gatehouse@127.0.0.1:${port}/gatehouse` };
    expect(await cli(['list-clients'], { env: cliEnv })).toEqual({
      status: 1,
      stdout: '',
      stderr: `gatehouse-admin: Database unusable: DATABASE_URL points at 127.0.0.1:${port}, where nothing accepts connections: start MariaDB/MySQL there, or correct the host and port in DATABASE_URL\n`,
    });
    expect(await cli(['list-clients'], { env: { LOG_LEVEL: 'loud' } })).toEqual({
      status: 1,
      stdout: '',
      stderr: 'gatehouse-admin: Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace (or Nest\'s log, verbose), got "loud"\n',
    });
  });
});
