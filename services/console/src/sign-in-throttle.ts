/**
 * Slows repeated failed sign-ins per client address: the first few failures
 * cost nothing (typos), then each further attempt must wait twice as long as
 * the one before, up to a cap. A success clears the address; failures older
 * than the window are forgotten. Pure: time is passed in.
 */
export interface ThrottleRules {
  /** Failures allowed before any wait. */
  freeFailures: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /** Failures are forgotten this long after the last one. */
  windowMs: number;
}

export const defaultThrottleRules: ThrottleRules = { freeFailures: 3, firstDelayMs: 1000, maxDelayMs: 5 * 60_000, windowMs: 15 * 60_000 };

interface Entry {
  failures: number;
  lastFailureAt: number;
}

/** The wait after `failures` failures (0 while they are free). */
export function delayAfter(failures: number, rules: ThrottleRules): number {
  if (failures < rules.freeFailures) return 0;
  return Math.min(rules.maxDelayMs, rules.firstDelayMs * 2 ** (failures - rules.freeFailures));
}

export class SignInThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly rules: ThrottleRules = defaultThrottleRules) {}

  /** How long this address must still wait before an attempt is even checked (0: go ahead). */
  waitMs(address: string, now: number): number {
    const entry = this.current(address, now);
    if (!entry) return 0;
    return Math.max(0, entry.lastFailureAt + delayAfter(entry.failures, this.rules) - now);
  }

  failed(address: string, now: number): void {
    const entry = this.current(address, now) ?? { failures: 0, lastFailureAt: now };
    entry.failures += 1;
    entry.lastFailureAt = now;
    this.entries.set(address, entry);
    // Bounded memory under a spray of addresses: forget the expired ones.
    if (this.entries.size > 10_000) for (const key of [...this.entries.keys()]) this.current(key, now);
  }

  succeeded(address: string): void {
    this.entries.delete(address);
  }

  private current(address: string, now: number): Entry | undefined {
    const entry = this.entries.get(address);
    if (entry && now - entry.lastFailureAt > this.rules.windowMs) {
      this.entries.delete(address);
      return undefined;
    }
    return entry;
  }
}
