import type { LoginBan, LoginDefenderSettings } from '@st/contracts';
import type { Logger } from '@st/logging';
import { AddressList, type LoginBanStore } from '@st/login-bans';
import { failure, type Failure } from '../errors.js';

/** A store error is logged at most this often: with Redis gone, every login would say so. */
const storeWarningIntervalMs = 10_000;

/** The 421 a banned client reads: until when, in UTC, and about how long from now. */
export function banRefusal(ban: LoginBan, now: number): Failure<'LOGIN_BANNED'> {
  const untilMs = Date.parse(ban.bannedUntil);
  return failure('LOGIN_BANNED', { until: ban.bannedUntil.replace(/\.\d{3}Z$/, 'Z'), minutes: Math.max(1, Math.ceil((untilMs - now) / 60_000)) });
}

/**
 * The login defender as control sessions meet it: whether an address may log
 * in, and what a failed login does. Bans live in Redis (LoginBanStore), so
 * every replica refuses an address one of them banned. When Redis cannot be
 * reached the defender lets logins through (with a warning): it must not
 * take the file server down with it.
 */
export class LoginGuard {
  private allowList: { entries: readonly string[]; list: AddressList } | null = null;
  private lastStoreWarning = -Infinity;

  constructor(
    private readonly store: LoginBanStore,
    private readonly settings: () => LoginDefenderSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the defender looks at this address at all (on, and not on the allow-list). */
  private guards(address: string): LoginDefenderSettings | null {
    const settings = this.settings();
    if (!settings.enabled) return null;
    if (this.allowList?.entries !== settings.allowList) this.allowList = { entries: settings.allowList, list: new AddressList(settings.allowList) };
    return this.allowList.list.has(address) ? null : settings;
  }

  /** The refusal for a banned address; null when it may go on. */
  async refusal(address: string): Promise<Failure | null> {
    if (!this.guards(address)) return null;
    try {
      const ban = await this.store.banOf(address);
      return ban ? banRefusal(ban, this.now()) : null;
    } catch (error) {
      this.storeUnavailable(error as Error);
      return null;
    }
  }

  /**
   * Counts a failed login; the refusal when this failure banned the address
   * (logged once, with the user names tried) or it was banned already.
   */
  async failed(address: string, user: string | null): Promise<Failure | null> {
    const settings = this.guards(address);
    if (!settings) return null;
    try {
      const outcome = await this.store.recordFailure(address, user, settings);
      if (outcome.kind === 'counted') return null;
      if (outcome.kind === 'banned') {
        const { ban } = outcome;
        this.logger.warn(
          { client: ban.address, users: ban.users, failures: ban.failures, windowMs: settings.windowMs, offence: ban.offence, bannedUntil: ban.bannedUntil, banMs: Date.parse(ban.bannedUntil) - Date.parse(ban.bannedAt) },
          'FTP logins from an address banned after repeated failures',
        );
      }
      return banRefusal(outcome.ban, this.now());
    } catch (error) {
      this.storeUnavailable(error as Error);
      return null;
    }
  }

  private storeUnavailable(error: Error): void {
    const now = this.now();
    if (now - this.lastStoreWarning < storeWarningIntervalMs) return;
    this.lastStoreWarning = now;
    this.logger.warn({ reason: error.message }, 'login defender cannot reach Redis: failed logins are not counted and bans not enforced until it is back');
  }
}
