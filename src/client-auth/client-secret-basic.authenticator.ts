import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { BasicStrategy } from 'passport-http';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure } from './client-auth-failure';
import {
  ClientAuthStrategies,
  NOT_PRESENTED,
  REGISTERED_BY_CLIENT_AUTH_STRATEGIES,
  validateClient,
  type StrategyOutcome,
} from './client-auth-strategies';
import { ClientAuthenticator, hasBasicAuthorization } from './client-authenticator';

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before base64. */
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The two halves passport-http read from the header, for authenticate(). */
const BASIC_CREDENTIALS = Symbol('basic credentials');
type BasicRequest = FastifyRequest & { [BASIC_CREDENTIALS]?: { userid: string; password: string } };

/**
 * What authenticate() below uses, as passport-http's own does: the verify callback passport-http
 * keeps (the PassportStrategy's, which calls validate), and the actions passport adds to the
 * strategy object of each attempt.
 */
interface BasicStrategyAttempt {
  _verify(req: FastifyRequest, userid: string, password: string, done: (error: unknown, user?: unknown, info?: unknown) => void): void;
  success(user: unknown): void;
  fail(info?: unknown): void;
  error(error: unknown): void;
}

/**
 * RFC 6749 §2.3.1 HTTP Basic: passport-http's BasicStrategy, as a PassportStrategy of
 * @nestjs/passport. Its validate() gets the client_id and secret passport-http split out of the
 * header; the rest is the common path of every method (validateClient).
 */
@Injectable()
export class ClientSecretBasicAuthenticator extends PassportStrategy(BasicStrategy) implements ClientAuthenticator {
  readonly method = 'client_secret_basic' as const;

  constructor(
    private readonly clients: ClientsService,
    strategies: ClientAuthStrategies,
  ) {
    super({ passReqToCallback: true });
    strategies.register(this.method, this);
  }

  /** See REGISTERED_BY_CLIENT_AUTH_STRATEGIES. */
  getPassportInstance() {
    return REGISTERED_BY_CLIENT_AUTH_STRATEGIES;
  }

  /**
   * passport-http 0.3.0's BasicStrategy.authenticate, step for step, except that the header is
   * decoded with Buffer.from: passport-http calls the deprecated `new Buffer()`, whose DEP0005 check
   * walks the call stack (to tell whether the caller is in node_modules) on each of a process's
   * first 10,000 calls, a cost every Basic-authenticated token request would pay. Outcomes are
   * passport-http's: no Basic header, or one it cannot split into "id:secret" with both halves
   * non-empty, fails; otherwise the verify callback (the PassportStrategy's validate) decides.
   */
  override authenticate(request: Parameters<BasicStrategy['authenticate']>[0]): void {
    const req = request as unknown as FastifyRequest;
    const attempt = this as unknown as BasicStrategyAttempt;
    if (!hasBasicAuthorization(req)) return attempt.fail(NOT_PRESENTED);
    const parts = req.headers.authorization!.split(' ');
    const credentials = parts.length < 2 ? [] : Buffer.from(parts[1], 'base64').toString().split(':');
    const [userid, password] = credentials;
    if (!userid || !password) return attempt.fail(new ClientAuthFailure('malformed_credentials'));
    attempt._verify(req, userid, password, (error, client, info) => {
      if (error) return attempt.error(error);
      if (!client) return attempt.fail(info);
      attempt.success(client);
    });
  }

  async validate(req: BasicRequest, userid: string, password: string): Promise<StrategyOutcome> {
    req[BASIC_CREDENTIALS] = { userid, password };
    return validateClient(this, req, { session: false, confidentialClientsOnly: false });
  }

  matches(req: FastifyRequest): boolean {
    return hasBasicAuthorization(req);
  }

  async authenticateClient(req: BasicRequest, params: OAuthParams): Promise<Client> {
    const credentials = req[BASIC_CREDENTIALS];
    const clientId = credentials && formDecode(credentials.userid);
    const secret = credentials && formDecode(credentials.password);
    if (!clientId || !secret) throw new ClientAuthFailure('malformed_credentials');
    if (params.client_id !== undefined && params.client_id !== clientId) throw new ClientAuthFailure('malformed_credentials', { clientId });
    const client = await this.clients.findById(clientId);
    if (!client) {
      this.clients.verifySecret(null, secret); // the same work as for a registered client
      throw new ClientAuthFailure('unknown_client', { clientId });
    }
    if (client.tokenEndpointAuthMethod !== this.method) throw new ClientAuthFailure('wrong_method', { client, presented: this.method });
    if (!this.clients.verifySecret(client, secret)) throw new ClientAuthFailure('wrong_secret', { client });
    return client;
  }
}
