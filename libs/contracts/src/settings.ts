import { z } from 'zod';
import { defaultLoginDefender, loginDefenderSchema } from './login-defender.js';
import { defaultProxyProtocol, limitsSchema, portRangeSchema, proxyProtocolSchema, timeoutsSchema, tlsPolicySchema } from './port-map.js';

const port = z.number().int().min(1, 'must be a port from 1 to 65535').max(65535, 'must be a port from 1 to 65535');

/** The file server's settings and the public side, as owned by config-service. */
export const serverSettingsSchema = z.object({
  upstream: z.object({
    host: z.string().min(1, 'must name the file server host'),
    web: z.object({ enabled: z.boolean(), port }),
    ftp: z.object({ enabled: z.boolean(), port, passiveRange: portRangeSchema }),
  }),
  public: z.object({
    /** IPv4 address or host name announced in passive replies; null: the address the client reached. */
    address: z.string().min(1).nullable(),
    bindHost: z.string().min(1),
    httpsPort: port,
    ftpsPort: port,
    /**
     * FTP with AUTH TLS (explicit FTPS, RFC 4217): plain greeting, TLS after AUTH TLS. The classic layout puts it on
     * the FTP port itself (21); null: not offered.
     */
    explicitFtpsPort: port.nullable(),
    passiveOffset: z.number().int(),
    /** When set, public passive ports come from this pool instead of upstream port + offset. */
    passiveRange: portRangeSchema.nullable(),
  }),
  tls: tlsPolicySchema,
  timeouts: timeoutsSchema,
  limits: limitsSchema,
  loginDefender: loginDefenderSchema,
  proxyProtocol: proxyProtocolSchema,
  tunnelEnabled: z.boolean(),
});
export type ServerSettings = z.infer<typeof serverSettingsSchema>;

/** The settings whose value may be null (a JSON merge patch sets them to null instead of removing them). */
export const nullableSettingFields: readonly string[] = ['public.address', 'public.explicitFtpsPort', 'public.passiveRange'];

export const defaultServerSettings: ServerSettings = {
  upstream: {
    host: '127.0.0.1',
    web: { enabled: true, port: 80 },
    ftp: { enabled: true, port: 21, passiveRange: { from: 3000, to: 3008 } },
  },
  public: {
    address: null,
    bindHost: '0.0.0.0',
    httpsPort: 443,
    ftpsPort: 990,
    explicitFtpsPort: null,
    passiveOffset: 1000,
    passiveRange: null,
  },
  tls: { minVersion: 'TLSv1.2', allowClearData: false, requireSessionReuse: false },
  timeouts: { handshakeMs: 10_000, controlIdleMs: 300_000, dataIdleMs: 120_000, passiveLeaseMs: 60_000, drainMs: 600_000, upstreamKeepAliveMs: 2000 },
  limits: { maxCommandLength: 4096, maxConnectionsPerClient: 200, maxConnectionsPerListener: 10_000, maxPassiveLeasesPerClient: 16, maxCommandsWithoutTransfer: 5_000 },
  loginDefender: defaultLoginDefender,
  proxyProtocol: defaultProxyProtocol,
  tunnelEnabled: true,
};

/**
 * Settings as stored by an older config-service, with the fields added since
 * filled in from the defaults, so that they parse; settings from the API get
 * no such help (a missing field is an error there).
 */
export function withSettingsAddedLater(stored: unknown): unknown {
  if (typeof stored !== 'object' || stored === null) return stored;
  let settings = stored as Record<string, unknown>;
  const timeouts = settings.timeouts;
  if (typeof timeouts === 'object' && timeouts !== null && !('upstreamKeepAliveMs' in timeouts)) {
    settings = { ...settings, timeouts: { ...timeouts, upstreamKeepAliveMs: defaultServerSettings.timeouts.upstreamKeepAliveMs } };
  }
  const limits = settings.limits;
  if (typeof limits === 'object' && limits !== null && Object.keys(defaultServerSettings.limits).some((name) => !(name in limits))) {
    settings = { ...settings, limits: { ...defaultServerSettings.limits, ...limits } };
  }
  if (!('loginDefender' in settings)) settings = { ...settings, loginDefender: defaultServerSettings.loginDefender };
  if (!('proxyProtocol' in settings)) settings = { ...settings, proxyProtocol: defaultServerSettings.proxyProtocol };
  const proxyProtocol = settings.proxyProtocol;
  if (typeof proxyProtocol === 'object' && proxyProtocol !== null && !('toUpstream' in proxyProtocol)) {
    settings = { ...settings, proxyProtocol: { ...proxyProtocol, toUpstream: defaultServerSettings.proxyProtocol.toUpstream } };
  }
  const pub = settings.public;
  if (typeof pub === 'object' && pub !== null && !('explicitFtpsPort' in pub)) {
    settings = { ...settings, public: { ...pub, explicitFtpsPort: defaultServerSettings.public.explicitFtpsPort } };
  }
  return settings;
}

/** One field that differs between two settings versions (dotted path; a port range counts as one value). */
export const settingChangeSchema = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() });
export type SettingChange = z.infer<typeof settingChangeSchema>;

/** Where a settings version came from. */
export const settingsSources = ['seed', 'put', 'patch', 'rollback'] as const;
export type SettingsSource = (typeof settingsSources)[number];

/** One stored settings version. Versions only grow: a rollback is a new version with old settings. */
export const settingsVersionSchema = z.object({
  version: z.number().int().min(1),
  createdAt: z.string(),
  source: z.enum(settingsSources),
  comment: z.string().nullable(),
  /** For a rollback: the version whose settings were restored. */
  restoredFrom: z.number().int().min(1).nullable(),
  /** Compared with the previous version (empty for version 1). */
  changes: z.array(settingChangeSchema),
  settings: serverSettingsSchema,
});
export type SettingsVersion = z.infer<typeof settingsVersionSchema>;
export type SettingsVersionSummary = Omit<SettingsVersion, 'settings'>;
