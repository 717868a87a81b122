import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch.transformer';

/**
 * A browser's single sign-on session at the hosted login page (SPEC §5). The browser holds an opaque
 * random value in a cookie; only its SHA-256 is stored. The row's id is the public session id, the
 * `sid` of the id_tokens and logout tokens issued in it, and is never the cookie value.
 */
@Entity('browser_sessions')
@Index('idx_browser_sessions_cookie', ['cookieHash'], { unique: true })
@Index('idx_browser_sessions_user', ['userId'])
@Index('idx_browser_sessions_seen', ['lastSeenAt'])
export class BrowserSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'cookie_hash', type: 'varchar', length: 64 })
  cookieHash!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  /** When the user last entered credentials in this session (OIDC auth_time). */
  @Column({ name: 'auth_time', type: 'bigint', transformer: epochMs })
  authTime!: Date;

  /** RFC 8176 methods of that authentication, space-separated. */
  @Column({ type: 'varchar', length: 64 })
  amr!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true })
  userAgent!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  /** Last use at the authorization endpoint: the idle lifetime counts from here. */
  @Column({ name: 'last_seen_at', type: 'bigint', transformer: epochMs })
  lastSeenAt!: Date;

  @Column({ name: 'ended_at', type: 'bigint', nullable: true, transformer: epochMs })
  endedAt!: Date | null;

  @Column({ name: 'ended_reason', type: 'varchar', length: 64, nullable: true })
  endedReason!: string | null;
}

/** A client the session has signed in to: who gets a back-channel logout when it ends. */
@Entity('browser_session_clients')
export class BrowserSessionClient {
  @PrimaryColumn({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'last_seen_at', type: 'bigint', transformer: epochMs })
  lastSeenAt!: Date;
}
