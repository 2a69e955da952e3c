import { z } from 'zod';

/** The one topic exchange every service publishes its events to. */
export const eventsExchange = 'st.events';

export const routingKeys = {
  configUpdated: 'config.updated',
  certActivated: 'cert.activated',
} as const;

export const configUpdatedEventSchema = z.object({ version: z.number().int().min(1) });
export type ConfigUpdatedEvent = z.infer<typeof configUpdatedEventSchema>;

/** Announces which certificate is active; never carries key material. */
export const certActivatedEventSchema = z.object({ id: z.string(), fingerprintSha256: z.string() });
export type CertActivatedEvent = z.infer<typeof certActivatedEventSchema>;
