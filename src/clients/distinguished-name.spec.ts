import { CertificateFactory } from '../../test/support/certificates';
import { certificateSubject, formatDistinguishedName, parseDistinguishedName, sameDistinguishedName } from './distinguished-name';

describe('distinguished names (RFC 4514, RFC 8705 §2.1.2)', () => {
  const certs = new CertificateFactory();
  afterAll(() => certs.remove());

  const parse = (dn: string) => {
    const parsed = parseDistinguishedName(dn);
    if (!parsed) throw new Error(`did not parse: ${dn}`);
    return parsed;
  };

  describe(certificateSubject.name, () => {
    it('reads the subject RDNs from the DER, in certificate order', () => {
      const cert = certs.selfSigned('/C=DE/ST=Berlin/O=Example GmbH/OU=Payments/CN=billing.example.com');
      const subject = certificateSubject(cert.x509.raw);
      expect(subject).toEqual([
        [{ oid: '2.5.4.6', value: 'DE' }],
        [{ oid: '2.5.4.8', value: 'Berlin' }],
        [{ oid: '2.5.4.10', value: 'Example GmbH' }],
        [{ oid: '2.5.4.11', value: 'Payments' }],
        [{ oid: '2.5.4.3', value: 'billing.example.com' }],
      ]);
      expect(formatDistinguishedName(subject)).toBe('CN=billing.example.com,OU=Payments,O=Example GmbH,ST=Berlin,C=DE');
    });

    it('decodes UTF8String values, escapes specials when formatting, and reads multi-valued RDNs', () => {
      const cert = certs.selfSigned('/O=Müller, Söhne \\+ Co/CN=app+UID=42', { extraArgs: ['-multivalue-rdn'] });
      const subject = certificateSubject(cert.x509.raw);
      expect(subject).toEqual([
        [{ oid: '2.5.4.10', value: 'Müller, Söhne + Co' }],
        expect.arrayContaining([{ oid: '2.5.4.3', value: 'app' }, { oid: '0.9.2342.19200300.100.1.1', value: '42' }]),
      ]);
      expect(formatDistinguishedName(subject)).toMatch(/^(CN=app\+UID=42|UID=42\+CN=app),O=Müller\\, Söhne \\\+ Co$/);
    });

    it('refuses bytes that are not a certificate', () => {
      expect(() => certificateSubject(Buffer.from('3003020101', 'hex'))).toThrow();
      expect(() => certificateSubject(Buffer.from('30ff', 'hex'))).toThrow();
      expect(() => certificateSubject(Buffer.alloc(0))).toThrow();
    });
  });

  describe(parseDistinguishedName.name, () => {
    it('reads RFC 4514 strings, most significant RDN last', () => {
      expect(parse('CN=client,O=Example,C=DE')).toEqual([
        [{ oid: '2.5.4.6', value: 'DE' }],
        [{ oid: '2.5.4.10', value: 'Example' }],
        [{ oid: '2.5.4.3', value: 'client' }],
      ]);
    });

    it('reads the OpenSSL slash form, most significant RDN first', () => {
      expect(parse('/C=DE/O=Example/CN=client')).toEqual(parse('CN=client,O=Example,C=DE'));
    });

    it('reads escapes, hex-escaped UTF-8, quoted values, #BER values, OIDs and RFC 1779 spacing', () => {
      expect(parse('CN=a\\,b\\+c\\\\d')).toEqual([[{ oid: '2.5.4.3', value: 'a,b+c\\d' }]]);
      expect(parse('CN=M\\C3\\BCller')).toEqual([[{ oid: '2.5.4.3', value: 'Müller' }]]);
      expect(parse('O="Example, Inc."')).toEqual([[{ oid: '2.5.4.10', value: 'Example, Inc.' }]]);
      expect(parse('CN=#0c03616263')).toEqual([[{ oid: '2.5.4.3', value: 'abc' }]]);
      expect(parse('2.5.4.3=x; OID.2.5.4.10 = y')).toEqual([[{ oid: '2.5.4.10', value: 'y' }], [{ oid: '2.5.4.3', value: 'x' }]]);
      expect(parse('C = DE , O = Example ')).toEqual(parse('C=DE,O=Example'));
      expect(parse('CN=trailing\\ ')).toEqual([[{ oid: '2.5.4.3', value: 'trailing ' }]]);
      expect(parse('emailAddress=ops@example.com,E=x@example.com')).toEqual([
        [{ oid: '1.2.840.113549.1.9.1', value: 'x@example.com' }],
        [{ oid: '1.2.840.113549.1.9.1', value: 'ops@example.com' }],
      ]);
    });

    it.each(['', '   ', 'CN', 'CN=a,', 'FOO=bar', 'CN=a\\', 'CN=#zz', 'CN=#0c05ab', 'CN="open', 'CN=\\ff\\fe', '=x'])('refuses %j', (dn) => {
      expect(parseDistinguishedName(dn)).toBeNull();
    });
  });

  describe(sameDistinguishedName.name, () => {
    const subject = certificateSubject(certs.selfSigned('/C=DE/O=Example  GmbH/OU=Payments/CN=billing.example.com').x509.raw);

    it.each([
      'CN=billing.example.com,OU=Payments,O=Example  GmbH,C=DE',
      'cn=Billing.Example.com, ou=payments, o=example gmbh, c=de',
      'C=DE,O=Example GmbH,OU=Payments,CN=billing.example.com',
      '/C=DE/O=Example GmbH/OU=Payments/CN=billing.example.com',
      '2.5.4.3=billing.example.com,2.5.4.11=Payments,2.5.4.10=Example GmbH,2.5.4.6=DE',
    ])('matches %j (order, case and whitespace do not matter)', (dn) => {
      expect(sameDistinguishedName(subject, parse(dn))).toBe(true);
    });

    it.each([
      'CN=billing.example.com,OU=Payments,O=Example GmbH',
      'CN=billing.example.com,OU=Payments,O=Example GmbH,C=DE,L=Berlin',
      'CN=billing.example.org,OU=Payments,O=Example GmbH,C=DE',
      'CN=billing.example.com+OU=Payments,O=Example GmbH,C=DE',
      'CN=billing.example.com,OU=Payments,OU=Payments,O=Example GmbH,C=DE',
      'CN=billing.example.com,OU=Payments,O=ExampleGmbH,C=DE',
    ])('does not match %j', (dn) => {
      expect(sameDistinguishedName(subject, parse(dn))).toBe(false);
    });
  });
});
