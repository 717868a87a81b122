import { ConfigError, loadConfig } from './config/app-config';
import { DatabaseUnusableError } from './database/open-database';
import { startupFailure } from './startup-failure';

describe(startupFailure.name, () => {
  const config = loadConfig({ PORT: '3100' });
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('prints configuration and database errors as they are: one line naming the variable', () => {
    expect(startupFailure(new ConfigError('PORT', 'must be a whole number, got "x"'), config)).toBe('Invalid configuration: PORT must be a whole number, got "x"');
    expect(startupFailure(new DatabaseUnusableError('names database "gh", which does not exist'), config)).toBe(
      'Database unusable: DATABASE_URL names database "gh", which does not exist',
    );
  });

  it('names the port that is in use, and what to do', () => {
    expect(startupFailure(errno('EADDRINUSE', 'listen EADDRINUSE: address already in use 0.0.0.0:3100'), config)).toBe(
      'Cannot listen: PORT 3100 is already in use; stop the process that holds it, or set PORT to a free port',
    );
    expect(startupFailure(errno('EACCES', 'listen EACCES: permission denied 0.0.0.0:80'), config)).toMatch(/^Cannot listen: PORT 3100 needs privileges/);
  });

  it('keeps only the first line of anything else', () => {
    const error = new Error('Something broke\n    at Object.<anonymous> (x.js:1:1)');
    expect(startupFailure(error, config)).toBe('Gatehouse failed to start: Something broke');
    expect(startupFailure('text', config)).toBe('Gatehouse failed to start: text');
  });
});
