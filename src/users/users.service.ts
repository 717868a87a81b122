import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
import { validationFailed } from '../admin/validation';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { isUniqueViolation } from '../database/errors';
import { retryOnConflict } from '../database/retry';
import { TokensService } from '../tokens/tokens.service';
import { CreateUserDto, PasswordFlagsDto, SetPasswordDto, UpdateUserDto, UserSearchQuery } from './dto/user.dto';
import { normalizeLogin, normalizePhone } from './identifiers';
import { hashPassword, isImportableHash } from './passwords';
import { PROFILE_CLAIM_NAMES, ProfileClaims, User } from './user.entity';

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

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly repo: Repository<User>,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly tokens: TokensService,
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

  search(query: UserSearchQuery): Promise<User[]> {
    const qb = this.repo.createQueryBuilder('u').orderBy('u.created_at', 'ASC').addOrderBy('u.id', 'ASC');
    if (query.search) {
      // '!' rather than a backslash as the LIKE escape: MySQL reads '\\' in SQL text as an escaped quote.
      const term = `%${query.search.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
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
    // A disabled user's sessions end at once; refresh would refuse them anyway.
    if (user.disabled && !wasDisabled) await this.tokens.revokeUserFamilies(user.id, 'user_disabled');
    await this.audit.record({ type: 'admin.user.updated', userId: id, clientId: actor, details: { fields: Object.keys(dto) } });
    return user;
  }

  async remove(id: string, actor?: string): Promise<void> {
    await this.get(id);
    const result = await this.repo.delete({ id });
    if (!result.affected) throw new NotFoundException(`User "${id}" not found`);
    await this.tokens.revokeUserFamilies(id, 'user_deleted');
    await this.audit.record({ type: 'admin.user.deleted', userId: id, clientId: actor });
  }

  /** Ends every session (token family) of the user: DELETE /admin/users/{id}/sessions. */
  async endSessions(id: string, actor?: string): Promise<number> {
    await this.get(id);
    const ended = await this.tokens.revokeUserFamilies(id, 'admin');
    await this.audit.record({ type: 'admin.user.sessions_revoked', userId: id, clientId: actor, details: { families: ended } });
    return ended;
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
    await this.audit.record({ type: 'admin.user.password_set', userId: id, clientId: actor });
    return user;
  }

  /** Admin lock: only an unlock lifts it, whatever the lockout duration. */
  async lock(id: string, actor?: string): Promise<User> {
    await this.get(id);
    await this.repo.update({ id }, { adminLocked: true, updatedAt: this.clock.now() });
    await this.audit.record({ type: 'user.locked', userId: id, clientId: actor, details: { reason: 'admin' } });
    return this.get(id);
  }

  /** Lifts an admin lock and a failed-login lock, and resets the failure counter. */
  async unlock(id: string, actor?: string): Promise<User> {
    await this.get(id);
    await this.repo.update({ id }, { adminLocked: false, failedLoginCount: 0, lockedAt: null, updatedAt: this.clock.now() });
    await this.audit.record({ type: 'user.unlocked', userId: id, clientId: actor });
    return this.get(id);
  }

  /** The new user's hash: argon2id of `password`, or an imported `password_hash` as it is. */
  private async initialPasswordHash(dto: CreateUserDto): Promise<string> {
    if (dto.password_hash === undefined) return hashPassword(dto.password!);
    if (dto.password !== undefined) throw validationFailed({ password_hash: ['password and password_hash are mutually exclusive'] });
    if (!isImportableHash(dto.password_hash)) {
      throw validationFailed({ password_hash: ['password_hash must be an argon2 PHC string or a bcrypt $2a$/$2b$/$2y$ hash with cost 4..14'] });
    }
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
