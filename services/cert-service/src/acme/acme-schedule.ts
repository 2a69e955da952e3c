/** When certificates are ordered again: pure rules, the issuer applies them. */

export interface ActiveForRenewal {
  notBefore: Date;
  notAfter: Date;
  /** The active certificate was issued by the ACME CA in use for every name wanted (else an order is due at once). */
  fromAcme: boolean;
}

const day = 86_400_000;

/**
 * When the active certificate is to be renewed: `renewDaysBefore` days before
 * it expires, or (null) once a third of its lifetime is left — Let's Encrypt's
 * advice, 30 days of a 90-day certificate, and 2 of a 6-day one.
 */
export function renewalTime(active: ActiveForRenewal, renewDaysBefore: number | null): Date {
  if (!active.fromAcme) return new Date(0);
  const lifetime = active.notAfter.getTime() - active.notBefore.getTime();
  const before = renewDaysBefore !== null ? Math.min(renewDaysBefore * day, lifetime / 2) : lifetime / 3;
  return new Date(active.notAfter.getTime() - before);
}

/**
 * How long after the `attempt`th failure (1, 2, …) to order again, with
 * ±20 % jitter so that many gateways' CAs are not hit at the same moment, and
 * never sooner than the CA's Retry-After. A failure that may pass by itself
 * (`transient`: rate limit, outage, network) doubles from 15 s up to a day.
 * One that needs a change (DNS, firewall) is tried once more after 15 s (a
 * gateway that was still starting is ready by then), then at most every
 * 12 minutes: Let's Encrypt allows 5 failed validations per name an hour.
 */
export function retryDelayMs(attempt: number, random: number, transient: boolean, retryAfterMs: number | null = null): number {
  const doubling = Math.min(15_000 * 2 ** Math.max(0, attempt - 1), day);
  const base = transient || attempt <= 1 ? doubling : Math.max(doubling, 12 * 60_000);
  const jittered = Math.round(base * (0.8 + 0.4 * random));
  // A CA's Retry-After is honoured up to a day: a larger one (or a broken one) must not stop renewals.
  return Math.min(Math.max(jittered, retryAfterMs ?? 0), day);
}

/** A warning once the active certificate is this close to expiry without a renewal (a third of a 90-day lifetime is 30). */
export function expiryWarning(notAfter: Date, now: Date): string | null {
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) return `the active certificate expired on ${notAfter.toISOString()}`;
  if (left <= 14 * day) return `the active certificate expires in ${Math.max(1, Math.floor(left / day))} days (${notAfter.toISOString()}) and has not been renewed`;
  return null;
}

/**
 * When the active ACME certificate is renewed: at `suggested` (the CA's
 * renewal information) when the CA gives one, unless it lies at or past the
 * expiry (a window no CA should suggest: the lifetime rule then); days the
 * operator set (`operatorDays`) may only bring it forward.
 */
export function renewalDue(lifetimeDue: Date, suggested: Date | null, notAfter: Date, operatorDays: boolean): Date {
  if (!suggested || suggested.getTime() >= notAfter.getTime()) return lifetimeDue;
  return operatorDays && lifetimeDue.getTime() < suggested.getTime() ? lifetimeDue : suggested;
}

/**
 * A first order with no ACME certificate yet waits until a gateway has
 * fetched the certificate bundle since cert-service started (it is up, and
 * answers challenges a moment later) and `settleMs` more, or `maxWaitMs`
 * from the start at most: a validation the CA tries before any gateway
 * listens fails and counts against the CA's limit of failed validations.
 * Returns how much longer to wait (0: order now).
 */
export function firstOrderWaitMs(now: number, startedAt: number, bundleFetchedAt: number | null, settleMs: number, maxWaitMs: number): number {
  const latest = startedAt + maxWaitMs;
  if (now >= latest) return 0;
  if (bundleFetchedAt === null || bundleFetchedAt < startedAt) return Math.min(1000, latest - now);
  return Math.max(0, Math.min(bundleFetchedAt + settleMs, latest) - now);
}
