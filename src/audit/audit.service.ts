import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, Repository } from 'typeorm';
import { Clock } from '../common/clock';
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

@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);
  private lastMs = 0;
  private sequence = 0;

  constructor(
    @InjectRepository(AuditEvent) private readonly repo: Repository<AuditEvent>,
    private readonly clock: Clock,
  ) {}

  /** Records an event. An audit write that fails is logged, never turned into a failed login or token request. */
  async record(event: AuditRecord): Promise<void> {
    try {
      await this.repo.insert({
        id: this.nextId(),
        type: event.type,
        userId: event.userId ?? null,
        clientId: event.clientId ?? null,
        ip: event.ip ?? null,
        details: event.details ?? {},
        createdAt: this.clock.now(),
      });
    } catch (error) {
      this.logger.warn(`Could not record audit event ${event.type}: ${(error as Error).message}`);
    }
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
    const bytes = randomBytes(16);
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | (this.sequence >> 8);
    bytes[7] = this.sequence & 0xff;
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
