import * as http from 'node:http';
import * as https from 'node:https';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { Clock } from '../common/clock';
import { NonPublicAddressError, nonPublicLiteral, publicOnlyLookup } from '../common/ip-addresses';
import { AppConfig } from '../config/app-config';
import { KeysService, type SigningAlg } from '../keys/keys.service';
import type { LogoutNotification } from '../sessions/logout-notification.entity';
import { LogoutNotificationsService } from '../sessions/logout-notifications.service';

/** OIDC Back-Channel Logout 1.0 §2.4: the event that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** How long one POST may take: a slow receiver must not hold the queue (node-oidc-provider uses 2.5 s, Keycloak 10 s). */
export const DELIVERY_TIMEOUT_MS = 5_000;
/** Attempts before a notification is given up (about 1.4 hours of back-off in all). */
export const MAX_ATTEMPTS = 10;
/** How long a claimed row stays with the instance sending it; past that another instance may take it. */
const CLAIM_MS = 60_000;
const BATCH = 20;
/** A logout token is short-lived: it is only good for the POST that carries it (OIDC Back-Channel Logout §2.4). */
const LOGOUT_TOKEN_TTL_SECONDS = 120;

/** The outcome of one POST: error is null when the receiver took it; refused when JWKS_URI_BLOCK_PRIVATE kept it from being sent. */
interface Delivery {
  error: string | null;
  refused?: NonPublicAddressError;
}

/** Seconds until the next attempt after `attempts` failed ones: 10 s, 20 s, 40 s ... capped at an hour. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(10 * 2 ** Math.max(0, attempts - 1), 3600);
}

/**
 * Delivers the queued back-channel logouts (OIDC Back-Channel Logout 1.0): a signed logout token
 * (`typ: logout+jwt`; iss aud iat exp jti sub sid events; never a nonce) POSTed form-encoded to the
 * client's backchannel_logout_uri with a short timeout. Any 2xx is delivered; anything else (an
 * error status, a redirect, a timeout, a refused connection) is retried with exponential back-off.
 * With JWKS_URI_BLOCK_PRIVATE=true the receiver's host must be, and resolve only to, public
 * addresses, checked on the addresses actually connected to (no DNS-rebinding gap); a delivery
 * refused so is given up at once, logged and audited (`backchannel_logout.refused`).
 * Rows are claimed one by one with a conditional UPDATE, so several instances share the queue and
 * never send a row twice at the same time; the queue is in the database, so a restart loses none.
 * It runs when this instance queues something, and every LOGOUT_DELIVERY_INTERVAL_SECONDS for rows
 * queued elsewhere, due again, or left by a stopped instance.
 */
@Injectable()
export class BackchannelLogoutService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BackchannelLogoutService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly queue: LogoutNotificationsService,
    private readonly clients: ClientsService,
    private readonly keys: KeysService,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.onEnqueued(() => this.kick());
    if (this.config.logoutDeliveryIntervalSeconds > 0) {
      this.timer = setInterval(() => this.kick(), this.config.logoutDeliveryIntervalSeconds * 1000);
      this.timer.unref();
    }
    // Rows a previous run of the service left behind.
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Starts a delivery run, or asks the running one to look again when it is done. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Delivers every notification due now; resolves when the queue has nothing due left. */
  async deliverDue(): Promise<number> {
    let delivered = 0;
    for (;;) {
      if (this.stopped) return delivered;
      const rows = await this.queue.claimDue(BATCH, CLAIM_MS);
      if (!rows.length) return delivered;
      const results = await Promise.all(rows.map((row) => this.deliver(row)));
      delivered += results.filter(Boolean).length;
    }
  }

  private async run(): Promise<void> {
    try {
      await this.deliverDue();
    } catch (error) {
      this.logger.warn(`Back-channel logout delivery failed: ${(error as Error).message}`);
    }
  }

  private async deliver(row: LogoutNotification): Promise<boolean> {
    const client = await this.clients.findById(row.clientId);
    if (!client?.backchannelLogoutUri || client.disabled) {
      await this.queue.discard(row);
      return false;
    }
    const { error, refused } = await this.post(client.backchannelLogoutUri, await this.logoutToken(client, row));
    if (refused) {
      // Not retried: the next attempt would be refused as well (or, after a DNS change, reach what was refused).
      this.logger.warn(`Back-channel logout to client "${client.clientId}" refused: ${refused.message}; not sent, not retried`);
      await this.queue.attemptFailed(row, refused.message, null);
      await this.audit.record({
        type: 'backchannel_logout.refused',
        userId: row.userId,
        clientId: client.clientId,
        details: { sid: row.sessionId, jti: row.id, host: refused.host, address: refused.address },
      });
      return false;
    }
    if (!error) {
      await this.queue.delivered(row);
      return true;
    }
    const attempts = row.attempts + 1;
    const retryAt = attempts >= MAX_ATTEMPTS ? null : new Date(this.clock.nowMs() + retryDelaySeconds(attempts) * 1000);
    this.logger.warn(
      `Back-channel logout to client "${client.clientId}" failed (attempt ${attempts}): ${error}; ${retryAt ? `retrying at ${retryAt.toISOString()}` : 'giving up'}`,
    );
    await this.queue.attemptFailed(row, error, retryAt);
    if (!retryAt) {
      await this.audit.record({
        type: 'backchannel_logout.failed',
        userId: row.userId,
        clientId: client.clientId,
        details: { sid: row.sessionId, jti: row.id, attempts, error },
      });
    }
    return false;
  }

  /** OIDC Back-Channel Logout 1.0 §2.4; the row's id is the jti, the same on every attempt. */
  logoutToken(client: Client, row: LogoutNotification): Promise<string> {
    const now = this.clock.nowSeconds();
    return this.keys.sign(
      {
        iss: this.config.issuer,
        aud: client.clientId,
        iat: now,
        exp: now + LOGOUT_TOKEN_TTL_SECONDS,
        jti: row.id,
        sub: row.userId,
        sid: row.sessionId,
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      },
      { alg: client.idTokenSignedResponseAlg as SigningAlg, typ: 'logout+jwt' },
    );
  }

  /**
   * The POST of §2.5, with Node's http client rather than fetch: it takes the `lookup` that checks
   * the addresses connected to, and never follows a redirect.
   */
  private post(uri: string, logoutToken: string): Promise<Delivery> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return Promise.resolve({ error: 'not a URL' });
    }
    const block = this.config.jwksUriBlockPrivate;
    const literal = block ? nonPublicLiteral(url) : null;
    if (literal) return Promise.resolve({ error: literal.message, refused: literal });
    const body = new URLSearchParams({ logout_token: logoutToken }).toString();
    return new Promise<Delivery>((resolve) => {
      let settled = false;
      const done = (delivery: Delivery) => {
        if (settled) return;
        settled = true;
        resolve(delivery);
      };
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
          agent: false,
          ...(block ? { lookup: publicOnlyLookup } : {}),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          // The body is not needed; it is read (within the deadline) so the receiver can finish.
          response.resume();
          response.on('error', () => undefined);
          done({ error: status >= 200 && status < 300 ? null : `HTTP ${status}` });
        },
      );
      // One deadline for the whole exchange, lookup and connection included.
      const deadline = setTimeout(() => {
        done({ error: `no answer within ${DELIVERY_TIMEOUT_MS} ms` });
        request.destroy();
      }, DELIVERY_TIMEOUT_MS);
      deadline.unref();
      request.on('close', () => clearTimeout(deadline));
      request.on('error', (error) => done(error instanceof NonPublicAddressError ? { error: error.message, refused: error } : { error: error.message || (error as { code?: string }).code || String(error) }));
      request.end(body);
    });
  }
}
