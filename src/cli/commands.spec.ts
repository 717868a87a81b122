import { COMMANDS, helpText, parseCommandLine } from './commands';
import { UsageError } from './cli-error';

const usage = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
};

describe(parseCommandLine.name, () => {
  it('reads a command, its repeated options, its argument and --json', () => {
    const create = parseCommandLine(['create-client', '--grant-type', 'password', '--grant-type', 'refresh_token', '--scope', 'openid api', '--json']);
    expect(create.command?.name).toBe('create-client');
    expect(create.values).toEqual({ 'grant-type': ['password', 'refresh_token'], scope: 'openid api', json: true });
    expect(create.json).toBe(true);
    const unlock = parseCommandLine(['unlock-user', 'alice@example.com']);
    expect(unlock.positionals).toEqual(['alice@example.com']);
    expect(unlock.json).toBe(false);
  });

  it('asks for help with no command, help, -h or --help', () => {
    for (const argv of [[], ['help'], ['--help'], ['-h']]) expect(parseCommandLine(argv)).toMatchObject({ help: true, command: undefined });
    expect(parseCommandLine(['help', 'migrate'])).toMatchObject({ help: true, command: { name: 'migrate' } });
    expect(parseCommandLine(['set-password', '-h'])).toMatchObject({ help: true, command: { name: 'set-password' } });
  });

  it('names what is wrong with a command line', () => {
    expect(usage(['frobnicate'])).toBe('unknown command "frobnicate" (gatehouse-admin help lists them)');
    expect(usage(['help', 'frobnicate'])).toBe('unknown command "frobnicate" (gatehouse-admin help lists them)');
    expect(usage(['create-client', '--password', 'x'])).toBe('create-client has no option --password (gatehouse-admin help create-client)');
    expect(usage(['create-client', '--scope'])).toBe('option --scope of create-client needs a value');
    expect(usage(['create-user', '--password-stdin=yes'])).toBe('option --password-stdin of create-user takes no value');
    expect(usage(['set-password'])).toBe('set-password takes <user> (gatehouse-admin help set-password)');
    expect(usage(['set-password', 'a', 'b'])).toBe('set-password takes <user> (gatehouse-admin help set-password)');
    expect(usage(['migrate', 'now'])).toBe('migrate takes no arguments, got "now"');
  });
});

describe(helpText.name, () => {
  it('lists every command, and every option of one command', () => {
    const all = helpText();
    for (const command of COMMANDS) expect(all).toContain(`  ${command.name}  `.replace(/ {2}$/, ''));
    const one = helpText(COMMANDS.find((c) => c.name === 'create-user'));
    for (const option of ['--username NAME', '--password-stdin', '--initial', '--fields JSON', '--json', '-h, --help']) expect(one).toContain(option);
  });
});
