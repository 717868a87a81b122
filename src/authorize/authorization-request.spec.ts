import { collectParams, withQuery } from './authorization-request';

describe(withQuery.name, () => {
  it('adds parameters, keeping the query the redirect URI already has', () => {
    expect(withQuery('https://a.example/cb', { code: 'c', state: 's t' })).toBe('https://a.example/cb?code=c&state=s+t');
    expect(withQuery('https://a.example/cb?tenant=x%20y', { code: 'c' })).toBe('https://a.example/cb?tenant=x%20y&code=c');
    expect(withQuery('https://a.example/cb?', { code: 'c' })).toBe('https://a.example/cb?code=c');
  });

  it('leaves out undefined values', () => {
    expect(withQuery('https://a.example/cb', { error: 'access_denied', state: undefined })).toBe('https://a.example/cb?error=access_denied');
  });
});

describe(collectParams.name, () => {
  it('treats empty values as absent and sets repeated names apart (RFC 6749 §3.1)', () => {
    const { values, repeated } = collectParams({ client_id: 'a', scope: ['x', 'y'], state: '', other: 5 });
    expect({ ...values }).toEqual({ client_id: 'a' });
    expect([...repeated]).toEqual(['scope']);
  });
});
