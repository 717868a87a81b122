import { pkceVerifies } from './pkce';

describe(pkceVerifies.name, () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('verifies the RFC 7636 S256 example', () => {
    expect(pkceVerifies('S256', challenge, verifier)).toBe(true);
  });

  it('refuses a different verifier, and the challenge presented as its own verifier', () => {
    expect(pkceVerifies('S256', challenge, `${verifier.slice(0, -1)}N`)).toBe(false);
    expect(pkceVerifies('S256', challenge, challenge)).toBe(false);
  });

  it('compares plain verifiers as they are', () => {
    expect(pkceVerifies('plain', verifier, verifier)).toBe(true);
    expect(pkceVerifies('plain', verifier, verifier.toLowerCase())).toBe(false);
  });

  it('refuses verifiers outside 43-128 unreserved characters, and unknown methods', () => {
    expect(pkceVerifies('plain', 'a'.repeat(42), 'a'.repeat(42))).toBe(false);
    expect(pkceVerifies('plain', 'a'.repeat(129), 'a'.repeat(129))).toBe(false);
    expect(pkceVerifies('plain', `${'a'.repeat(42)}/`, `${'a'.repeat(42)}/`)).toBe(false);
    expect(pkceVerifies('S512', challenge, verifier)).toBe(false);
  });
});
