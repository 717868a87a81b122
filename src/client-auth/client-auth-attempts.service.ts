import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { OAuthError, TooManyRequests } from '../oauth/errors';
import type { Policy } from '../policy/policy.entity';
import { PolicyService } from '../policy/policy.service';
import type { Client } from '../clients/client.entity';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthFailuresService, type ClientFailureState } from './client-auth-failures.service';
import { addressKey } from './ip-addresses';

/**
 * Audit events of failures that name no registered client, per minute and instance, whatever the
 * addresses (per address, CLIENT_AUTH_FAILURE_LIMIT applies).
 */
export const UNREGISTERED_AUDIT_TOTAL = 600;
const MAX_AUDIT_CLIENT_ID_LENGTH = 128;

/**
 * What a client authentication attempt leaves behind, once the strategies have decided:
 *
 * - every failure is an audit event `client.auth.failure` whose details say why (for admins only:
 *   the client gets the same invalid_client whatever the reason). Failures that name no registered
 *   client (unknown client_id, unreadable credentials) are audited at most CLIENT_AUTH_FAILURE_LIMIT
 *   times per address and minute (the budget a registered client has per address before its 429),
 *   UNREGISTERED_AUDIT_TOTAL in all, per instance, so that a flood of made-up client_ids cannot grow
 *   the audit table without bound (CLIENT_AUTH_FAILURE_LIMIT=0 turns this bound off too);
 * - failures of a registered client count per (client_id, address) and minute
 *   (CLIENT_AUTH_FAILURE_LIMIT): past the limit that pair gets 429 with Retry-After, correct
 *   credentials included, until the minute ends; the same client from another address is unaffected;
 * - with the policy's client_lockout_threshold on, they also count toward locking the client_id
 *   (every address, every instance), and a locked client fails with invalid_client, audited `locked`.
 *   A success resets the count; so does POST /admin/clients/{id}/unlock.
 */
@Injectable()
export class ClientAuthAttempts {
  private auditMinute = -1;
  private auditedTotal = 0;
  private readonly auditedPerAddress = new Map<string, number>();

  constructor(
    private readonly failures: ClientAuthFailuresService,
    private readonly policies: PolicyService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * A strategy proved `client`: one read of its failure counts. Throws 429 when its address is out
   * of failures for this minute, and the `locked` failure (counted and audited) when it is locked.
   */
  async succeeded(req: FastifyRequest, client: Client): Promise<void> {
    const now = this.clock.nowMs();
    const address = addressKey(req.ip);
    const state = await this.failures.state(client.clientId, address, now);
    this.assertNotThrottled(state, now);
    if (!state.lockout) return;
    const policy = await this.policies.get();
    if (state.lockout.locked && policy.clientLockoutThreshold > 0) {
      throw await this.failed(req, new ClientAuthFailure('locked', { client }), { state, policy });
    }
    await this.failures.resetLockout(client.clientId);
  }

  /**
   * Authentication failed: counts and audits it, and returns what to answer (the failure itself, or
   * 429). A failure that names no registered client runs the same reads and look-alike writes that
   * store nothing (ClientAuthFailuresService.mirrorFailure): an unknown client_id must not be told
   * apart from a wrong secret by the work it causes.
   */
  async failed(req: FastifyRequest, failure: ClientAuthFailure, known: { state?: ClientFailureState; policy?: Policy } = {}): Promise<OAuthError> {
    const client = failure.client;
    const now = this.clock.nowMs();
    const address = addressKey(req.ip);
    const state = known.state ?? (await this.failures.state(client?.clientId ?? `nobody:${randomUUID()}`, address, now));
    const throttled = client && this.throttled(state, now);
    if (throttled) return throttled;
    const policy = known.policy ?? (await this.policies.get());
    const windowCounts = this.config.clientAuthFailureLimit > 0;
    if (!client) {
      await this.failures.mirrorFailure({ window: windowCounts, lockout: policy.clientLockoutThreshold > 0 }, now);
      await this.auditUnregistered(req, failure);
      return failure;
    }
    if (windowCounts) await this.failures.countWindowFailure(client.clientId, address, now);

    const details = failure.auditDetails();
    let lockedNow = false;
    if (policy.clientLockoutThreshold > 0 && failure.reason !== 'disabled') {
      if (state.lockout?.locked) {
        // Refused because of the lock, whatever the credentials were worth.
        if (failure.reason !== 'locked') details.credentials = failure.reason;
        details.reason = 'locked';
      } else {
        ({ lockedNow } = await this.failures.countLockoutFailure(client.clientId, policy.clientLockoutThreshold, policy.clientLockoutDurationSeconds * 1000, now));
      }
    }
    await this.audit.record({ type: 'client.auth.failure', clientId: client.clientId, ip: req.ip, details });
    if (lockedNow) {
      await this.audit.record({
        type: 'client.locked',
        clientId: client.clientId,
        ip: req.ip,
        details: { failures: policy.clientLockoutThreshold, duration_seconds: policy.clientLockoutDurationSeconds },
      });
    }
    return failure;
  }

  /** The admin unlock: clears the lock, its count and the client's per-address windows. */
  unlock(clientId: string): Promise<boolean> {
    return this.failures.clear(clientId);
  }

  private assertNotThrottled(state: ClientFailureState, now: number): void {
    const throttled = this.throttled(state, now);
    if (throttled) throw throttled;
  }

  private throttled(state: ClientFailureState, now: number): TooManyRequests | undefined {
    const limit = this.config.clientAuthFailureLimit;
    if (limit === 0 || state.windowFailures < limit) return undefined;
    return new TooManyRequests('Too many failed client authentications from this address. Try again later.', Math.ceil((state.windowEndMs - now) / 1000));
  }

  private async auditUnregistered(req: FastifyRequest, failure: ClientAuthFailure): Promise<void> {
    const minute = Math.floor(this.clock.nowMs() / 60_000);
    if (minute !== this.auditMinute) {
      this.auditMinute = minute;
      this.auditedTotal = 0;
      this.auditedPerAddress.clear();
    }
    const limit = this.config.clientAuthFailureLimit;
    const address = addressKey(req.ip);
    const count = this.auditedPerAddress.get(address) ?? 0;
    if (limit > 0 && (count >= limit || this.auditedTotal >= UNREGISTERED_AUDIT_TOTAL)) return;
    this.auditedPerAddress.set(address, count + 1);
    this.auditedTotal++;
    const clientId = failure.clientId !== null && failure.clientId.length <= MAX_AUDIT_CLIENT_ID_LENGTH ? failure.clientId : null;
    await this.audit.record({ type: 'client.auth.failure', clientId, ip: req.ip, details: failure.auditDetails() });
  }
}
