import { randomUUID } from 'node:crypto';
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

  constructor(
    @InjectRepository(AuditEvent) private readonly repo: Repository<AuditEvent>,
    private readonly clock: Clock,
  ) {}

  /** Records an event. An audit write that fails is logged, never turned into a failed login or token request. */
  async record(event: AuditRecord): Promise<void> {
    try {
      await this.repo.insert({
        id: randomUUID(),
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
    return this.repo.find({ where, order: { createdAt: 'DESC', id: 'ASC' }, take: query.limit ?? 100 });
  }
}
