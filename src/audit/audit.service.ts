import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { insertRowsSteps, SqlRunner, type SqlValue, type WriteStep } from '../database/sql-runner';
import { AuditEvent } from './audit-event.entity';

export interface AuditRecord {
  type: string;
  userId?: string | null;
  clientId?: string | null;
  ip?: string | null;
  /** Identifiers, reasons and field names only: never a password, secret or token. */
  details?: AuditEvent['details'];
}

export interface AuditQuery {
  user?: string;
  client?: string;
  type?: string;
  limit?: number;
}

/** A batch of `token.issued` events is written this long after its first event at the latest... */
export const AUDIT_BATCH_DELAY_MS = 50;
/** ...or as soon as it holds this many. */
export const AUDIT_BATCH_ROWS = 500;

const INSERT_HEAD = 'INSERT INTO audit_events (id, type, user_id, client_id, ip, details, created_at)';
const ROW_PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?)';

/** The bound values of one event's row, in INSERT_HEAD's column order. */
function rowParams(row: AuditEvent): SqlValue[] {
  return [row.id, row.type, row.userId, row.clientId, row.ip, JSON.stringify(row.details), row.createdAt];
}

/** The INSERTs of a batch of events (SqlRunner's multi-row chunks), in the order given. */
function insertSteps(rows: AuditEvent[]): WriteStep[] {
  return insertRowsSteps(INSERT_HEAD, ROW_PLACEHOLDERS, rows.map(rowParams));
}

/**
 * The audit log. Security events (login failures, locks, refresh token reuse, admin changes) are
 * written by `record` before the response that follows from them. The high-volume `token.issued`
 * events go through `recordTokenIssued`: kept in memory and written in batches (one multi-row
 * INSERT at most AUDIT_BATCH_DELAY_MS after the first event, or at AUDIT_BATCH_ROWS), and at
 * shutdown; a crash loses at most the batch in memory. AUDIT_TOKEN_EVENTS=false turns them off.
 */
@Injectable()
export class AuditService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(AuditService.name);
  private lastMs = 0;
  private sequence = 0;
  private pending: AuditEvent[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @InjectRepository(AuditEvent) private readonly repo: Repository<AuditEvent>,
    private readonly sql: SqlRunner,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Records an event. An audit write that fails is logged, never turned into a failed login or token request. */
  async record(event: AuditRecord): Promise<void> {
    try {
      // Committed before the response, together with the other rows written in the same turn of
      // the event loop (SqlRunner.insertRow: one commit for the group).
      await this.sql.insertRow(INSERT_HEAD, ROW_PLACEHOLDERS, rowParams(this.row(event)));
    } catch (error) {
      this.logger.warn(`Could not record audit event ${event.type}: ${(error as Error).message}`);
    }
  }

  /**
   * The row `record` writes, as a write of an atomic unit (SqlRunner): an event that must commit
   * with the change it reports, or not at all (a counted failed login and its lock). Unlike
   * `record`, a failure is not swallowed: the unit rolls back and the error reaches the caller.
   */
  recordStep(event: AuditRecord): WriteStep {
    return insertSteps([this.row(event)])[0];
  }

  /**
   * Queues a `token.issued` event for the next batch (no database round trip on the token path).
   * Does nothing when AUDIT_TOKEN_EVENTS=false.
   */
  recordTokenIssued(event: Omit<AuditRecord, 'type'>): void {
    if (!this.config.auditTokenEvents) return;
    this.pending.push(this.row({ ...event, type: 'token.issued' }));
    if (this.pending.length >= AUDIT_BATCH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), AUDIT_BATCH_DELAY_MS).unref();
  }

  /** Writes the queued events now; resolves once every event queued before the call is written (or its write failed and was logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    // One batch at a time, in order: a slow write is not overtaken by the next.
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  /** On app.close() (SIGTERM, SIGINT): writes what is queued before the HTTP server closes... */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  /**
   * ...and again after it closed, for the requests that were still in flight then. Nest runs this
   * hook of the Audit module before the global TypeORM module's, which closes the database.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private async write(batch: AuditEvent[]): Promise<void> {
    for (let start = 0; start < batch.length; start += AUDIT_BATCH_ROWS) {
      const rows = batch.slice(start, start + AUDIT_BATCH_ROWS);
      try {
        // Bound, constant-text statements in one transaction (one commit per batch).
        await this.sql.atomic(insertSteps(rows));
      } catch (error) {
        this.logger.warn(`Could not record ${rows.length} token.issued audit events: ${(error as Error).message}`);
      }
    }
  }

  private row(event: AuditRecord): AuditEvent {
    return {
      id: this.nextId(),
      type: event.type,
      userId: event.userId ?? null,
      clientId: event.clientId ?? null,
      ip: event.ip ?? null,
      details: event.details ?? {},
      createdAt: this.clock.now(),
    };
  }

  find(query: AuditQuery): Promise<AuditEvent[]> {
    const where: FindOptionsWhere<AuditEvent> = {};
    if (query.user) where.userId = query.user;
    if (query.client) where.clientId = query.client;
    if (query.type) where.type = query.type;
    return this.repo.find({ where, order: { createdAt: 'DESC', id: 'DESC' }, take: query.limit ?? 100 });
  }

  /**
   * A UUIDv7 (RFC 9562 §5.7) whose 12-bit rand_a field counts events within one millisecond, so
   * that ids sort in the order this instance recorded them: "newest first" stays exact when several
   * events share a created_at.
   */
  private nextId(): string {
    const ms = this.clock.nowMs();
    if (ms === this.lastMs && this.sequence < 0xfff) this.sequence++;
    else if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.sequence = 0;
    }
    // unix_ts_ms (48 bits), version 7 and the 12-bit sequence, then the variant and 62 random bits of
    // a random UUID (Node draws those from a pool: no call into the CSPRNG per event).
    const time = ms.toString(16).padStart(12, '0');
    return `${time.slice(0, 8)}-${time.slice(8)}-7${this.sequence.toString(16).padStart(3, '0')}-${randomUUID().slice(19)}`;
  }
}
