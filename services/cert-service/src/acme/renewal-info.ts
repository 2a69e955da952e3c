/**
 * ACME Renewal Information (ARI, RFC 9773): the CA says when it wants a
 * certificate renewed — earlier than usual when it is about to revoke it (a
 * mis-issuance, a key compromise), or to spread its load. Pure rules; the
 * issuer fetches and applies them.
 */

/** The shortest and longest wait before asking the CA again (RFC 9773 §4.3: clients pace their checks; Let's Encrypt says every 6 hours). */
export const ariMinCheckMs = 3_600_000;
export const ariMaxCheckMs = 86_400_000;
export const ariDefaultCheckMs = 6 * 3_600_000;

/**
 * RFC 9773 §4.1: the certificate's ARI identifier is the base64url of its
 * Authority Key Identifier's keyIdentifier, a dot, and the base64url of the
 * DER content octets of its serial number. `serialHex` may lack the leading
 * zero octet DER puts before a serial whose first bit is set (libraries show
 * the number, not its encoding): it is put back.
 */
export function ariCertificateId(authorityKeyIdHex: string, serialHex: string): string {
  const keyId = hexOctets(authorityKeyIdHex, 'authority key identifier');
  let serial = hexOctets(serialHex, 'serial number');
  if (serial.length === 0) throw new Error('the certificate has an empty serial number');
  if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${keyId.toString('base64url')}.${serial.toString('base64url')}`;
}

function hexOctets(hex: string, what: string): Buffer {
  const clean = hex.replace(/[:\s]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`the certificate's ${what} is not hexadecimal`);
  return Buffer.from(clean.length % 2 === 1 ? `0${clean}` : clean, 'hex');
}

export interface RenewalWindow {
  start: Date;
  end: Date;
}

export interface RenewalInfo {
  window: RenewalWindow;
  /** A page of the CA's saying why the window is where it is (an incident), when it gives one. */
  explanationUrl: string | null;
  /** When to ask again: the CA's Retry-After, kept within an hour and a day. */
  checkAgainAt: Date;
}

/**
 * The CA's renewalInfo answer (§4.2): `{ suggestedWindow: { start, end },
 * explanationURL? }` and a Retry-After header. An answer that breaks the
 * rules (no window, an end before its start) is an error in plain words.
 */
export function parseRenewalInfo(body: unknown, retryAfter: string | null | undefined, now: Date): RenewalInfo {
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  const start = typeof window?.start === 'string' ? new Date(window.start) : null;
  const end = typeof window?.end === 'string' ? new Date(window.end) : null;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new Error('the CA\'s renewal information has no suggested window with a start and an end');
  if (end.getTime() <= start.getTime()) throw new Error(`the CA's suggested renewal window ends (${end.toISOString()}) before it starts (${start.toISOString()})`);
  const explanation = (body as { explanationURL?: unknown }).explanationURL;
  const wait = retryAfterMs(retryAfter, now) ?? ariDefaultCheckMs;
  return {
    window: { start, end },
    explanationUrl: typeof explanation === 'string' && /^https?:\/\//.test(explanation) ? explanation : null,
    checkAgainAt: new Date(now.getTime() + Math.min(ariMaxCheckMs, Math.max(ariMinCheckMs, wait))),
  };
}

/**
 * When to renew within the CA's window (§4.2): a uniformly random moment of
 * it (`random` in [0, 1)), so that the CA's clients do not all come at once.
 * A moment already past means now. The issuer keeps the moment it chose for
 * as long as the window stays the same.
 */
export function renewalTimeInWindow(window: RenewalWindow, random: number): Date {
  const start = window.start.getTime();
  return new Date(start + Math.floor((window.end.getTime() - start) * Math.min(Math.max(random, 0), 1)));
}

/**
 * A Retry-After header (RFC 9110 §10.2.3) in milliseconds from now: delay
 * seconds or an HTTP date; null when absent or unreadable. A date in the
 * past is 0.
 */
export function retryAfterMs(header: string | null | undefined, now: Date): number | null {
  if (header === null || header === undefined) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/[a-z]/i.test(value)) return null;
  return Math.max(0, at - now.getTime());
}
