import { z } from 'zod';

/**
 * The login defender: the gateway sees the upstream's replies to USER/PASS,
 * counts failed logins per client address in a sliding window (shared by
 * every replica through Redis) and, past the limit, refuses that address for
 * a time that doubles with each ban up to a maximum.
 */
export const loginDefenderSchema = z.object({
  enabled: z.boolean(),
  /** Failed logins from one address within the window that start a ban. */
  maxFailures: z.number().int().min(1).max(1000),
  /** The sliding window failures are counted in. */
  windowMs: z.number().int().min(1000).max(86_400_000),
  /** The first ban; each further ban of the same address (within a day of the last one ending) lasts twice as long. */
  banMs: z.number().int().min(1000).max(2_592_000_000),
  /** The longest a ban can grow to. */
  maxBanMs: z.number().int().min(1000).max(2_592_000_000),
  /** Addresses (1.2.3.4, 2001:db8::1) and ranges (10.0.0.0/8, 2001:db8::/32) never counted nor banned. */
  allowList: z.array(z.string().min(1).max(64)).max(1000),
});
export type LoginDefenderSettings = z.infer<typeof loginDefenderSchema>;

export const defaultLoginDefender: LoginDefenderSettings = {
  enabled: true,
  maxFailures: 5,
  windowMs: 600_000,
  banMs: 600_000,
  maxBanMs: 86_400_000,
  allowList: [],
};

/** One banned client address, as the operator API lists it (never a password). */
export const loginBanSchema = z.object({
  address: z.string(),
  bannedAt: z.string(),
  bannedUntil: z.string(),
  /** Failed logins in the window that started this ban. */
  failures: z.number().int(),
  /** The user names those logins tried (distinct, at most 20, each cut at 64 characters). */
  users: z.array(z.string()),
  /** 1 for the first ban of this address, 2 for the next (twice as long), … */
  offence: z.number().int(),
});
export type LoginBan = z.infer<typeof loginBanSchema>;
