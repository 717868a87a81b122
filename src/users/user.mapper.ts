import type { User } from './user.entity';
import type { UserResponseDto } from './dto/user.dto';

export function toUserResponse(user: User, locked: boolean): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    email_verified: user.emailVerified,
    phone_number: user.phoneNumber,
    phone_number_verified: user.phoneNumberVerified,
    groups: user.groups,
    ...user.claims,
    disabled: user.disabled,
    require_mfa: user.requireMfa,
    locked,
    failed_login_count: user.failedLoginCount,
    mfa_enrolled: !!user.totpSecret,
    password_is_initial: user.passwordIsInitial,
    password_expires_at: user.passwordExpiresAt?.toISOString() ?? null,
    password_change_required: user.passwordChangeRequired,
    password_changed_at: user.passwordChangedAt.toISOString(),
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
