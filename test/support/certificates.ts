import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, type JWK } from 'jose';

/** The header a TLS-terminating proxy passes the client certificate in, in the tests. */
export const CLIENT_CERT_HEADER = 'X-SSL-Client-Cert';
/** The environment of an app behind such a proxy: supertest connects from 127.0.0.1. */
export const TLS_PROXY_ENV = { TRUSTED_PROXIES: '127.0.0.1', TRUSTED_CLIENT_CERT_HEADER: CLIENT_CERT_HEADER };

/**
 * Test certificates made with the `openssl` command line (Node can parse X.509 but not create it).
 * One temporary directory per CertificateFactory; remove() deletes it.
 */
export interface TestCertificate {
  pem: string;
  /** The PEM URL-encoded as nginx's $ssl_client_escaped_cert sends it. */
  escaped: string;
  x509: X509Certificate;
  privateKey: KeyObject;
  keyFile: string;
  certFile: string;
}

export type KeyType = 'rsa' | 'ec' | 'ed25519';

export class CertificateFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'gatehouse-certs-'));
  private counter = 0;

  /** `subject` in OpenSSL's slash form, e.g. "/C=DE/O=Example/CN=client". */
  selfSigned(subject: string, options: { keyType?: KeyType; days?: number; extraArgs?: string[] } = {}): TestCertificate {
    const name = `cert-${++this.counter}`;
    const keyFile = this.generateKey(name, options.keyType ?? 'ec');
    const certFile = join(this.dir, `${name}.pem`);
    openssl(['req', '-new', '-x509', '-key', keyFile, '-out', certFile, '-days', String(options.days ?? 2), '-subj', subject, '-utf8', ...(options.extraArgs ?? [])]);
    return this.load(keyFile, certFile);
  }

  /** A certificate for `subject` issued by `ca` (itself from selfSigned). */
  issued(ca: TestCertificate, subject: string, options: { keyType?: KeyType; days?: number; extraArgs?: string[] } = {}): TestCertificate {
    const name = `cert-${++this.counter}`;
    const keyFile = this.generateKey(name, options.keyType ?? 'ec');
    const csrFile = join(this.dir, `${name}.csr`);
    const certFile = join(this.dir, `${name}.pem`);
    openssl(['req', '-new', '-key', keyFile, '-out', csrFile, '-subj', subject, '-utf8', ...(options.extraArgs ?? [])]);
    openssl(['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', String(options.days ?? 2)]);
    return this.load(keyFile, certFile);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private generateKey(name: string, keyType: KeyType): string {
    const keyFile = join(this.dir, `${name}.key`);
    const args =
      keyType === 'rsa'
        ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
        : keyType === 'ec'
          ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
          : ['-algorithm', 'ED25519'];
    openssl(['genpkey', ...args, '-out', keyFile]);
    return keyFile;
  }

  private load(keyFile: string, certFile: string): TestCertificate {
    const pem = readFileSync(certFile, 'utf8');
    return {
      pem,
      escaped: encodeURIComponent(pem),
      x509: new X509Certificate(pem),
      privateKey: createPrivateKey(readFileSync(keyFile)),
      keyFile,
      certFile,
    };
  }

  /** Writes an OpenSSL config file (for extensions) and returns its path. */
  configFile(text: string): string {
    const file = join(this.dir, `config-${++this.counter}.cnf`);
    writeFileSync(file, text);
    return file;
  }
}

/** The certificate's public key as a JWK (self_signed_tls_client_auth registers it in jwks); `extra` adds members. */
export async function publicJwk(cert: TestCertificate, extra: Partial<JWK> = {}): Promise<JWK> {
  return { ...(await exportJWK(cert.x509.publicKey)), ...extra };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
