import type { Client } from '../clients/client.entity';
import { InvalidRequest } from '../oauth/errors';
import { GRANT_TYPES } from '../oauth/grant-types';
import { parseParameters, requiredString } from './grant-parameters';
import { grantFieldsSchema, grantRequestExamples, grantsDescription, GRANTS } from './grants';
import { ISSUE_OPTIONS } from './issue-options';

const client = { accessTokenFormat: 'opaque', defaultScope: 'openid', allowedScopes: () => new Set(['openid']) } as unknown as Client;

describe('GRANTS', () => {
  it('are exactly the grant types a client may register', () => {
    expect(GRANTS.map((g) => g.grantType).sort()).toEqual([...GRANT_TYPES].sort());
  });

  it('build the token endpoint body: each field once, saying which grants read it', () => {
    const fields = grantFieldsSchema();
    expect(fields.grant_type.enum).toEqual(GRANTS.map((g) => g.grantType));
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(['code', 'redirect_uri', 'code_verifier', 'refresh_token', 'username', 'password', 'token_format']));
    expect(fields.code.description).toBe('authorization_code: The authorization code');
    expect(fields.max_exchange_period).toMatchObject({ type: 'integer', minimum: 1, maximum: 4320 });
    expect(fields.max_exchange_period.description).toMatch(/^password, authorization_code, refresh_token: /);
  });

  it('describe each grant with the fields it reads and its example request', () => {
    const text = grantsDescription();
    expect(text).toContain('- `refresh_token` reads `refresh_token`, `refresh_expiry`, `max_exchange_period`, `token_format`, `app_tid`, `scope`.');
    expect(text).toContain('Example: `grant_type=password&username=alice&password=correct+horse+battery+staple&scope=openid+profile+offline_access`');
  });

  it("have an example request that their own parameters accept, with only documented fields", () => {
    const anyScope = { ...client, allowedScopes: () => ({ has: () => true }) } as unknown as Client;
    const fields = grantFieldsSchema();
    const examples = grantRequestExamples();
    expect(Object.keys(examples)).toEqual(GRANTS.map((g) => g.grantType));
    for (const grant of GRANTS) {
      const { grant_type, ...params } = examples[grant.grantType].value;
      expect(grant_type).toBe(grant.grantType);
      expect(() => parseParameters(grant.parameters, params, anyScope)).not.toThrow();
      for (const name of Object.keys(params)) expect({ grant: grant.grantType, name, documented: name in fields }).toEqual({ grant: grant.grantType, name, documented: true });
    }
  });
});

describe(parseParameters.name, () => {
  const parameters = { code: requiredString('code', 'The code'), issue: ISSUE_OPTIONS };

  it('returns typed values, with the client defaults', () => {
    expect(parseParameters(parameters, { code: 'c', refresh_expiry: '60', max_exchange_period: '2' }, client)).toEqual({
      code: 'c',
      issue: { format: 'opaque', refreshExpiry: 60, maxExchangePeriodHours: 2 },
    });
  });

  it('checks the parameters in the order the grant lists them: the first fault is the answer', () => {
    expect(() => parseParameters(parameters, { token_format: 'bogus' }, client)).toThrow(new InvalidRequest('code is required'));
    expect(() => parseParameters(parameters, { code: 'c', token_format: 'bogus', max_exchange_period: '0' }, client)).toThrow(
      new InvalidRequest('max_exchange_period must be a whole number of hours between 1 and 4320'),
    );
  });
});
