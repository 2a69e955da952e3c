import { z } from 'zod';

/** The one topic exchange every service publishes its events to. */
export const eventsExchange = 'st.events';

export const routingKeys = {
  configUpdated: 'config.updated',
  certActivated: 'cert.activated',
  /** Each gateway replica says what it serves: after every change it applied or refused, and as a heartbeat. */
  gatewayStatus: 'gateway.status',
} as const;

export const configUpdatedEventSchema = z.object({ version: z.number().int().min(1) });
export type ConfigUpdatedEvent = z.infer<typeof configUpdatedEventSchema>;

/** Announces which certificate is active; never carries key material. */
export const certActivatedEventSchema = z.object({
  id: z.string(),
  fingerprintSha256: z.string(),
  /** The certificate active alongside it (the other key kind), if any. */
  alongside: z.object({ id: z.string(), fingerprintSha256: z.string() }).optional(),
});
export type CertActivatedEvent = z.infer<typeof certActivatedEventSchema>;

/**
 * A gateway's health in one word: ready (serving the latest port map),
 * degraded (serving, but a newer map could not be applied), stopped (the
 * tunnel is disabled: no public listener), not-ready (no certificate or map
 * yet, or none could be applied), offline (the replica stopped; its last word).
 */
export const gatewayHealthStates = ['ready', 'degraded', 'stopped', 'not-ready', 'offline'] as const;
export type GatewayHealthState = (typeof gatewayHealthStates)[number];

/**
 * What one gateway replica (one process) serves, as a full snapshot: config-
 * service keeps the latest per replica and tells operators which replicas
 * applied which settings version. Sent after every port map it applied or
 * refused, after every certificate it loaded, and every `heartbeatMs`.
 */
export const gatewayStatusEventSchema = z.object({
  /** The replica's name: REPLICA_ID, else its host name (one per container); config-service keeps one report per name. */
  replica: z.string().min(1),
  pid: z.number().int(),
  startedAt: z.string(),
  /** When the replica sent this report (its clock). */
  sentAt: z.string(),
  /** How often the replica reports when nothing changes; a report older than a few of these is stale. */
  heartbeatMs: z.number().int().positive(),
  status: z.enum(gatewayHealthStates),
  reasons: z.array(z.string()),
  portMap: z.object({
    /** The version the running listeners follow; null before any was applied. */
    applied: z.number().int().nullable(),
    tunnelEnabled: z.boolean().nullable(),
    /** The newest version this replica could not apply, while it still serves `applied`. */
    failed: z.object({ version: z.number().int(), reason: z.string(), at: z.string() }).nullable(),
  }),
  certificate: z.object({ id: z.string(), fingerprintSha256: z.string() }).nullable(),
});
export type GatewayStatusEvent = z.infer<typeof gatewayStatusEventSchema>;
