import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { TtlCache } from '../common/ttl-cache';
import { AppConfig } from '../config/app-config';
import { isLocked, type LockoutState } from './lockout.check';
import { firstRefusal, type Account, type AccountContext, type LoginCheck } from './login.checks';
import { Policy } from './policy.entity';
import { PolicyDto } from './policy.dto';

const POLICY_ID = 1;

/**
 * The global security policy and the account rules that follow from it (SPEC §3.3: lockout,
 * disabled, password expiry, MFA enrolment). The policy is served from memory for at most
 * CACHE_TTL_SECONDS: a PUT takes effect at once on the instance that took it, and on every other
 * instance within CACHE_TTL_SECONDS.
 */
@Injectable()
export class PolicyService {
  private readonly cache: TtlCache<number, Policy>;

  constructor(
    @InjectRepository(Policy) private readonly repo: Repository<Policy>,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.cache = new TtlCache(config.cacheTtlSeconds * 1000, () => clock.nowMs());
  }

  /** The policy, as of CACHE_TTL_SECONDS ago at most. Callers must not change the object. */
  async get(): Promise<Policy> {
    const policy = await this.cache.get(POLICY_ID, () => this.repo.findOne({ where: { id: POLICY_ID } }));
    if (!policy) throw new Error('The policy row is missing: the initial migration did not run');
    return policy;
  }

  /**
   * Throws the error of the first account rule that refuses `account` at this stage (the SPEC §3.3
   * order; see ACCOUNT_CHECKS). Reads the policy unless the caller has it already.
   */
  async assertActive(account: Account, context: AccountContext, policy?: Policy): Promise<void> {
    const refusal = this.refusal(account, context, policy ?? (await this.get()));
    if (refusal) throw refusal.error();
  }

  /** The first account rule that refuses `account` at this stage, or undefined. */
  refusal(account: Account, context: AccountContext, policy: Policy): LoginCheck | undefined {
    return firstRefusal({ user: account, policy, nowMs: this.clock.nowMs(), mfaRequired: !!context.mfaRequired }, context.stage);
  }

  /** Whether the user is locked now (an admin lock, or failed logins within the lock duration). */
  isLocked(user: LockoutState, policy: Policy): boolean {
    return isLocked(user, policy, this.clock.nowMs());
  }

  /** The browser SSO session lifetimes (SPEC §5). */
  async ssoSessionLifetimes(): Promise<{ idleSeconds: number; maxSeconds: number }> {
    const policy = await this.get();
    return { idleSeconds: policy.ssoSessionIdleSeconds, maxSeconds: policy.ssoSessionMaxSeconds };
  }

  async update(dto: PolicyDto, actor?: string): Promise<Policy> {
    await this.repo.update(
      { id: POLICY_ID },
      {
        lockoutThreshold: dto.lockout_threshold,
        lockoutDurationSeconds: dto.lockout_duration_seconds,
        passwordMaxAgeDays: dto.password_max_age_days,
        initialPasswordTtlHours: dto.initial_password_ttl_hours,
        refreshTokenGraceSeconds: dto.refresh_token_grace_seconds,
        ...(dto.client_lockout_threshold !== undefined ? { clientLockoutThreshold: dto.client_lockout_threshold } : {}),
        ...(dto.client_lockout_duration_seconds !== undefined ? { clientLockoutDurationSeconds: dto.client_lockout_duration_seconds } : {}),
        // Left out of the body: unchanged (they came after the first release's PUT bodies).
        ...(dto.sso_session_idle_seconds !== undefined ? { ssoSessionIdleSeconds: dto.sso_session_idle_seconds } : {}),
        ...(dto.sso_session_max_seconds !== undefined ? { ssoSessionMaxSeconds: dto.sso_session_max_seconds } : {}),
        updatedAt: this.clock.now(),
      },
    );
    this.cache.invalidate();
    await this.audit.record({ type: 'admin.policy.updated', clientId: actor ?? null, details: { ...dto } });
    return this.get();
  }
}

export function toPolicyDto(policy: Policy): PolicyDto {
  return {
    lockout_threshold: policy.lockoutThreshold,
    lockout_duration_seconds: policy.lockoutDurationSeconds,
    password_max_age_days: policy.passwordMaxAgeDays,
    initial_password_ttl_hours: policy.initialPasswordTtlHours,
    refresh_token_grace_seconds: policy.refreshTokenGraceSeconds,
    client_lockout_threshold: policy.clientLockoutThreshold,
    client_lockout_duration_seconds: policy.clientLockoutDurationSeconds,
    sso_session_idle_seconds: policy.ssoSessionIdleSeconds,
    sso_session_max_seconds: policy.ssoSessionMaxSeconds,
  };
}
