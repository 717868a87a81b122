import { Injectable } from '@nestjs/common';
import { BrowserSessionsService } from '../sessions/browser-sessions.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';

/** Why everything of a user was ended, as the token families record it. */
export type SessionsEndReason = 'admin' | 'user_locked' | 'user_disabled' | 'user_deleted' | 'password_set';

/** What {@link UserSessionsService.endEverything} ended. */
export interface EndedSessions {
  /** Token families (login sessions) ended: their refresh tokens and access tokens, JWT and opaque. */
  families: number;
  /** Authorization codes issued and not yet redeemed, discarded. */
  codes: number;
  /** Browser single sign-on sessions ended; their clients get back-channel logout tokens. */
  browser_sessions: number;
}

/**
 * "End everything this user is signed in with", the one place that does it (SPEC §6, issue 10):
 * admin lock, disable, delete, password set and DELETE /admin/users/{id}/sessions all call
 * {@link endEverything}. Whatever else a user can be signed in with (browser SSO sessions) is
 * ended here too, so that no action forgets one.
 */
@Injectable()
export class UserSessionsService {
  constructor(
    private readonly families: TokenFamiliesService,
    private readonly codes: AuthorizationCodesService,
    private readonly browserSessions: BrowserSessionsService,
  ) {}

  /**
   * Discards the user's outstanding authorization codes, then ends every token family: every
   * refresh token stops working, and every access token (opaque and JWT alike carry their family)
   * reads as inactive at introspection and invalid at UserInfo, on every instance at once, since
   * each check reads the family from the database; and every browser (single sign-on) session, whose
   * clients get back-channel logout tokens. Codes first, so that a code can no longer be
   * redeemed once the families are being ended; a redemption already past its conditional UPDATE
   * may still start its family a moment later (see docs/decisions.md).
   */
  async endEverything(userId: string, reason: SessionsEndReason): Promise<EndedSessions> {
    const codes = await this.codes.discardForUser(userId);
    const families = await this.families.endForUser(userId, reason);
    // The browser sessions too: no new code without the form, and a logout token to each client.
    const browserSessions = await this.browserSessions.endAllForUser(userId, reason);
    return { families, codes, browser_sessions: browserSessions };
  }
}
