import type { OAuthParams } from '../oauth/form';
import { InvalidRequest } from '../oauth/errors';

/** SPEC §3.7 per-request lifetime parameters. */
export interface LifetimeParams {
  /** Seconds; shortens the refresh token's lifetime, never lengthens it; 0 = no refresh token. */
  refreshExpiry?: number;
  /** Hours, 1..4320; smaller than the client's max_exchange_period_hours overrides it. */
  maxExchangePeriodHours?: number;
}

export const MAX_EXCHANGE_PERIOD_HOURS = 4320;

export function parseLifetimeParams(params: OAuthParams): LifetimeParams {
  const result: LifetimeParams = {};
  if (params.refresh_expiry !== undefined) {
    if (!/^\d{1,10}$/.test(params.refresh_expiry)) throw new InvalidRequest('refresh_expiry must be a whole number of seconds');
    result.refreshExpiry = Number(params.refresh_expiry);
  }
  if (params.max_exchange_period !== undefined) {
    const hours = /^\d{1,5}$/.test(params.max_exchange_period) ? Number(params.max_exchange_period) : NaN;
    if (!(hours >= 1 && hours <= MAX_EXCHANGE_PERIOD_HOURS)) {
      throw new InvalidRequest(`max_exchange_period must be a whole number of hours between 1 and ${MAX_EXCHANGE_PERIOD_HOURS}`);
    }
    result.maxExchangePeriodHours = hours;
  }
  // app_tid is reserved (SPEC §3.7): accepted and ignored.
  return result;
}
