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
import { addressKey } from '../common/ip-addresses';

/**
 * Audit events of failures that name no registered client, per minute and instance, whatever the
 * addresses (per address, CLIENT_AUTH_FAILURE_LIMIT applies).
 */
export const UNREGISTERED_AUDIT_TOTAL = 600;
const MAX_AUDIT_CLIENT_ID_LENGTH = 128;
/** (client_id, address) pairs remembered as free of failures, per instance. */
const MAX_CLEAN_ENTRIES = 10_000;

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
  /**
   * (client_id → address → when) pairs whose last read found no failure this minute and no lockout
   * row: their next successes within CACHE_TTL_SECONDS skip the read, so a warm client_credentials
   * request costs no statement. Any failure of the client seen here forgets the client at once;
   * failures counted by another instance apply here within CACHE_TTL_SECONDS, and only to an
   * address that has just authenticated successfully here (a wrong guess is a failure, which always
   * reads and counts), so the budget of guesses per address and minute is unchanged.
   */
  private readonly clean = new Map<string, Map<string, number>>();
  private cleanEntries = 0;

  constructor(
    private readonly failures: ClientAuthFailuresService,
    private readonly policies: PolicyService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * A strategy proved `client`: one read of its failure counts (none while the pair is remembered
   * as free of failures, see `clean`). Throws 429 when its address is out
   * of failures for this minute, and the `locked` failure (counted and audited) when it is locked.
   */
  async succeeded(req: FastifyRequest, client: Client): Promise<void> {
    const now = this.clock.nowMs();
    const address = addressKey(req.ip);
    const checkedAt = this.clean.get(client.clientId)?.get(address);
    if (checkedAt !== undefined && now >= checkedAt && now - checkedAt < this.config.cacheTtlSeconds * 1000) return;
    const state = await this.failures.state(client.clientId, address, now);
    this.assertNotThrottled(state, now);
    if (!state.lockout) {
      if (state.windowFailures === 0) this.rememberClean(client.clientId, address, now);
      return;
    }
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
    if (client) this.forgetClean(client.clientId);
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

  private rememberClean(clientId: string, address: string, now: number): void {
    if (this.config.cacheTtlSeconds === 0) return;
    // Bounded: a burst of new addresses empties the memory rather than growing it.
    if (this.cleanEntries >= MAX_CLEAN_ENTRIES) {
      this.clean.clear();
      this.cleanEntries = 0;
    }
    let addresses = this.clean.get(clientId);
    if (!addresses) this.clean.set(clientId, (addresses = new Map()));
    if (!addresses.has(address)) this.cleanEntries++;
    addresses.set(address, now);
  }

  private forgetClean(clientId: string): void {
    const addresses = this.clean.get(clientId);
    if (!addresses) return;
    this.cleanEntries -= addresses.size;
    this.clean.delete(clientId);
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
