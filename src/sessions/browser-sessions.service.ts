import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { isUniqueViolation } from '../database/errors';
import { inTransaction } from '../database/retry';
import { BrowserSession, BrowserSessionClient } from './browser-session.entity';
import { LogoutNotificationsService } from './logout-notifications.service';

/** The policy's two lifetimes of a browser session (SPEC §5), in seconds. */
export interface SessionLifetimes {
  idleSeconds: number;
  maxSeconds: number;
}

export interface NewBrowserSession {
  userId: string;
  authTime: Date;
  amr: string[];
  ip?: string | null;
  userAgent?: string | null;
}

/** A session as the admin API lists it: never its id or cookie. */
export interface BrowserSessionSummary {
  createdAt: Date;
  lastSeenAt: Date;
  authTime: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  clients: string[];
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Browser single sign-on sessions (SPEC §5): the only code that reads or writes browser_sessions and
 * browser_session_clients. The cookie value is a 256-bit random string the database never holds
 * (only its SHA-256), so a copy of the database logs nobody in. Ending a session is one conditional
 * UPDATE (`ended_at IS NULL`): of any number of concurrent logouts on any number of instances,
 * exactly one ends it and queues the back-channel logouts of its clients.
 */
@Injectable()
export class BrowserSessionsService {
  constructor(
    private readonly clock: Clock,
    @InjectRepository(BrowserSession) private readonly sessions: Repository<BrowserSession>,
    @InjectRepository(BrowserSessionClient) private readonly sessionClients: Repository<BrowserSessionClient>,
    private readonly notifications: LogoutNotificationsService,
  ) {}

  /** Starts a session; the returned cookie value exists nowhere else. */
  async start(input: NewBrowserSession): Promise<{ session: BrowserSession; cookieValue: string }> {
    const cookieValue = randomToken();
    const now = this.clock.now();
    const session = this.sessions.create({
      id: randomUUID(),
      cookieHash: sha256Hex(cookieValue),
      userId: input.userId,
      authTime: input.authTime,
      amr: input.amr.join(' '),
      ip: input.ip ? input.ip.slice(0, 64) : null,
      userAgent: input.userAgent ? input.userAgent.slice(0, 255) : null,
      createdAt: now,
      lastSeenAt: now,
      endedAt: null,
      endedReason: null,
    });
    await this.sessions.insert(session);
    return { session, cookieValue };
  }

  /**
   * The live session a cookie value stands for, or null: unknown, ended, idle longer than the idle
   * lifetime, or older than the maximum lifetime.
   */
  async findLive(cookieValue: string | null | undefined, lifetimes: SessionLifetimes): Promise<BrowserSession | null> {
    if (!cookieValue || !COOKIE_VALUE.test(cookieValue)) return null;
    const session = await this.sessions.findOne({ where: { cookieHash: sha256Hex(cookieValue) } });
    return session && this.isLive(session, lifetimes) ? session : null;
  }

  /** The session with this id (the `sid`), live or not. */
  findById(id: string): Promise<BrowserSession | null> {
    if (id.length === 0 || id.length > 36) return Promise.resolve(null);
    return this.sessions.findOne({ where: { id } });
  }

  isLive(session: BrowserSession, { idleSeconds, maxSeconds }: SessionLifetimes): boolean {
    const now = this.clock.nowMs();
    return !session.endedAt && now < session.lastSeenAt.getTime() + idleSeconds * 1000 && now < this.expiresAt(session, maxSeconds).getTime();
  }

  /**
   * A new login in the same browser by the same user (prompt=login, max_age): same sid, new auth_time,
   * and a new cookie value, so that a value seen before the login is worth nothing after it.
   */
  async reauthenticated(session: BrowserSession, authTime: Date, amr: string[]): Promise<string> {
    const now = this.clock.now();
    const cookieValue = randomToken();
    const cookieHash = sha256Hex(cookieValue);
    await this.sessions.update({ id: session.id, endedAt: IsNull() }, { cookieHash, authTime, amr: amr.join(' '), lastSeenAt: now });
    Object.assign(session, { cookieHash, authTime, amr: amr.join(' '), lastSeenAt: now });
    return cookieValue;
  }

  /**
   * Records that the session signed the user in to a client (a code was issued): the idle lifetime
   * starts again, and the client gets a back-channel logout when the session ends.
   */
  async signedInTo(session: BrowserSession, clientId: string): Promise<void> {
    const now = this.clock.now();
    await this.sessions.update({ id: session.id, endedAt: IsNull() }, { lastSeenAt: now });
    session.lastSeenAt = now;
    try {
      await this.sessionClients.insert({ sessionId: session.id, clientId, createdAt: now, lastSeenAt: now });
    } catch (error) {
      // The session had signed in to this client before (maybe at the same moment on another instance).
      if (!isUniqueViolation(error)) throw error;
      await this.sessionClients.update({ sessionId: session.id, clientId }, { lastSeenAt: now });
    }
  }

  async clientsOf(sessionId: string): Promise<string[]> {
    const rows = await this.sessionClients.find({ where: { sessionId }, order: { createdAt: 'ASC', clientId: 'ASC' } });
    return rows.map((row) => row.clientId);
  }

  /**
   * Ends a session: one conditional UPDATE, and only the call that changed the row queues the
   * back-channel logouts of its clients, in the same transaction, so that no session ends without
   * its notifications (a crash in between loses neither or both). True when this call ended it.
   */
  async end(sessionId: string, reason: string): Promise<boolean> {
    const ended = await inTransaction(this.sessions.manager.connection, async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(BrowserSession)
        .set({ endedAt: this.clock.now(), endedReason: reason })
        .where('id = :sessionId AND ended_at IS NULL', { sessionId })
        .execute();
      if (result.affected !== 1) return false;
      const session = await manager.findOne(BrowserSession, { where: { id: sessionId }, select: { id: true, userId: true } });
      const clients = await manager.find(BrowserSessionClient, { where: { sessionId }, order: { createdAt: 'ASC', clientId: 'ASC' } });
      if (session) await this.notifications.enqueue({ sessionId, userId: session.userId, clientIds: clients.map((c) => c.clientId), reason }, manager);
      return true;
    });
    // After COMMIT: a delivery started earlier could not see the rows.
    if (ended) this.notifications.enqueued();
    return ended;
  }

  /**
   * Ends every browser session of a user (locked, disabled, deleted, password set, or signed out
   * everywhere by an administrator) and queues the back-channel logouts. The number ended.
   */
  async endAllForUser(userId: string, reason = 'admin'): Promise<number> {
    const open = await this.sessions.find({ where: { userId, endedAt: IsNull() }, select: { id: true } });
    let ended = 0;
    for (const { id } of open) if (await this.end(id, reason)) ended++;
    return ended;
  }

  /** The user's live sessions, newest first, for the admin API. */
  async listLive(userId: string, lifetimes: SessionLifetimes): Promise<BrowserSessionSummary[]> {
    const rows = (await this.sessions.find({ where: { userId, endedAt: IsNull() }, order: { createdAt: 'DESC' } })).filter((s) => this.isLive(s, lifetimes));
    const clients = rows.length ? await this.sessionClients.find({ where: { sessionId: In(rows.map((s) => s.id)) }, order: { createdAt: 'ASC', clientId: 'ASC' } }) : [];
    return rows.map((s) => ({
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      authTime: s.authTime,
      expiresAt: new Date(Math.min(s.lastSeenAt.getTime() + lifetimes.idleSeconds * 1000, this.expiresAt(s, lifetimes.maxSeconds).getTime())),
      ip: s.ip,
      userAgent: s.userAgent,
      clients: clients.filter((c) => c.sessionId === s.id).map((c) => c.clientId),
    }));
  }

  /**
   * Deletes the sessions that started before `startedBeforeMs` (past any maximum lifetime) or ended
   * before `endedBeforeMs`, with their client rows.
   */
  async purgeExpired(startedBeforeMs: number, endedBeforeMs: number): Promise<number> {
    const old = await this.sessions
      .createQueryBuilder('s')
      .select('s.id', 'id')
      .where('s.created_at < :startedBeforeMs OR s.ended_at < :endedBeforeMs', { startedBeforeMs, endedBeforeMs })
      .limit(1000)
      .getRawMany<{ id: string }>();
    if (!old.length) return 0;
    const ids = old.map((row) => row.id);
    await this.sessionClients.delete({ sessionId: In(ids) });
    const result = await this.sessions.delete({ id: In(ids) });
    return result.affected ?? 0;
  }

  private expiresAt(session: BrowserSession, maxSeconds: number): Date {
    return new Date(session.createdAt.getTime() + maxSeconds * 1000);
  }
}
