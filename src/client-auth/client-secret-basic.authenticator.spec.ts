import type { FastifyRequest } from 'fastify';
import { BasicStrategy } from 'passport-http';
import type { ClientsService } from '../clients/clients.service';
import type { ClientAuthStrategies } from './client-auth-strategies';
import { ClientSecretBasicAuthenticator } from './client-secret-basic.authenticator';

type Outcome = { verify: [string, string] } | 'fail';

/**
 * Runs one authenticate() the way passport does: on an object derived from the strategy, with the
 * actions passport adds, and with the verify callback replaced by a recorder.
 */
function attempt(strategy: ClientSecretBasicAuthenticator, authenticate: (this: unknown, req: unknown) => void, authorization?: string): Outcome {
  let outcome: Outcome | undefined;
  const run = Object.assign(Object.create(strategy) as object, {
    _verify: (_req: unknown, userid: string, password: string) => (outcome = { verify: [userid, password] }),
    fail: () => (outcome = 'fail'),
    success: () => {
      throw new Error('unexpected success');
    },
    error: (error: unknown) => {
      throw error;
    },
  });
  const req = { headers: authorization === undefined ? {} : { authorization } } as FastifyRequest;
  authenticate.call(run, req);
  if (!outcome) throw new Error('authenticate() decided nothing');
  return outcome;
}

describe(ClientSecretBasicAuthenticator.name, () => {
  const strategy = new ClientSecretBasicAuthenticator({} as ClientsService, { register: () => undefined } as unknown as ClientAuthStrategies);
  const passportHttp = BasicStrategy.prototype.authenticate as (this: unknown, req: unknown) => void;
  const ours = strategy.authenticate as (this: unknown, req: unknown) => void;
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  it.each([
    [`Basic ${b64('client:secret')}`],
    [`basic ${b64('client:secret')}`],
    [`BASIC ${b64('my%20client:s%2Bcret')}`],
    [`Basic ${b64('a:b:c')}`],
    [`Basic ${b64('client:')}`],
    [`Basic ${b64(':secret')}`],
    [`Basic ${b64('no-colon')}`],
    [`Basic ${b64('client:secret')} trailing`],
    [`Basic  ${b64('client:secret')}`],
    ['Basic !!!'],
    ['Basic '],
    [`Basic ${b64('ünïcødé:sécrèt')}`],
  ])('reads %j as passport-http 0.3.0 does', (authorization) => {
    expect(attempt(strategy, ours, authorization)).toEqual(attempt(strategy, passportHttp, authorization));
  });

  it('fails without a Basic Authorization header, as passport-http does', () => {
    for (const authorization of [undefined, '', `Bearer ${b64('client:secret')}`]) {
      expect(attempt(strategy, ours, authorization)).toBe('fail');
      expect(attempt(strategy, passportHttp, authorization)).toBe('fail');
    }
  });

  it('decodes with Buffer.from: no DEP0005 deprecation check', () => {
    const source = ours.toString();
    expect(source).toContain('Buffer.from(');
    expect(source).not.toMatch(/new Buffer\(/);
    expect(passportHttp.toString()).toMatch(/new Buffer\(/);
  });
});
