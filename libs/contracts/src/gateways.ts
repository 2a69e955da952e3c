import type { GatewayHealthState } from './bus.js';

/** One gateway replica as config-service last heard of it (GET /gateways). */
export interface GatewayReplicaReport {
  replica: string;
  pid: number;
  status: GatewayHealthState;
  reasons: string[];
  /** The settings (port map) version its listeners follow; null before any. */
  portMapVersion: number | null;
  tunnelEnabled: boolean | null;
  /** The newest version it could not apply, while it still serves `portMapVersion`. */
  failed: { version: number; reason: string; at: string } | null;
  certificate: { id: string; fingerprintSha256: string } | null;
  startedAt: string;
  /** When config-service received the latest report (its own clock, so replicas' clocks do not matter). */
  lastReportAt: string;
  /** No report for several heartbeats. */
  stale: boolean;
}

/** What the replicas that count did with a settings version. */
export interface GatewayVersionOutcome {
  version: number;
  applied: Array<{ replica: string; portMapVersion: number | null; lastReportAt: string }>;
  failed: Array<{ replica: string; reason: string; portMapVersion: number | null; lastReportAt: string }>;
  /** Replicas that have not said yet (or are stale: listed, but not waited for). */
  pending: Array<{ replica: string; portMapVersion: number | null; lastReportAt: string; stale: boolean }>;
}

/** The answer of config-service's GET /gateways. */
export interface GatewaysAnswer {
  settingsVersion: number;
  bus: 'connected' | 'disconnected' | 'not-configured';
  summary: GatewayVersionOutcome;
  replicas: GatewayReplicaReport[];
}
