import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Repository, type EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { LogoutNotification } from './logout-notification.entity';

export interface EndedSession {
  sessionId: string;
  userId: string;
  clientIds: string[];
  reason: string;
}

/**
 * The queue of back-channel logouts (OIDC Back-Channel Logout 1.0 §2.7), in the database so that a
 * restart loses none and any instance can deliver them: the only code that reads or writes
 * logout_notifications. Delivery (signing and POSTing) belongs to the backchannel module, which
 * listens here to start at once instead of waiting for its next poll.
 */
@Injectable()
export class LogoutNotificationsService {
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    @InjectRepository(LogoutNotification) private readonly rows: Repository<LogoutNotification>,
  ) {}

  /** Called after rows were queued on this instance. */
  onEnqueued(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Queues one notification per client of an ended session, due at once; within the caller's
   * transaction when it passes its manager (then it calls {@link enqueued} after COMMIT).
   */
  async enqueue(ended: EndedSession, manager?: EntityManager): Promise<void> {
    if (!ended.clientIds.length) return;
    const now = this.clock.now();
    const rows = ended.clientIds.map((clientId) => ({
      id: randomUUID(),
      clientId,
      userId: ended.userId,
      sessionId: ended.sessionId,
      reason: ended.reason,
      attempts: 0,
      nextAttemptAt: now,
      claimedUntil: null,
      claimId: null,
      deliveredAt: null,
      failedAt: null,
      lastError: null,
      createdAt: now,
    }));
    if (manager) {
      await manager.insert(LogoutNotification, rows);
      return;
    }
    await this.rows.insert(rows);
    this.enqueued();
  }

  /** Tells the listeners (the delivery on this instance) that rows are waiting. */
  enqueued(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * Claims up to `limit` due notifications for `claimMs`: each by one conditional UPDATE, so a row
   * is sent by one instance at a time; a claim that outlives a crashed instance lapses and the row
   * is due again.
   */
  async claimDue(limit: number, claimMs: number): Promise<LogoutNotification[]> {
    const now = this.clock.nowMs();
    const candidates = await this.rows
      .createQueryBuilder('n')
      .select('n.id', 'id')
      .where('n.delivered_at IS NULL AND n.failed_at IS NULL AND n.next_attempt_at <= :now', { now })
      .andWhere('(n.claimed_until IS NULL OR n.claimed_until < :now)', { now })
      .orderBy('n.next_attempt_at', 'ASC')
      .limit(limit)
      .getRawMany<{ id: string }>();
    const claimed: string[] = [];
    const claimId = randomUUID();
    for (const { id } of candidates) {
      const result = await this.rows
        .createQueryBuilder()
        .update()
        .set({ claimId, claimedUntil: new Date(now + claimMs) })
        .where('id = :id AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= :now AND (claimed_until IS NULL OR claimed_until < :now)', { id, now })
        .execute();
      if (result.affected === 1) claimed.push(id);
    }
    return claimed.length ? this.rows.find({ where: { id: In(claimed), claimId } }) : [];
  }

  /** The receiver acknowledged it: never sent again. */
  async delivered(row: LogoutNotification): Promise<void> {
    await this.rows.update({ id: row.id, claimId: row.claimId ?? '' }, { deliveredAt: this.clock.now(), attempts: row.attempts + 1, claimedUntil: null, lastError: null });
  }

  /** Nothing to deliver (the client has no back-channel URI, or is gone). */
  async discard(row: LogoutNotification): Promise<void> {
    await this.rows.delete({ id: row.id, claimId: row.claimId ?? '' });
  }

  /** A failed attempt: due again at `retryAt`, or given up for good when it is null. */
  async attemptFailed(row: LogoutNotification, error: string, retryAt: Date | null): Promise<void> {
    await this.rows.update(
      { id: row.id, claimId: row.claimId ?? '' },
      {
        attempts: row.attempts + 1,
        lastError: error.slice(0, 255),
        claimedUntil: null,
        ...(retryAt ? { nextAttemptAt: retryAt } : { failedAt: this.clock.now() }),
      },
    );
  }

  /** Deletes delivered and given-up rows older than `beforeMs`. */
  async purgeFinished(beforeMs: number): Promise<number> {
    const result = await this.rows
      .createQueryBuilder()
      .delete()
      .where('(delivered_at IS NOT NULL AND delivered_at < :beforeMs) OR (failed_at IS NOT NULL AND failed_at < :beforeMs)', { beforeMs })
      .execute();
    return result.affected ?? 0;
  }

  /** Whether rows are waiting (for a caller that wants to know when the queue is empty). */
  async pending(): Promise<number> {
    return this.rows.count({ where: { deliveredAt: IsNull(), failedAt: IsNull() } });
  }
}
