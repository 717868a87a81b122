import type { TokenFamily } from '../sessions/token-family.entity';

const HOUR_MS = 3600_000;

/**
 * SPEC §3.7 max_exchange_period: the family's deadline for this request. A request asking for a
 * shorter period (counted from the original authentication) moves it earlier; a longer one is ignored.
 */
export function exchangeDeadline(family: Pick<TokenFamily, 'authTime' | 'exchangeDeadline'>, requestedHours?: number): Date {
  if (requestedHours === undefined) return family.exchangeDeadline;
  const requested = family.authTime.getTime() + requestedHours * HOUR_MS;
  return requested < family.exchangeDeadline.getTime() ? new Date(requested) : family.exchangeDeadline;
}

/** Once the deadline is reached the family may not be refreshed any more: the user must log in again. */
export function exchangePeriodExceeded(deadline: Date, nowMs: number): boolean {
  return deadline.getTime() <= nowMs;
}
