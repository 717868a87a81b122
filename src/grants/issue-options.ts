import type { AccessTokenFormat } from '../tokens/access-tokens.service';
import { InvalidRequest } from '../oauth/errors';
import type { GrantParameter } from './grant-parameters';

/** SPEC §3.7 per request, as the token issuer takes it. */
export interface IssueOptions {
  /** The access token's format: token_format, else the client's access_token_format, else jwt. */
  format: AccessTokenFormat;
  /** Seconds; shortens the refresh token's lifetime, never lengthens it; 0 = no refresh token. */
  refreshExpiry?: number;
  /** Hours, 1..4320; smaller than the client's max_exchange_period_hours overrides it. */
  maxExchangePeriodHours?: number;
}

export const MAX_EXCHANGE_PERIOD_HOURS = 4320;

/** token_format (opaque | jwt) per request, else the client's access_token_format, else jwt. */
export const TOKEN_FORMAT: GrantParameter<AccessTokenFormat> = {
  fields: {
    token_format: { type: 'string', enum: ['jwt', 'opaque'], description: "The access token's format for this request; default: the client's access_token_format" },
  },
  parse: (params, client) => {
    const requested = params.token_format;
    if (requested === undefined) return client.accessTokenFormat ?? 'jwt';
    if (requested !== 'jwt' && requested !== 'opaque') throw new InvalidRequest('token_format must be "opaque" or "jwt"');
    return requested;
  },
};

/** Every SPEC §3.7 parameter of a grant that issues tokens for a user login, checked in this order. */
export const ISSUE_OPTIONS: GrantParameter<IssueOptions> = {
  fields: {
    refresh_expiry: { type: 'integer', description: 'Seconds; shortens the refresh token lifetime, 0 = no refresh token' },
    max_exchange_period: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_EXCHANGE_PERIOD_HOURS,
      description: 'Hours the login may be refreshed; a smaller value than the client policy sticks',
    },
    ...TOKEN_FORMAT.fields,
    app_tid: { type: 'string', description: 'Reserved: accepted and ignored' },
  },
  parse: (params, client) => {
    const options: IssueOptions = { format: 'jwt' };
    if (params.refresh_expiry !== undefined) {
      if (!/^\d{1,10}$/.test(params.refresh_expiry)) throw new InvalidRequest('refresh_expiry must be a whole number of seconds');
      options.refreshExpiry = Number(params.refresh_expiry);
    }
    if (params.max_exchange_period !== undefined) {
      const hours = /^\d{1,5}$/.test(params.max_exchange_period) ? Number(params.max_exchange_period) : NaN;
      if (!(hours >= 1 && hours <= MAX_EXCHANGE_PERIOD_HOURS)) {
        throw new InvalidRequest(`max_exchange_period must be a whole number of hours between 1 and ${MAX_EXCHANGE_PERIOD_HOURS}`);
      }
      options.maxExchangePeriodHours = hours;
    }
    options.format = TOKEN_FORMAT.parse(params, client);
    // app_tid is reserved (SPEC §3.7): accepted and ignored.
    return options;
  },
};
