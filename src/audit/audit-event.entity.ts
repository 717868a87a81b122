import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

@Entity('audit_events')
@Index('idx_audit_events_user', ['userId', 'createdAt'])
@Index('idx_audit_events_client', ['clientId', 'createdAt'])
@Index('idx_audit_events_type', ['type', 'createdAt'])
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** e.g. login.success, login.failure, user.locked, token.issued, token.revoked, admin.client.created. */
  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  @Column({ name: 'client_id', type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  /** Never secrets: only identifiers, reasons and changed field names. */
  @Column({ type: 'simple-json' })
  details!: Record<string, string | number | boolean | null | string[] | undefined>;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;
}
