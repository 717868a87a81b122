import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
import { validationFailed } from '../admin/validation';
import type { LockoutCounter } from '../policy/lockout.service';
import { PolicyService } from '../policy/policy.service';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { isUniqueViolation } from '../database/errors';
import type { ReadStep, WriteStep } from '../database/sql-runner';
import { retryOnConflict } from '../database/retry';
import { SqlRunner } from '../database/sql-runner';
import { BrowserSessionsService, type BrowserSessionSummary } from '../sessions/browser-sessions.service';
import { CreateUserDto, PasswordFlagsDto, SetPasswordDto, UpdateUserDto, UserResponseDto, UserSearchQuery } from './dto/user.dto';
import { normalizeLogin, normalizePhone, USERNAME_MAX_LENGTH, type LoginIdentifier } from './identifiers';
import { hashPassword, importedHashProblem } from './passwords';
import { PROFILE_CLAIM_NAMES, ProfileClaims, User } from './user.entity';
import { toUserResponse } from './user.mapper';
import { UserSessionsService } from './user-sessions.service';

/** A lock reached by failed logins and still counting (the counter only grows while it holds); binds the threshold. */
const LOCK_IN_FORCE = '(locked_at IS NOT NULL AND failed_login_count >= ?)';
const CLEAR_EXPIRED_LOCK = 'UPDATE users SET failed_login_count = 0, locked_at = NULL WHERE id = ? AND locked_at IS NOT NULL AND locked_at <= ?';
const COUNT_FAILURE = `UPDATE users SET failed_login_count = failed_login_count + 1 WHERE id = ? AND (failed_login_count + 1 < ? OR ${LOCK_IN_FORCE})`;
const COUNT_FAILURE_AND_LOCK = `UPDATE users SET failed_login_count = failed_login_count + 1, locked_at = ? WHERE id = ? AND failed_login_count + 1 >= ? AND NOT ${LOCK_IN_FORCE}`;
// locked_at is assigned first: MySQL evaluates SET left to right with new values, SQLite with old ones.
const COUNT_FAILURE_UNCONDITIONALLY = `UPDATE users SET locked_at = CASE WHEN NOT ${LOCK_IN_FORCE} AND failed_login_count + 1 >= ? THEN ? ELSE locked_at END, failed_login_count = failed_login_count + 1 WHERE id = ?`;
const FAILED_LOGIN_COUNT = 'SELECT failed_login_count FROM users WHERE id = ?';

/**
 * What an admin change saves: the user as read, without the columns the login path changes with
 * conditional UPDATEs of its own (failed-login counter, lock, last TOTP step). save() writes every
 * column whose value differs from the row, so writing back the values read before would undo a
 * failed login counted, or a TOTP code spent, meanwhile on any instance.
 */
function adminChanges(user: User): Partial<User> {
  const { failedLoginCount: _count, lockedAt: _locked, totpLastStep: _step, ...changes } = user;
  return changes;
}

/**
 * The users table, and the only code that reads or writes it: the admin API's changes, the lookups
 * of a login, and the single-statement updates of the failed-login counter and the TOTP step that
 * must hold across instances.
 */
@Injectable()
export class UsersService implements LockoutCounter {
  constructor(
    @InjectRepository(User) private readonly repo: Repository<User>,
    private readonly sql: SqlRunner,
    private readonly policy: PolicyService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly sessions: UserSessionsService,
    private readonly browserSessions: BrowserSessionsService,
  ) {}

  /** Exact match only, as for clients: MySQL's collation would otherwise ignore trailing spaces. */
  async findById(id: string): Promise<User | null> {
    if (id.length === 0 || id.length > 36) return null;
    const user = await this.repo.findOne({ where: { id } });
    return user?.id === id ? user : null;
  }

  async get(id: string): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw new NotFoundException(`User "${id}" not found`);
    return user;
  }

  /** The admin API's view of users, with their lock state as the policy decides it now. */
  async toResponses(users: User[]): Promise<UserResponseDto[]> {
    const policy = await this.policy.get();
    return users.map((user) => toUserResponse(user, this.policy.isLocked(user, policy)));
  }

  async toResponse(user: User): Promise<UserResponseDto> {
    const [response] = await this.toResponses([user]);
    return response;
  }

  search(query: UserSearchQuery): Promise<User[]> {
    const qb = this.repo.createQueryBuilder('u').orderBy('u.created_at', 'ASC').addOrderBy('u.id', 'ASC');
    if (query.search) {
      // '!' rather than a backslash as the LIKE escape: MySQL reads '\\' in SQL text as an escaped quote.
      const term = `%${query.search.normalize('NFC').toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
      qb.where(
        new Brackets((w) =>
          w
            .where("u.username LIKE :term ESCAPE '!'", { term })
            .orWhere("u.email LIKE :term ESCAPE '!'", { term })
            .orWhere("u.phone_number LIKE :term ESCAPE '!'", { term }),
        ),
      );
    }
    return qb.take(query.limit ?? 50).skip(query.offset ?? 0).getMany();
  }

  async create(dto: CreateUserDto, actor?: string): Promise<User> {
    if (!dto.username && !dto.email && !dto.phone_number) {
      throw validationFailed({ username: ['at least one of username, email and phone_number is required'] });
    }
    const passwordHash = await this.initialPasswordHash(dto);
    const now = this.clock.now();
    const user = this.repo.create({
      id: randomUUID(),
      username: null,
      email: null,
      phoneNumber: null,
      emailVerified: false,
      phoneNumberVerified: false,
      claims: {},
      groups: [],
      passwordHash,
      passwordChangedAt: now,
      passwordIsInitial: false,
      passwordExpiresAt: null,
      passwordChangeRequired: false,
      disabled: false,
      requireMfa: false,
      adminLocked: false,
      failedLoginCount: 0,
      lockedAt: null,
      totpSecret: null,
      totpLastStep: null,
      createdAt: now,
      updatedAt: now,
    });
    this.apply(user, dto);
    this.applyPasswordFlags(user, dto);
    await this.insertOrConflict(() => this.repo.insert(user));
    await this.audit.record({ type: 'admin.user.created', userId: user.id, clientId: actor });
    return user;
  }

  async update(id: string, dto: UpdateUserDto, actor?: string): Promise<User> {
    const user = await this.get(id);
    const wasDisabled = user.disabled;
    this.apply(user, dto);
    this.applyPasswordFlags(user, dto);
    if (!user.username && !user.email && !user.phoneNumber) {
      throw validationFailed({ username: ['at least one of username, email and phone_number must remain'] });
    }
    user.updatedAt = this.clock.now();
    // save() is a transaction: on a multi-primary cluster it can lose to a login counted on another node.
    await this.insertOrConflict(() => retryOnConflict(() => this.repo.save(adminChanges(user))));
    // A disabled user's sessions end at once, codes and tokens included.
    if (user.disabled && !wasDisabled) await this.sessions.endEverything(user.id, 'user_disabled');
    await this.audit.record({ type: 'admin.user.updated', userId: id, clientId: actor, details: { fields: Object.keys(dto) } });
    return user;
  }

  async remove(id: string, actor?: string): Promise<void> {
    await this.get(id);
    const result = await this.repo.delete({ id });
    if (!result.affected) throw new NotFoundException(`User "${id}" not found`);
    await this.sessions.endEverything(id, 'user_deleted');
    await this.audit.record({ type: 'admin.user.deleted', userId: id, clientId: actor });
  }

  /** Ends every session of the user, codes and tokens included: DELETE /admin/users/{id}/sessions. */
  async endSessions(id: string, actor?: string): Promise<number> {
    await this.get(id);
    const ended = await this.sessions.endEverything(id, 'admin');
    await this.audit.record({ type: 'admin.user.sessions_revoked', userId: id, clientId: actor, details: { ...ended } });
    return ended.families;
  }

  /** The user's live browser (single sign-on) sessions: GET /admin/users/{id}/sessions. */
  async browserSessionsOf(id: string): Promise<BrowserSessionSummary[]> {
    await this.get(id);
    return this.browserSessions.listLive(id, await this.policy.ssoSessionLifetimes());
  }

  async setPassword(id: string, dto: SetPasswordDto, actor?: string): Promise<User> {
    const user = await this.get(id);
    user.passwordHash = await hashPassword(dto.password);
    user.passwordChangedAt = this.clock.now();
    user.passwordIsInitial = false;
    user.passwordExpiresAt = null;
    user.passwordChangeRequired = false;
    this.applyPasswordFlags(user, dto);
    user.updatedAt = user.passwordChangedAt;
    await retryOnConflict(() => this.repo.save(adminChanges(user)));
    // Whoever knew the old password is signed out, unless the admin says otherwise.
    const ended = dto.keep_sessions === true ? undefined : await this.sessions.endEverything(id, 'password_set');
    await this.audit.record({ type: 'admin.user.password_set', userId: id, clientId: actor, details: { sessions_ended: ended?.families ?? 0, keep_sessions: !ended } });
    return user;
  }

  /** Admin lock: only an unlock lifts it, whatever the lockout duration. Ends the user's sessions, as Keycloak's disable does. */
  async lock(id: string, actor?: string): Promise<User> {
    await this.get(id);
    await this.repo.update({ id }, { adminLocked: true, updatedAt: this.clock.now() });
    const ended = await this.sessions.endEverything(id, 'user_locked');
    await this.audit.record({ type: 'user.locked', userId: id, clientId: actor, details: { reason: 'admin', sessions_ended: ended.families } });
    return this.get(id);
  }

  /** Lifts an admin lock and a failed-login lock, and resets the failure counter. */
  async unlock(id: string, actor?: string): Promise<User> {
    await this.get(id);
    await this.repo.update({ id }, { adminLocked: false, failedLoginCount: 0, lockedAt: null, updatedAt: this.clock.now() });
    await this.audit.record({ type: 'user.unlocked', userId: id, clientId: actor });
    return this.get(id);
  }

  /**
   * The user a login identifier names. One query whatever the identifier kind, so the response time
   * does not tell which field matched or whether any did. `username` prefers a username match, then
   * email, then phone. Matches are confirmed by exact comparison of the normalised values, because
   * MySQL collations also equate accented and unaccented letters ("josé" = "jose"), which SQLite does not.
   */
  async findByLogin({ kind, value }: LoginIdentifier): Promise<User | null> {
    // 255 characters can take 510 UTF-16 units (and a little more before trimming); nothing longer is anyone's name.
    if (value.length > 2 * USERNAME_MAX_LENGTH + 16) return null;
    const login = normalizeLogin(value);
    const phone = normalizePhone(value);
    const byUsername = kind === 'username' ? [login] : [];
    const byEmail = kind !== 'phone' ? [login] : [];
    const byPhone = kind !== 'email' && phone ? [phone] : [];
    if (byUsername.length + byEmail.length + byPhone.length === 0) return null;
    // Bound, prepared SQL (the login path's one read of users): one of a few constant texts.
    const conditions = [...(byUsername.length ? ['u.username = ?'] : []), ...(byEmail.length ? ['u.email = ?'] : []), ...(byPhone.length ? ['u.phone_number = ?'] : [])];
    const rows = await this.sql.all(`SELECT ${this.sql.columns(User, 'u')} FROM users u WHERE ${conditions.join(' OR ')} LIMIT 3`, [...byUsername, ...byEmail, ...byPhone]);
    const candidates = rows.map((row) => this.sql.hydrate<User>(User, 'u', row)!);
    return (
      (byUsername.length ? candidates.find((u) => u.username === login) : undefined) ??
      (byEmail.length ? candidates.find((u) => u.email === login) : undefined) ??
      (byPhone.length ? candidates.find((u) => u.phoneNumber === phone) : undefined) ??
      null
    );
  }

  /**
   * Replaces an imported or weaker hash by its argon2id re-hash after a successful login: ONE
   * conditional UPDATE on the hash the login verified. An admin may set a new password between the
   * login's read and this write (on any instance); an unconditional write would then put the old
   * password back. The admin's password wins: false when the hash has changed meanwhile. (On
   * MySQL the column's collation ignores case; two hashes with different random salts never differ
   * in case alone.)
   */
  async replacePasswordHash(id: string, verifiedHash: string, rehashed: string): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ passwordHash: rehashed })
      .where('id = :id AND password_hash = :verifiedHash', { id, verifiedHash })
      .execute();
    return result.affected === 1;
  }

  /** Sets or removes the sealed TOTP secret; a new secret starts with no used step. */
  async setTotpSecret(id: string, sealedSecret: string | null): Promise<void> {
    await this.repo.update({ id }, { totpSecret: sealedSecret, totpLastStep: null, updatedAt: this.clock.now() });
  }

  /**
   * Spends a TOTP time step: ONE conditional UPDATE, so of concurrent logins with the same code on
   * any number of instances exactly one succeeds (RFC 6238 §5.2). The sealed secret is part of the
   * condition: a re-enrolment in between starts afresh and the old secret's code is void.
   */
  async spendTotpStep(id: string, sealedSecret: string, step: number): Promise<boolean> {
    const spent = await this.repo
      .createQueryBuilder()
      .update()
      .set({ totpLastStep: step })
      .where('id = :id AND totp_secret = :sealed AND (totp_last_step IS NULL OR totp_last_step < :step)', { id, sealed: sealedSecret, step })
      .execute();
    return spent.affected === 1;
  }

  // The failed-login counter, for the Policy module's lockout (LockoutCounter), which decides when
  // each is used and runs them, with the audit rows of the failure, in one transaction
  // (SqlRunner.atomicFlow). Every update is a single conditional UPDATE, so concurrent attempts on
  // any number of instances each count exactly once and cannot skip the threshold.

  /** Clears a failure lock taken before `lockedBefore`, so counting starts again from zero. */
  clearExpiredLockStep(id: string, lockedBefore: number): WriteStep {
    return { sql: CLEAR_EXPIRED_LOCK, params: [id, lockedBefore] };
  }

  /** Counts a failure that does not lock: below the threshold, or a lock already in force. Changes no row when neither holds. */
  countFailureStep(id: string, threshold: number): WriteStep {
    return { sql: COUNT_FAILURE, params: [id, threshold, threshold] };
  }

  /** The complement of countFailureStep: counts the failure that reaches the threshold, and locks. Changes no row when it does not. */
  countFailureAndLockStep(id: string, threshold: number, nowMs: number): WriteStep {
    return { sql: COUNT_FAILURE_AND_LOCK, params: [nowMs, id, threshold, threshold] };
  }

  /** Counts (and locks at the threshold) in one statement, for when the two above keep missing each other. */
  countFailureUnconditionallyStep(id: string, threshold: number, nowMs: number): WriteStep {
    return { sql: COUNT_FAILURE_UNCONDITIONALLY, params: [threshold, threshold, nowMs, id] };
  }

  /** The counter as it stands (inside the transaction: with its own count); null when there is no such user. */
  failedLoginCountStep(id: string): ReadStep<number | null> {
    return { sql: FAILED_LOGIN_COUNT, params: [id], read: (row) => (row ? Number(row.failed_login_count) : null) };
  }

  /** After a successful login. Conditional on the stored row, not on what was read: a failure counted meanwhile is reset too. */
  async resetFailures(id: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ failedLoginCount: 0, lockedAt: null })
      .where('id = :id AND (failed_login_count > 0 OR locked_at IS NOT NULL)', { id })
      .execute();
  }

  /** The new user's hash: argon2id of `password`, or an imported `password_hash` as it is. */
  private async initialPasswordHash(dto: CreateUserDto): Promise<string> {
    if (dto.password_hash === undefined) return hashPassword(dto.password!);
    if (dto.password !== undefined) throw validationFailed({ password_hash: ['password and password_hash are mutually exclusive'] });
    const problem = importedHashProblem(dto.password_hash);
    if (problem) throw validationFailed({ password_hash: [problem] });
    return dto.password_hash;
  }

  private async insertOrConflict(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException('A user with this username, email or phone number already exists');
      throw error;
    }
  }

  /** Applies the given fields; null clears an identifier (one must remain), a profile claim or the address. */
  private apply(user: User, dto: UpdateUserDto): void {
    if (dto.username !== undefined) user.username = dto.username === null ? null : normalizeLogin(dto.username);
    if (dto.email !== undefined) user.email = dto.email === null ? null : normalizeLogin(dto.email);
    if (dto.phone_number !== undefined) {
      const phone = dto.phone_number === null ? null : normalizePhone(dto.phone_number);
      if (dto.phone_number !== null && !phone) {
        throw validationFailed({ phone_number: ['phone_number must be an international number (E.164, e.g. +4915112345678)'] });
      }
      user.phoneNumber = phone;
    }
    if (dto.email_verified !== undefined) user.emailVerified = dto.email_verified;
    if (dto.phone_number_verified !== undefined) user.phoneNumberVerified = dto.phone_number_verified;
    if (dto.disabled !== undefined) user.disabled = dto.disabled;
    if (dto.require_mfa !== undefined) user.requireMfa = dto.require_mfa;
    if (dto.groups !== undefined) user.groups = dto.groups;
    const claims: ProfileClaims = { ...user.claims };
    for (const field of PROFILE_CLAIM_NAMES) {
      const value = dto[field];
      if (value === null) delete claims[field];
      else if (value !== undefined) claims[field] = value;
    }
    if (dto.address === null) delete claims.address;
    else if (dto.address !== undefined) claims.address = { ...dto.address };
    user.claims = claims;
  }

  private applyPasswordFlags(user: User, dto: PasswordFlagsDto): void {
    if (dto.password_is_initial !== undefined) user.passwordIsInitial = dto.password_is_initial;
    if (dto.password_expires_at !== undefined) user.passwordExpiresAt = dto.password_expires_at === null ? null : new Date(dto.password_expires_at);
    if (dto.password_change_required !== undefined) user.passwordChangeRequired = dto.password_change_required;
  }
}
