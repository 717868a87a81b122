import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientsService } from '../clients/clients.service';
import { methodNotAllowed, oauthEndpointAt } from '../oauth/endpoints';

/** What CORS needs of a client: the origins whose browser apps may read the responses meant for it. */
export interface CorsClient {
  corsOrigins(): ReadonlySet<string>;
}

/**
 * A request to an endpoint with CORS. `client` is the client its response is for, once known: the
 * authenticated client at the token and revocation endpoints (set by ClientAuthentication), the access
 * token's client at UserInfo.
 */
export type CorsRequest = FastifyRequest & { client?: CorsClient };

/** Request headers a browser app may send: `Authorization` (Bearer at UserInfo, Basic for a confidential client) and `Content-Type`. */
export const CORS_ALLOWED_REQUEST_HEADERS = 'Authorization, Content-Type';
/** Response headers the app may read besides the CORS-safelisted ones: the challenge of a 401 and the wait of a 429. */
export const CORS_EXPOSED_RESPONSE_HEADERS = 'WWW-Authenticate, Retry-After';
/** How long a browser may reuse a preflight's answer (Chromium caps it at two hours). */
export const CORS_PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for browser apps (SPEC §4). Discovery and JWKS answer any origin (their controllers say
 * so, and preflights here). The token, UserInfo and revocation endpoints answer a preflight for any
 * origin some enabled client registered (a preflight names no client), and let the app read the
 * response itself only when its origin is one of the client's: the authenticated client's, or the
 * access token's client's at UserInfo. Errors are readable too, so that the app can act on them;
 * when no client could be established (bad credentials, a bad token) the registered origins decide,
 * as for the preflight. Never in credentials mode: no cookie is needed here, and none is accepted.
 */
@Injectable()
export class CorsService {
  private readonly logger = new Logger(CorsService.name);

  constructor(private readonly clients: ClientsService) {}

  /**
   * The headers of the answer to a preflight (Fetch: OPTIONS with Origin and
   * Access-Control-Request-Method). An origin that may not go on gets none of the CORS headers, so
   * the browser stops there. Any other OPTIONS request is a wrong method, as before CORS.
   */
  async preflightHeaders(req: FastifyRequest): Promise<Record<string, string>> {
    const endpoint = oauthEndpointAt(req.url);
    if (!endpoint?.cors) throw new NotFoundException();
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || req.headers['access-control-request-method'] === undefined) throw methodNotAllowed(endpoint);
    const allowed = {
      'Access-Control-Allow-Methods': endpoint.methods.join(', '),
      'Access-Control-Allow-Headers': CORS_ALLOWED_REQUEST_HEADERS,
      'Access-Control-Max-Age': String(CORS_PREFLIGHT_MAX_AGE_SECONDS),
    };
    if (endpoint.cors === 'any-origin') return { 'Access-Control-Allow-Origin': '*', ...allowed };
    if (!(await this.clients.registeredOrigins()).has(origin)) return { Vary: 'Origin' };
    return { 'Access-Control-Allow-Origin': origin, ...allowed, Vary: 'Origin' };
  }

  /**
   * Adds the CORS headers to the response of a request that carried `origin`, at the endpoints
   * whose responses depend on it (whatever the status). Never throws: a database outage while
   * reading the registered origins leaves the response (then a 503 anyway) without them.
   */
  async addResponseHeaders(req: CorsRequest, reply: FastifyReply, origin: string): Promise<void> {
    if (req.method === 'OPTIONS' || oauthEndpointAt(req.url)?.cors !== 'client-origins') return;
    addVaryOrigin(reply);
    if (!(await this.allows(req.client, origin))) return;
    void reply.header('Access-Control-Allow-Origin', origin);
    void reply.header('Access-Control-Expose-Headers', CORS_EXPOSED_RESPONSE_HEADERS);
  }

  private async allows(client: CorsClient | undefined, origin: string): Promise<boolean> {
    if (client) return client.corsOrigins().has(origin);
    try {
      return (await this.clients.registeredOrigins()).has(origin);
    } catch (error) {
      this.logger.warn(`CORS: the registered origins could not be read: ${(error as Error)?.message}`);
      return false;
    }
  }
}

function addVaryOrigin(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) void reply.header('Vary', 'Origin');
  else if (!String(vary).split(',').some((name) => name.trim().toLowerCase() === 'origin')) void reply.header('Vary', `${String(vary)}, Origin`);
}
