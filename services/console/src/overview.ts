import { certApi, configApi, healthApi, type GatewayReplicaReport, type GatewaysAnswer } from '@st/contracts';
import type { Backends } from './backends.js';

export interface ServiceHealth {
  name: string;
  state: 'ready' | 'not-ready' | 'unreachable';
  detail: string;
}

export interface ReplicaView {
  replica: string;
  /** ready, degraded, stopped, not-ready, offline, unreachable */
  state: string;
  reasons: string[];
  settingsVersion: number | null;
  certificateId: string | null;
  fingerprintSha256: string | null;
  openConnections: number | null;
  controlSessions: number | null;
  lastSeen: string | null;
  source: string;
}

async function health(url: string, timeoutMs = 3000): Promise<{ ok: boolean; status: number; body: Record<string, unknown> | null } | { error: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    return { ok: response.ok, status: response.status, body };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** A health answer in one word and a line of detail. Pure. */
export function describeHealth(name: string, answer: Awaited<ReturnType<typeof health>>): ServiceHealth {
  if ('error' in answer) return { name, state: 'unreachable', detail: `cannot be reached (${answer.error})` };
  const reasons = Array.isArray(answer.body?.reasons) ? (answer.body.reasons as unknown[]).map(String) : [];
  if (answer.ok) return { name, state: 'ready', detail: reasons.join('; ') || 'ready' };
  return { name, state: 'not-ready', detail: reasons.join('; ') || `answered ${answer.status}` };
}

interface GatewayHealthBody {
  status?: string;
  ready?: boolean;
  reasons?: string[];
  portMapVersion?: number | null;
  certificate?: { id: string; fingerprintSha256: string } | null;
  listeners?: Array<{ openConnections?: number }>;
  controlSessions?: number;
  replica?: string;
}

/** One replica row from a gateway's health answer. Pure. */
export function replicaFromHealth(url: string, answer: Awaited<ReturnType<typeof health>>): ReplicaView {
  const base = { source: url, lastSeen: null };
  if ('error' in answer || !answer.body) {
    return { ...base, replica: url, state: 'unreachable', reasons: ['error' in answer ? answer.error : 'no answer'], settingsVersion: null, certificateId: null, fingerprintSha256: null, openConnections: null, controlSessions: null };
  }
  const body = answer.body as GatewayHealthBody;
  const open = (body.listeners ?? []).reduce((sum, listener) => sum + (listener.openConnections ?? 0), 0);
  return {
    ...base,
    replica: body.replica ?? url,
    state: body.status ?? (body.ready ? 'ready' : 'not-ready'),
    reasons: body.reasons ?? [],
    settingsVersion: body.portMapVersion ?? null,
    certificateId: body.certificate?.id ?? null,
    fingerprintSha256: body.certificate?.fingerprintSha256 ?? null,
    openConnections: open,
    controlSessions: body.controlSessions ?? null,
    lastSeen: new Date().toISOString(),
  };
}

/** Replicas config-service heard of (their own reports over the bus), merged with those the console asked directly. Pure. */
export function mergeReplicas(probed: ReplicaView[], reported: readonly GatewayReplicaReport[]): ReplicaView[] {
  const rows = [...probed];
  for (const report of reported) {
    const failed = report.failed ? [`could not apply settings version ${report.failed.version}: ${report.failed.reason}`] : [];
    const view: ReplicaView = {
      replica: report.replica,
      state: report.stale ? 'stale' : report.status,
      reasons: [...report.reasons, ...failed, ...(report.stale ? ['no report for a while'] : [])],
      settingsVersion: report.portMapVersion,
      certificateId: report.certificate?.id ?? null,
      fingerprintSha256: report.certificate?.fingerprintSha256 ?? null,
      openConnections: null,
      controlSessions: null,
      lastSeen: report.lastReportAt,
      source: 'config-service',
    };
    const same = rows.findIndex((row) => row.replica === report.replica);
    if (same >= 0) rows[same] = { ...view, openConnections: rows[same]!.openConnections, controlSessions: rows[same]!.controlSessions, source: `${rows[same]!.source}, config-service` };
    else rows.push(view);
  }
  return rows;
}

/** Everything the "Install & Run" tab shows, each part with its own error so one unreachable service does not blank the page. */
export async function collectOverview(backends: Backends, gatewayHealthUrls: readonly string[]) {
  const [settings, ports, certificates, gatewaysReport, ...healthAnswers] = await Promise.all([
    backends.json<{ version: number; settings: { tunnelEnabled: boolean; public: { address: string | null } } }>('config', configApi.settings),
    backends.json<unknown>('config', configApi.portMap),
    backends.json<{ activeId: string | null; active: unknown; certificates: Array<Record<string, unknown>> }>('cert', certApi.certificates),
    backends.json<GatewaysAnswer>('config', configApi.gateways),
    health(`${backends.url('config')}${healthApi.ready}`),
    health(`${backends.url('cert')}${healthApi.ready}`),
    health(`${backends.url('logs')}${healthApi.ready}`),
    ...gatewayHealthUrls.map((url) => health(`${url}${healthApi.ready}`)),
  ]);
  const [configHealth, certHealth, logHealth, ...gatewayHealth] = healthAnswers;
  const services: ServiceHealth[] = [
    describeHealth('config-service', configHealth!),
    describeHealth('cert-service', certHealth!),
    describeHealth('log-service', logHealth!),
    ...gatewayHealth.map((answer, index) => describeHealth(`tunnel-gateway (${gatewayHealthUrls[index]})`, answer)),
  ];
  const probed = gatewayHealth.map((answer, index) => replicaFromHealth(gatewayHealthUrls[index]!, answer));
  // config-service's replica list exists only where it collects gateway reports; without it the probed replicas are all we know.
  const reported = 'body' in gatewaysReport ? gatewaysReport.body.replicas : [];
  const active = 'body' in certificates ? certificates.body.certificates.find((item) => item.id === certificates.body.activeId) ?? null : null;
  return {
    generatedAt: new Date().toISOString(),
    settings: 'body' in settings ? { version: settings.body.version, tunnelEnabled: settings.body.settings.tunnelEnabled, publicAddress: settings.body.settings.public.address } : { error: settings.error },
    portMap: 'body' in ports ? ports.body : { error: ports.error },
    certificate: 'body' in certificates ? { active, summary: certificates.body.active } : { error: certificates.error },
    services,
    replicas: mergeReplicas(probed, Array.isArray(reported) ? reported : []),
  };
}
