import type { ExpiryStatus } from '@st/contracts';

/** Days before expiry at which a warning is logged, the last one daily-critical. */
export const expiryWarningDays = [30, 7, 1] as const;
const dayMs = 24 * 60 * 60 * 1000;

/** Whole days left (negative once expired) and the warning threshold crossed, if any. */
export function expiryStatus(validity: { notBefore: string; notAfter: string }, now: Date): ExpiryStatus {
  const left = Date.parse(validity.notAfter) - now.getTime();
  const daysLeft = Math.floor(left / dayMs);
  if (left <= 0) return { daysLeft, state: 'expired', warnAt: null };
  if (now.getTime() < Date.parse(validity.notBefore)) return { daysLeft, state: 'not-yet-valid', warnAt: null };
  let warnAt: number | null = null;
  for (const days of expiryWarningDays) if (daysLeft <= days) warnAt = days;
  return { daysLeft, state: warnAt === null ? 'valid' : 'expiring', warnAt };
}

/**
 * What to log about the active certificate's expiry, given what was logged
 * last: one line per threshold crossed (30, 7, 1 days) and one when it expires,
 * not one per check.
 */
export function expiryNotice(
  id: string,
  status: ExpiryStatus,
  lastKey: string | null,
): { key: string; level: 'warn' | 'error'; message: string } | null {
  if (status.state !== 'expiring' && status.state !== 'expired') return null;
  const key = `${id}:${status.state}:${status.warnAt ?? ''}`;
  if (key === lastKey) return null;
  if (status.state === 'expired') {
    return { key, level: 'error', message: 'the active certificate has expired: clients refuse it; load or generate a new one and activate it' };
  }
  return {
    key,
    level: 'warn',
    message: `the active certificate expires within ${status.warnAt} day${status.warnAt === 1 ? '' : 's'}; renew it (create a CSR or generate a new certificate) and activate the new one`,
  };
}
