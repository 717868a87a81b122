import type { Type } from '@nestjs/common';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { adminValidationPipe } from '../admin/validation';
import { AuditService } from '../audit/audit.service';
import { toClientResponse } from '../clients/client.mapper';
import { ClientsService } from '../clients/clients.service';
import { CreateClientDto } from '../clients/dto/client.dto';
import type { AppConfig } from '../config/app-config';
import { KeysService } from '../keys/keys.service';
import { CreateUserDto, SetPasswordDto } from '../users/dto/user.dto';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { CliError, UsageError } from './cli-error';
import { adminSecretBox } from './admin-secret-notice';
import { formatRecord, formatTable } from './output';

/** What a command runs with: the services of the admin API, in a Nest application context. */
export interface CommandContext {
  get<T>(type: Type<T>): T;
  config: AppConfig;
  dataSource: DataSource;
  /** Who the audit trail names as the actor, e.g. "cli:root". */
  actor: string;
  readStdin(): Promise<string>;
}

export interface CommandResult {
  /** Printed with --json: the admin API's response body for the same operation. */
  json: unknown;
  /** Printed otherwise, for a person. */
  text: string;
  /** Printed to stderr whatever the format (the admin secret's box). */
  notice?: string;
}

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; value?: string; description: string };

export interface Command {
  name: string;
  summary: string;
  arguments?: { name: string; description: string }[];
  options: Record<string, OptionSpec>;
  /** `migrate` runs before the schema is up to date, and without the application's services. */
  needsServices: boolean;
  run(context: CommandContext, values: Record<string, unknown>, positionals: string[]): Promise<CommandResult>;
}

const FIELDS_OPTION: OptionSpec = {
  type: 'string',
  value: 'JSON',
  description: 'any other fields of the admin API request body, as a JSON object (the options above take precedence)',
};

/** The JSON object of --fields: refused unless it is an object, so the DTO sees what the API would. */
function fieldsFrom(raw: unknown): Record<string, unknown> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    throw new UsageError('--fields must be a JSON object, e.g. --fields \'{"require_pkce":true}\'');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--fields must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Only the options that were given, under the admin API's field names. */
function given(mapping: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mapping).filter(([, value]) => value !== undefined));
}

/** The admin API's own validation (the same ValidationPipe and DTO class), so the CLI accepts exactly what the API accepts. */
async function validated<T>(metatype: Type<T>, body: Record<string, unknown>): Promise<T> {
  return (await adminValidationPipe().transform(body, { type: 'body', metatype })) as T;
}

/** A password from standard input: its first line, never from the command line (shell history, ps). */
async function passwordFrom(context: CommandContext, values: Record<string, unknown>): Promise<string> {
  if (!values['password-stdin']) throw new UsageError('give the password on standard input with --password-stdin (never on the command line)');
  const password = (await context.readStdin()).replace(/\r?\n$/, '');
  if (password.includes('\n')) throw new UsageError('--password-stdin reads one line: the password');
  return password;
}

/** A user by id, or by username, email or phone number, found as the password login finds it. */
async function findUser(context: CommandContext, ref: string): Promise<User> {
  const users = context.get(UsersService);
  const user = (await users.findById(ref)) ?? (await users.findByLogin({ kind: 'username', value: ref }));
  if (!user) throw new CliError(`no user has the id, username, email or phone number "${ref}"`);
  return user;
}

const userResponse = (context: CommandContext, user: User) => context.get(UsersService).toResponse(user);

const USER_ARGUMENT = { name: 'user', description: 'the user\'s id, or its username, email or phone number' };

export const COMMANDS: Command[] = [
  {
    name: 'create-client',
    summary: 'Register a client (the fields and rules of POST /admin/clients)',
    options: {
      'client-id': { type: 'string', value: 'ID', description: 'client_id (generated when left out)' },
      name: { type: 'string', value: 'NAME', description: 'client_name' },
      'auth-method': { type: 'string', value: 'METHOD', description: 'token_endpoint_auth_method (client_secret_basic when left out)' },
      'grant-type': { type: 'string', multiple: true, value: 'TYPE', description: 'one of grant_types; repeat for several' },
      'redirect-uri': { type: 'string', multiple: true, value: 'URI', description: 'one of redirect_uris; repeat for several' },
      scope: { type: 'string', value: 'SCOPES', description: 'scope: the space-separated scopes it may request' },
      'default-scope': { type: 'string', value: 'SCOPES', description: 'default_scope' },
      fields: FIELDS_OPTION,
    },
    needsServices: true,
    async run(context, values) {
      const dto = await validated(CreateClientDto, {
        ...fieldsFrom(values.fields),
        ...given({
          client_id: values['client-id'],
          client_name: values.name,
          token_endpoint_auth_method: values['auth-method'],
          grant_types: values['grant-type'],
          redirect_uris: values['redirect-uri'],
          scope: values.scope,
          default_scope: values['default-scope'],
        }),
      });
      const { client, secret } = await context.get(ClientsService).create(dto, context.actor);
      const body = toClientResponse(client, secret);
      const heading = secret ? `Created client "${client.clientId}". Its client_secret is shown this once; only a digest is stored.` : `Created client "${client.clientId}".`;
      return { json: body, text: formatRecord(heading, body) };
    },
  },
  {
    name: 'list-clients',
    summary: 'List the registered clients (GET /admin/clients)',
    options: {},
    needsServices: true,
    async run(context) {
      const body = (await context.get(ClientsService).list()).map((client) => toClientResponse(client));
      const text = formatTable(
        [
          ['CLIENT_ID', (c: (typeof body)[number]) => c.client_id],
          ['AUTH_METHOD', (c: (typeof body)[number]) => c.token_endpoint_auth_method],
          ['GRANT_TYPES', (c: (typeof body)[number]) => c.grant_types],
          ['SCOPE', (c: (typeof body)[number]) => c.scope],
          ['DISABLED', (c: (typeof body)[number]) => c.disabled],
          ['NAME', (c: (typeof body)[number]) => c.client_name],
        ],
        body,
        'No clients.',
      );
      return { json: body, text };
    },
  },
  {
    name: 'create-user',
    summary: 'Create a user (the fields and rules of POST /admin/users); the password comes from standard input',
    options: {
      username: { type: 'string', value: 'NAME', description: 'username' },
      email: { type: 'string', value: 'EMAIL', description: 'email' },
      phone: { type: 'string', value: 'NUMBER', description: 'phone_number' },
      name: { type: 'string', value: 'NAME', description: 'name (the OIDC claim)' },
      group: { type: 'string', multiple: true, value: 'GROUP', description: 'one of groups; repeat for several' },
      'password-stdin': { type: 'boolean', description: 'read the password from standard input (required)' },
      initial: { type: 'boolean', description: 'password_is_initial: the password expires after the policy\'s initial_password_ttl_hours' },
      fields: FIELDS_OPTION,
    },
    needsServices: true,
    async run(context, values) {
      const password = await passwordFrom(context, values);
      const dto = await validated(CreateUserDto, {
        ...fieldsFrom(values.fields),
        ...given({
          username: values.username,
          email: values.email,
          phone_number: values.phone,
          name: values.name,
          groups: values.group,
          password_is_initial: values.initial || undefined,
        }),
        password,
      });
      const body = await userResponse(context, await context.get(UsersService).create(dto, context.actor));
      return { json: body, text: formatRecord(`Created user ${body.id}.`, body) };
    },
  },
  {
    name: 'set-password',
    summary: 'Set a user\'s password (POST /admin/users/{id}/password), read from standard input',
    arguments: [USER_ARGUMENT],
    options: {
      'password-stdin': { type: 'boolean', description: 'read the password from standard input (required)' },
      initial: { type: 'boolean', description: 'password_is_initial: the password expires after the policy\'s initial_password_ttl_hours' },
      'change-required': { type: 'boolean', description: 'password_change_required: the user must change it at the next login' },
      fields: FIELDS_OPTION,
    },
    needsServices: true,
    async run(context, values, [ref]) {
      const user = await findUser(context, ref);
      const password = await passwordFrom(context, values);
      const dto = await validated(SetPasswordDto, {
        ...fieldsFrom(values.fields),
        ...given({ password_is_initial: values.initial || undefined, password_change_required: values['change-required'] || undefined }),
        password,
      });
      const body = await userResponse(context, await context.get(UsersService).setPassword(user.id, dto, context.actor));
      return { json: body, text: formatRecord(`Set the password of user ${body.id}.`, body) };
    },
  },
  {
    name: 'unlock-user',
    summary: 'Unlock a user locked by failed logins (POST /admin/users/{id}/unlock)',
    arguments: [USER_ARGUMENT],
    options: {},
    needsServices: true,
    async run(context, _values, [ref]) {
      const user = await findUser(context, ref);
      const body = await userResponse(context, await context.get(UsersService).unlock(user.id, context.actor));
      return { json: body, text: formatRecord(`Unlocked user ${body.id}.`, body) };
    },
  },
  {
    name: 'rotate-keys',
    summary: 'Make new signing keys current (POST /admin/keys/rotate); the old ones stay published until their tokens expire',
    options: {},
    needsServices: true,
    async run(context) {
      const result = await context.get(KeysService).rotate();
      await context.get(AuditService).record({ type: 'admin.keys.rotated', details: { ...result, by: context.actor } });
      return { json: result, text: formatRecord('Rotated the signing keys. New key ids:', Object.fromEntries(result.kids.map((kid, i) => [`${i + 1}`, kid]))) };
    },
  },
  {
    name: 'reset-admin-secret',
    summary: 'Issue a new secret for the admin client (BOOTSTRAP_ADMIN_CLIENT_ID, gatehouse-admin by default), or create it when it does not exist',
    options: {
      'client-id': { type: 'string', value: 'ID', description: 'another admin client, or a new id to create an admin client under' },
    },
    needsServices: true,
    async run(context, values) {
      const { clientId, secret, created } = await context.get(ClientsService).resetAdminSecret(values['client-id'] as string | undefined, context.actor);
      const headline = created ? `Created the admin client "${clientId}".` : `Issued a new secret for the admin client "${clientId}"; the old one no longer works.`;
      const body = { client_id: clientId, client_secret: secret };
      // The box on stderr, as at start-up: stdout stays clean for --json, and the secret reaches no log pipe by accident.
      return { json: body, text: '', notice: adminSecretBox({ headline, clientId, secret, issuer: context.config.issuer }) };
    },
  },
  {
    name: 'migrate',
    summary: 'Run the pending database migrations (the service also runs them when it starts)',
    options: {},
    needsServices: false,
    async run(context) {
      const ran = await context.dataSource.runMigrations({ transaction: 'each' });
      const names = ran.map((migration) => migration.name);
      const text = names.length ? `Ran ${names.length} migration${names.length === 1 ? '' : 's'}:\n${names.map((name) => `  ${name}\n`).join('')}` : 'The database schema is up to date.\n';
      return { json: { migrations: names }, text };
    },
  },
];

const COMMON_OPTIONS: Record<string, OptionSpec & { short?: string }> = {
  json: { type: 'boolean', description: 'print the result as JSON (the admin API\'s response body) instead of text' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** The help text: every command, or one command's arguments and options. */
export function helpText(command?: Command): string {
  if (!command) {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    return [
      'Usage: gatehouse-admin <command> [options]     (in a checkout: npm run admin -- <command> [options])',
      '',
      'Administers Gatehouse through the services of its admin API, with the same validation, on the',
      'database of DATABASE_URL. Run it with the service\'s environment (DATABASE_URL, KEY_ENCRYPTION_SECRET,',
      'BOOTSTRAP_ADMIN_CLIENT_ID, ISSUER); like the service, it first runs any pending migrations.',
      '',
      'Commands:',
      ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      'Options of every command:',
      '  --json      print the result as JSON (the admin API\'s response body) instead of text',
      '  -h, --help  show the command\'s options',
      '',
      'Exit status: 0 done, 1 refused or failed (one line on stderr says why), 2 wrong usage.',
      '',
    ].join('\n');
  }
  const args = (command.arguments ?? []).map((a) => ` <${a.name}>`).join('');
  const options = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => [
    `${'short' in spec && spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`,
    spec.description,
  ]);
  const width = Math.max(...options.map(([flag]) => flag.length), ...(command.arguments ?? []).map((a) => a.name.length + 2));
  return [
    `Usage: gatehouse-admin ${command.name}${args} [options]`,
    '',
    `${command.summary}.`,
    '',
    ...(command.arguments?.length ? ['Arguments:', ...command.arguments.map((a) => `  ${`<${a.name}>`.padEnd(width)}  ${a.description}`), ''] : []),
    'Options:',
    ...options.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
    '',
  ].join('\n');
}

export interface Invocation {
  command?: Command;
  values: Record<string, unknown>;
  positionals: string[];
  json: boolean;
  help: boolean;
}

/** Reads the command line; a UsageError names the first thing wrong with it. */
export function parseCommandLine(argv: string[]): Invocation {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const command = rest[0] === undefined ? undefined : findCommand(rest[0]);
    if (rest[0] !== undefined && !command) throw new UsageError(`unknown command "${rest[0]}" (gatehouse-admin help lists them)`);
    return { command, values: {}, positionals: [], json: false, help: true };
  }
  const command = findCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}" (gatehouse-admin help lists them)`);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([key, spec]) => [
          key,
          { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...('short' in spec && spec.short ? { short: spec.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    }) as { values: Record<string, unknown>; positionals: string[] };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const option = /'(--?[\w-]+)/.exec((error as Error).message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command.name} has no option ${option ?? ''} (gatehouse-admin help ${command.name})`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`option ${option ?? ''} of ${command.name} ${/argument missing/.test((error as Error).message) ? 'needs a value' : 'takes no value'}`);
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const help = parsed.values.help === true;
  const expected = command.arguments ?? [];
  if (!help && parsed.positionals.length !== expected.length) {
    throw new UsageError(
      expected.length
        ? `${command.name} takes ${expected.map((a) => `<${a.name}>`).join(' ')} (gatehouse-admin help ${command.name})`
        : `${command.name} takes no arguments, got "${parsed.positionals[0]}"`,
    );
  }
  return { command, values: parsed.values, positionals: parsed.positionals, json: parsed.values.json === true, help };
}
