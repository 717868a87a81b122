import { InvalidClient } from '../oauth/errors';
import type { Client, TokenEndpointAuthMethod } from '../clients/client.entity';

/**
 * Why a client authentication failed, for the audit trail only (admins read it at
 * `GET /admin/audit-events`). The client always gets the same `401 invalid_client` "Bad client
 * credentials", whatever the reason.
 */
export type ClientAuthFailureReason =
  | 'unknown_client'
  | 'wrong_secret'
  | 'wrong_method'
  | 'invalid_assertion'
  | 'expired_assertion'
  | 'replayed_assertion'
  | 'jwks_unavailable'
  | 'certificate_mismatch'
  | 'public_client'
  | 'disabled'
  | 'locked'
  | 'malformed_credentials'
  | 'no_credentials';

export interface ClientAuthFailureDetails {
  /** The registered client the credentials named, when there is one. */
  client?: Client | null;
  /** The client_id presented, when no registered client has it (or none was readable). */
  clientId?: string;
  /** wrong_method: the method the request used. */
  presented?: TokenEndpointAuthMethod;
}

/**
 * An InvalidClient that knows why. It renders exactly as InvalidClient (same class fields, same
 * filter), so the reason never reaches the wire; it never holds the presented secret or assertion.
 */
export class ClientAuthFailure extends InvalidClient {
  readonly client: Client | null;
  readonly clientId: string | null;
  readonly presented?: TokenEndpointAuthMethod;

  constructor(
    readonly reason: ClientAuthFailureReason,
    details: ClientAuthFailureDetails = {},
  ) {
    super();
    this.client = details.client ?? null;
    this.clientId = details.client?.clientId ?? details.clientId ?? null;
    this.presented = details.presented;
  }

  /** What the audit event keeps: the reason, and for wrong_method both methods. */
  auditDetails(): Record<string, string> {
    const details: Record<string, string> = { reason: this.reason };
    if (this.presented) details.method_presented = this.presented;
    if (this.reason === 'wrong_method' && this.client) details.method_registered = this.client.tokenEndpointAuthMethod;
    return details;
  }
}
