import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { sha256Hex } from '../common/crypto';
import { ClientAuthFailureCount } from './client-auth-failure-count.entity';

/** The failure counts of one client as one request sees them (live rows only). */
export interface ClientFailureState {
  /** Failures of this (client, address) pair in the current minute. */
  windowFailures: number;
  /** End of the current minute, for Retry-After. */
  windowEndMs: number;
  /** The lockout count, when there is a live one. */
  lockout: { failures: number; locked: boolean } | null;
}

const WINDOW_MS = 60_000;
/** "Locked until an administrator unlocks" (client_lockout_duration_seconds 0) never expires. */
const NEVER_MS = Number.MAX_SAFE_INTEGER;

/**
 * The owner of `client_auth_failures`: failed client authentications of registered clients, counted
 * across instances. Every count is one atomic statement (an upsert, or a conditional UPDATE whose
 * affected-row count decides), so concurrent failures on any number of instances each count once,
 * and exactly one of them learns that it locked the client. SQL text is fixed per store (this runs
 * on the token path).
 */
@Injectable()
export class ClientAuthFailuresService {
  private readonly mysql: boolean;
  private readonly table: string;

  constructor(@InjectRepository(ClientAuthFailureCount) private readonly repo: Repository<ClientAuthFailureCount>) {
    this.mysql = repo.manager.connection.options.type === 'mysql';
    this.table = this.mysql ? `\`${repo.metadata.tableName}\`` : `"${repo.metadata.tableName}"`;
  }

  /** One read on every authentication of a registered client: its lockout row and this address's window. */
  async state(clientId: string, addressKey: string, nowMs: number): Promise<ClientFailureState> {
    const lockoutKey = lockoutKeyOf(clientId);
    const { key: windowKey, endMs } = windowOf(clientId, addressKey, nowMs);
    const rows: { key_hash: string; failures: number | string; locked_at: number | string | null }[] = await this.repo.query(
      `SELECT key_hash, failures, locked_at FROM ${this.table} WHERE key_hash IN (?, ?) AND expires_at > ?`,
      [lockoutKey, windowKey, nowMs],
    );
    const lockout = rows.find((row) => row.key_hash === lockoutKey);
    const window = rows.find((row) => row.key_hash === windowKey);
    return {
      windowFailures: window ? Number(window.failures) : 0,
      windowEndMs: endMs,
      lockout: lockout ? { failures: Number(lockout.failures), locked: lockout.locked_at !== null } : null,
    };
  }

  /** Counts one failure of the (client, address) pair in the current minute: one upsert. */
  async countWindowFailure(clientId: string, addressKey: string, nowMs: number): Promise<void> {
    const { key, endMs } = windowOf(clientId, addressKey, nowMs);
    const sql = this.mysql
      ? `INSERT INTO ${this.table} (key_hash, client_hash, failures, locked_at, expires_at) VALUES (?, ?, 1, NULL, ?) ON DUPLICATE KEY UPDATE failures = failures + 1`
      : `INSERT INTO ${this.table} (key_hash, client_hash, failures, locked_at, expires_at) VALUES (?, ?, 1, NULL, ?) ON CONFLICT (key_hash) DO UPDATE SET failures = failures + 1`;
    await this.repo.query(sql, [key, sha256Hex(clientId), endMs]);
  }

  /**
   * Counts one failure toward the client's lockout: `threshold` failures without a success in
   * between, each within `durationMs` of the previous one, lock it for `durationMs` (0: until an
   * administrator unlocks). Returns whether this very failure took the lock.
   */
  async countLockoutFailure(clientId: string, threshold: number, durationMs: number, nowMs: number): Promise<{ lockedNow: boolean }> {
    const key = lockoutKeyOf(clientId);
    const expiresAt = durationMs > 0 ? nowMs + durationMs : NEVER_MS;
    // A row whose time is up (a lock that ran out, or failures long forgotten) starts again from zero.
    await this.repo.query(`DELETE FROM ${this.table} WHERE key_hash = ? AND expires_at <= ?`, [key, nowMs]);
    // The three statements below are complements: one of them matches, unless another request
    // changed the row in between, and then the next round does.
    for (let round = 0; round < 5; round++) {
      const locks = await this.affected(
        `UPDATE ${this.table} SET failures = failures + 1, locked_at = ?, expires_at = ? WHERE key_hash = ? AND locked_at IS NULL AND failures + 1 >= ?`,
        [nowMs, expiresAt, key, threshold],
      );
      if (locks) return { lockedNow: true };
      const counts = await this.affected(
        `UPDATE ${this.table} SET failures = failures + 1, expires_at = CASE WHEN locked_at IS NULL THEN ? ELSE expires_at END WHERE key_hash = ? AND (locked_at IS NOT NULL OR failures + 1 < ?)`,
        [expiresAt, key, threshold],
      );
      if (counts) return { lockedNow: false };
      const insert = this.mysql
        ? `INSERT IGNORE INTO ${this.table} (key_hash, client_hash, failures, locked_at, expires_at) VALUES (?, ?, 1, ?, ?)`
        : `INSERT INTO ${this.table} (key_hash, client_hash, failures, locked_at, expires_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (key_hash) DO NOTHING`;
      const lockedNow = threshold <= 1;
      if (await this.affected(insert, [key, sha256Hex(clientId), lockedNow ? nowMs : null, expiresAt])) return { lockedNow };
    }
    return { lockedNow: false };
  }

  /**
   * For a failure that names no registered client: the statements a registered client's failure
   * runs (see countWindowFailure and countLockoutFailure), against a key no row has, so that they
   * match nothing and store nothing. They make the database work of an unknown client_id that of a
   * registered one.
   */
  async mirrorFailure(counts: { window: boolean; lockout: boolean }, nowMs: number): Promise<void> {
    const nobody = sha256Hex(`nobody:${randomUUID()}`);
    if (counts.window) await this.repo.query(`UPDATE ${this.table} SET failures = failures + 1 WHERE key_hash = ?`, [nobody]);
    if (!counts.lockout) return;
    await this.repo.query(`DELETE FROM ${this.table} WHERE key_hash = ? AND expires_at <= ?`, [nobody, nowMs]);
    await this.affected(
      `UPDATE ${this.table} SET failures = failures + 1, locked_at = ?, expires_at = ? WHERE key_hash = ? AND locked_at IS NULL AND failures + 1 >= ?`,
      [nowMs, nowMs, nobody, 1],
    );
  }

  /** A successful authentication ends the lockout count (only called when there is one). */
  async resetLockout(clientId: string): Promise<void> {
    await this.repo.query(`DELETE FROM ${this.table} WHERE key_hash = ?`, [lockoutKeyOf(clientId)]);
  }

  /** The admin unlock: the lock, its count and the per-address windows of the client. Returns whether anything was cleared. */
  async clear(clientId: string): Promise<boolean> {
    return (await this.affected(`DELETE FROM ${this.table} WHERE client_hash = ?`, [sha256Hex(clientId)])) > 0;
  }

  /** Deletes the rows whose time ended before `beforeMs` (for the purge). */
  async purgeExpired(beforeMs: number): Promise<number> {
    return this.affected(`DELETE FROM ${this.table} WHERE expires_at < ?`, [beforeMs]);
  }

  private async affected(sql: string, parameters: unknown[]): Promise<number> {
    const runner = this.repo.manager.connection.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return result.affected ?? 0;
    } finally {
      await runner.release();
    }
  }
}

function lockoutKeyOf(clientId: string): string {
  return sha256Hex(`client-lockout:${clientId}`);
}

function windowOf(clientId: string, addressKey: string, nowMs: number): { key: string; endMs: number } {
  const minute = Math.floor(nowMs / WINDOW_MS);
  return { key: sha256Hex(`client-auth-failures:${JSON.stringify([clientId, addressKey, minute])}`), endMs: (minute + 1) * WINDOW_MS };
}
