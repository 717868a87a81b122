import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { ISSUER } from './app';
import { clientAssertion, JWT_BEARER, keyPair, type Signer } from './client-assertions';

/**
 * A client's jwks_uri that answers only when the test says so: a token request from a
 * private_key_jwt client whose keys are here is then in flight, inside the service, for as long as
 * the test wants (a slow request without sleeping). The fetcher gives up after 5 s: release sooner.
 */
export class HeldJwksServer {
  private readonly held: ServerResponse[] = [];
  private readonly keys = new Map<string, JWK>();
  private server!: Server;
  private holding = true;
  /** Fetches received so far. */
  hits = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.hits++;
      const key = this.keys.get(req.url ?? '');
      if (!key) return void res.writeHead(404).end();
      res.setHeader('content-type', 'application/jwk-set+json');
      (res as ServerResponse & { body?: string }).body = JSON.stringify({ keys: [key] });
      if (this.holding) this.held.push(res);
      else res.end((res as ServerResponse & { body?: string }).body);
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
  }

  /** A new key pair published at a path of its own: its jwks_uri, and the signer of its assertions. */
  async publish(name: string): Promise<{ jwksUri: string; signer: Signer }> {
    const pair = await keyPair('ES256', name);
    this.keys.set(`/${name}`, pair.jwk);
    return { jwksUri: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${name}`, signer: pair.signer };
  }

  /** Answers every fetch held so far, and every later one at once. */
  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) res.end((res as ServerResponse & { body?: string }).body);
  }

  /** Holds fetches again from now on. */
  hold(): void {
    this.holding = true;
  }

  get heldCount(): number {
    return this.held.length;
  }

  stop(): Promise<void> {
    this.release();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The form of a client_credentials request authenticated with private_key_jwt (a fresh assertion for `path`). */
export async function privateKeyJwtForm(clientId: string, signer: Signer, now: number, path = '/oauth2/token'): Promise<Record<string, string>> {
  const assertion = await clientAssertion({ clock: { nowSeconds: () => now } } as never, clientId, signer, { aud: `${ISSUER}${path}` });
  return { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion };
}
