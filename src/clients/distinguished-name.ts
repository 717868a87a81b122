/**
 * X.500 distinguished names for tls_client_auth (RFC 8705 §2.1.2): the subject of a certificate,
 * read from its DER, and the `tls_client_auth_subject_dn` an administrator registered, parsed from an
 * RFC 4514 string. Both become lists of RDNs of (attribute OID, value), so that they can be compared
 * without depending on how either side spelled them.
 */

/** One attribute type and value; a value that is not a character string keeps its BER encoding, in hex. */
export type AttributeValueAssertion = { oid: string; value: string } | { oid: string; ber: string };
/** A relative distinguished name: usually one AVA, several when multi-valued ("CN=a+UID=b"). */
export type Rdn = AttributeValueAssertion[];
/** RDNs in certificate (ASN.1) order, most significant first: C, O, ..., CN. */
export type DistinguishedName = Rdn[];

/** RFC 4514 §3 names, plus those OpenSSL and Java print for common subject attributes. */
const NAMES: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  SURNAME: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  S: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  BUSINESSCATEGORY: '2.5.4.15',
  POSTALCODE: '2.5.4.17',
  NAME: '2.5.4.41',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  INITIALS: '2.5.4.43',
  GENERATIONQUALIFIER: '2.5.4.44',
  DNQUALIFIER: '2.5.4.46',
  PSEUDONYM: '2.5.4.65',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
  EMAIL: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
};

/** The short name used when formatting; the RFC 4514 §3 ones first. */
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'SERIALNUMBER',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

// ---------------------------------------------------------------------------------------------
// DER

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  end: number;
}

function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new Error('Truncated DER');
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('Unsupported DER tag');
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || contentStart + octets > limit) throw new Error('Unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i];
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error('Truncated DER');
  return { tag, start: offset, contentStart, end };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readTlv(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

function decodeOid(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(value < 40 ? 0 : value < 80 ? 1 : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (bytes.length === 0 || bytes[bytes.length - 1] & 0x80) throw new Error('Malformed OID');
  return arcs.join('.');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A BER/DER-encoded attribute value: the text of the usual string types, else the encoding itself. */
function decodeAttributeValue(oid: string, der: Uint8Array, tlv: Tlv): AttributeValueAssertion {
  const content = Buffer.from(der.subarray(tlv.contentStart, tlv.end));
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      return { oid, value: new TextDecoder('utf-8', { fatal: true }).decode(content) };
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString, read as Latin-1 like most implementations
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return { oid, value: content.toString('latin1') };
    case 0x1e: // BMPString: UTF-16BE
      if (content.length % 2) throw new Error('Malformed BMPString');
      return { oid, value: Buffer.from(content).swap16().toString('utf16le') };
    case 0x1c: {
      // UniversalString: UTF-32BE
      if (content.length % 4) throw new Error('Malformed UniversalString');
      let text = '';
      for (let i = 0; i < content.length; i += 4) text += String.fromCodePoint(content.readUInt32BE(i));
      return { oid, value: text };
    }
    default:
      return { oid, ber: hex(der.subarray(tlv.start, tlv.end)) };
  }
}

function decodeName(der: Uint8Array, name: Tlv): DistinguishedName {
  if (name.tag !== 0x30) throw new Error('Malformed Name');
  return childrenOf(der, name).map((set) => {
    if (set.tag !== 0x31) throw new Error('Malformed RDN');
    const avas = childrenOf(der, set).map((sequence) => {
      const [type, value, ...rest] = sequence.tag === 0x30 ? childrenOf(der, sequence) : [];
      if (!type || type.tag !== 0x06 || !value || rest.length) throw new Error('Malformed AttributeTypeAndValue');
      return decodeAttributeValue(decodeOid(der.subarray(type.contentStart, type.end)), der, value);
    });
    if (avas.length === 0) throw new Error('Empty RDN');
    return avas;
  });
}

/** The subject of a DER X.509 certificate (RFC 5280 §4.1), as its RDNs in certificate order. */
export function certificateSubject(der: Uint8Array): DistinguishedName {
  const certificate = readTlv(der, 0);
  const [tbs] = childrenOf(der, certificate);
  if (certificate.tag !== 0x30 || tbs?.tag !== 0x30) throw new Error('Malformed certificate');
  const fields = childrenOf(der, tbs);
  // version [0] EXPLICIT is optional; then serialNumber, signature, issuer, validity, subject.
  const subject = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4];
  if (!subject) throw new Error('Malformed certificate');
  return decodeName(der, subject);
}

// ---------------------------------------------------------------------------------------------
// Strings

function attributeType(raw: string): string | null {
  const type = raw.trim().replace(/^oid\./i, '');
  if (/^\d+(\.\d+)+$/.test(type)) return type;
  return NAMES[type.toUpperCase()] ?? null;
}

/**
 * RFC 4514 §3 value syntax, plus RFC 2253/1779 quoting: `\` escapes a special character or gives
 * one UTF-8 byte as two hex digits; `#hex` is a BER encoding. Returns null when malformed.
 */
function attributeValue(oid: string, raw: string): AttributeValueAssertion | null {
  // Unescaped spaces around a value are not part of it (RFC 4514 §3 escapes significant ones).
  const trimmed = raw.replace(/^[ \t\r\n]+/, '').replace(/(?<!\\)[ \t\r\n]+$/, '');
  if (trimmed.startsWith('#')) {
    const berHex = trimmed.slice(1).trim();
    if (!/^([0-9a-fA-F]{2})+$/.test(berHex)) return null;
    const ber = Buffer.from(berHex, 'hex');
    try {
      const tlv = readTlv(ber, 0);
      if (tlv.end !== ber.length) return null;
      return decodeAttributeValue(oid, ber, tlv);
    } catch {
      return null;
    }
  }
  let text = trimmed;
  if (text.startsWith('"')) {
    const close = text.lastIndexOf('"');
    if (close === 0 || text.slice(close + 1).trim() !== '') return null;
    text = text.slice(1, close);
  }
  const chunks: Buffer[] = [];
  let run = '';
  const flush = () => {
    chunks.push(Buffer.from(run, 'utf8'));
    run = '';
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== '\\') {
      run += char;
      continue;
    }
    const pair = text.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(pair)) {
      flush();
      chunks.push(Buffer.from(pair, 'hex'));
      i += 2;
    } else if (i + 1 < text.length) {
      run += text[++i];
    } else {
      return null;
    }
  }
  flush();
  try {
    return { oid, value: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) };
  } catch {
    return null;
  }
}

/** Splits at unescaped, unquoted separators. */
function split(input: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const char = input[i];
    if (char === '\\' && i + 1 < input.length) {
      current += char + input[++i];
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (!quoted && separators.includes(char)) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * Parses a distinguished name as an administrator writes it: RFC 4514 (`CN=client,O=Example,C=DE`,
 * most significant RDN last), with RFC 2253/1779 leniencies (`;` between RDNs, spaces around `,`
 * `+` and `=`, quoted values), or OpenSSL's slash form (`/C=DE/O=Example/CN=client`). Attribute
 * types are the RFC 4514 names, a few other common ones (emailAddress, serialNumber, ...) or dotted
 * OIDs. Returns null when the string is not a non-empty DN.
 */
export function parseDistinguishedName(input: string): DistinguishedName | null {
  const text = input.replace(/^\s+/, '').replace(/(?<!\\)\s+$/, '');
  if (!text) return null;
  const slashForm = text.startsWith('/');
  const rdnStrings = slashForm ? split(text.slice(1), '/') : split(text, ',;');
  const rdns: DistinguishedName = [];
  for (const rdnString of rdnStrings) {
    const rdn: Rdn = [];
    for (const avaString of split(rdnString, '+')) {
      const equals = avaString.indexOf('=');
      if (equals <= 0) return null;
      const oid = attributeType(avaString.slice(0, equals));
      const ava = oid && attributeValue(oid, avaString.slice(equals + 1));
      if (!ava) return null;
      rdn.push(ava);
    }
    rdns.push(rdn);
  }
  // RFC 4514 strings list the most significant RDN last; the slash form lists it first, as certificates do.
  return slashForm ? rdns : rdns.reverse();
}

function escapeValue(value: string): string {
  return value
    .replace(/[\\"+,;<>=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

/** The RFC 4514 string of a DN (most significant RDN last), as shown in logs and the README. */
export function formatDistinguishedName(dn: DistinguishedName): string {
  return [...dn]
    .reverse()
    .map((rdn) =>
      rdn
        .map((ava) => `${SHORT_NAMES[ava.oid] ?? ava.oid}=${'ber' in ava ? `#${ava.ber}` : escapeValue(ava.value)}`)
        .join('+'),
    )
    .join(',');
}

/**
 * The comparison form of one AVA. String values compare like LDAP's caseIgnoreMatch, which the
 * usual subject attributes use: Unicode NFKC, case-folded, leading and trailing space removed and
 * inner runs of whitespace collapsed. Non-string values compare by their encoding.
 */
function avaKey(ava: AttributeValueAssertion): string {
  if ('ber' in ava) return `${ava.oid}#${ava.ber.toLowerCase()}`;
  return `${ava.oid}=${ava.value.normalize('NFKC').replace(/\s+/gu, ' ').trim().toLowerCase()}`;
}

function dnKey(dn: DistinguishedName): string[] {
  return dn.map((rdn) => rdn.map(avaKey).sort().join('+')).sort();
}

/**
 * Whether two DNs name the same subject: the same RDNs, each with the same attribute values, in
 * any order (the order of RDNs and of the AVAs inside a multi-valued RDN is not compared).
 */
export function sameDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  const left = dnKey(a);
  const right = dnKey(b);
  return left.length === right.length && left.every((key, i) => key === right[i]);
}
