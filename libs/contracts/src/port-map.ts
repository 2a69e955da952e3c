import { z } from 'zod';
import { defaultLoginDefender, loginDefenderSchema } from './login-defender.js';

/** An inclusive range of TCP ports; a single port is a range of one. */
export const portRangeSchema = z
  .object({
    from: z.number().int().min(1).max(65535),
    to: z.number().int().min(1).max(65535),
  })
  .refine((range) => range.from <= range.to, { message: 'range is reversed: "from" must not exceed "to"' });
export type PortRange = z.infer<typeof portRangeSchema>;

export const listenerProtocols = ['http', 'ftp-control', 'ftp-data'] as const;
export type ListenerProtocol = (typeof listenerProtocols)[number];

/** implicit: TLS from the first byte; explicit: plain until AUTH TLS (FTP control only). */
export const tlsModes = ['implicit', 'explicit'] as const;
export type TlsMode = (typeof tlsModes)[number];

/**
 * The suites every terminator of ours offers: forward secret only (ECDHE for
 * TLS 1.2; every TLS 1.3 suite is), AEAD only. The gateway configures them and
 * the stunnel rendering repeats them, so both ends of a migration agree.
 */
export const tls13CipherSuites = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;
export const tls12ForwardSecretCiphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

export const tlsPolicySchema = z.object({
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']),
  /** PROT C is refused with 534 unless this is set. */
  allowClearData: z.boolean(),
  /** Data connections must resume the control connection's TLS session (vsftpd's require_ssl_reuse). */
  requireSessionReuse: z.boolean(),
});
export type TlsPolicy = z.infer<typeof tlsPolicySchema>;

export const timeoutsSchema = z.object({
  handshakeMs: z.number().int().min(100).max(600_000),
  controlIdleMs: z.number().int().min(1000).max(86_400_000),
  dataIdleMs: z.number().int().min(1000).max(86_400_000),
  /** How long a passive lease waits for the client's data connection. */
  passiveLeaseMs: z.number().int().min(1000).max(3_600_000),
  /** How long a closed listener's open connections may continue. */
  drainMs: z.number().int().min(0).max(86_400_000),
  /**
   * How long an idle upstream web connection is kept for the next HTTPS client
   * (0: every client connection opens its own). Keep it below the web server's
   * own keep-alive timeout. Settings stored before it existed read as the
   * default (see withSettingsAddedLater).
   */
  upstreamKeepAliveMs: z.number().int().min(0).max(600_000),
});
export type Timeouts = z.infer<typeof timeoutsSchema>;

export const limitsSchema = z.object({
  maxCommandLength: z.number().int().min(64).max(65_536),
  /**
   * Open connections from one client address, on all ports of one gateway
   * process together (an FTP session is a control connection plus one data
   * connection at a time; browsers open about six). Beyond it a connection is
   * closed before any TLS work. It also bounds the passive ports one address
   * can hold: a session holds at most one waiting lease.
   */
  maxConnectionsPerClient: z.number().int().min(1).max(1_000_000),
  /**
   * Passive ports waiting for a data connection from one client address, on
   * all replicas together: a PASV/EPSV flood from one address cannot take the
   * whole range. Beyond it PASV/EPSV get 425.
   */
  maxPassiveLeasesPerClient: z.number().int().min(1).max(100_000),
  /** Open connections per kind of listener (HTTPS, FTP control, FTP data) in one gateway process. */
  maxConnectionsPerListener: z.number().int().min(1).max(1_000_000),
  /** Commands one FTP session may send between transfers before it is closed with 421 (a client stuck in a loop, or a prober). */
  maxCommandsWithoutTransfer: z.number().int().min(10).max(10_000_000),
});
export type Limits = z.infer<typeof limitsSchema>;

/** A PROXY protocol header the gateway sends the file server first: none, version 1 (text) or 2 (binary). */
export const upstreamProxyVersions = ['off', 'v1', 'v2'] as const;
export type UpstreamProxyVersion = (typeof upstreamProxyVersions)[number];
const upstreamProxyVersion = z.enum(upstreamProxyVersions, { message: 'must be off, v1 or v2' });

/**
 * The PROXY protocol (HAProxy's, versions 1 and 2). `trustedProxies`: load
 * balancers in front of the gateways whose connections must start with a
 * PROXY header; the client address it names is the one every check, limit,
 * record and X-Forwarded-For uses (empty: off). `toUpstream`: the gateway
 * itself names the client to a file server that understands the header
 * (nginx `listen … proxy_protocol`, ProFTPD's mod_proxy_protocol), per
 * upstream: on every web connection, on every FTP control connection (FTP
 * data connections carry none: servers read it only on the control port).
 */
export const proxyProtocolSchema = z.object({
  trustedProxies: z.array(z.string().min(1).max(64)).max(100),
  toUpstream: z.object({ web: upstreamProxyVersion, ftp: upstreamProxyVersion }),
});
export type ProxyProtocolSettings = z.infer<typeof proxyProtocolSchema>;
export const defaultProxyProtocol: ProxyProtocolSettings = { trustedProxies: [], toUpstream: { web: 'off', ftp: 'off' } };

/**
 * One socket (or one range of sockets) the gateway opens. For ftp-data the
 * public range and the upstream range have the same size in offset mode; in
 * pool mode any public port may carry any upstream data port.
 */
export const listenerSchema = z.object({
  id: z.string().min(1),
  protocol: z.enum(listenerProtocols),
  tlsMode: z.enum(tlsModes),
  bindHost: z.string().min(1),
  ports: portRangeSchema,
  upstream: z.object({ host: z.string().min(1), ports: portRangeSchema }),
});
export type Listener = z.infer<typeof listenerSchema>;

export const passiveMappingSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('offset'), offset: z.number().int() }),
  z.object({ mode: z.literal('pool') }),
]);
export type PassiveMapping = z.infer<typeof passiveMappingSchema>;

/** Every listener the gateway must open, derived by config-service from the server settings. */
export const portMapSchema = z.object({
  version: z.number().int().min(1),
  generatedAt: z.string(),
  tunnelEnabled: z.boolean(),
  /** Address announced in 227/229 replies; null means "the address the client connected to". */
  publicAddress: z.string().nullable(),
  passive: passiveMappingSchema,
  tls: tlsPolicySchema,
  // A port map from a config-service older than the setting (a gateway upgraded first, or its disk cache) has none.
  timeouts: timeoutsSchema.extend({ upstreamKeepAliveMs: timeoutsSchema.shape.upstreamKeepAliveMs.default(2000) }),
  // Limits added later are absent from older port maps: their defaults then apply.
  limits: limitsSchema.extend({
    maxConnectionsPerClient: limitsSchema.shape.maxConnectionsPerClient.default(200),
    maxConnectionsPerListener: limitsSchema.shape.maxConnectionsPerListener.default(10_000),
    maxPassiveLeasesPerClient: limitsSchema.shape.maxPassiveLeasesPerClient.default(16),
    maxCommandsWithoutTransfer: limitsSchema.shape.maxCommandsWithoutTransfer.default(5_000),
  }),
  // Absent from port maps older than the login defender: the defaults then apply.
  loginDefender: loginDefenderSchema.default(defaultLoginDefender),
  // Port maps of a config-service from before `toUpstream` (a gateway upgraded first, or its disk cache): off.
  proxyProtocol: proxyProtocolSchema.extend({ toUpstream: proxyProtocolSchema.shape.toUpstream.default(defaultProxyProtocol.toUpstream) }).default(defaultProxyProtocol),
  listeners: z.array(listenerSchema),
});
export type PortMap = z.infer<typeof portMapSchema>;

export function rangeSize(range: PortRange): number {
  return range.to - range.from + 1;
}

export function rangeContains(range: PortRange, port: number): boolean {
  return port >= range.from && port <= range.to;
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.from <= b.to && b.from <= a.to;
}

export function formatRange(range: PortRange): string {
  return range.from === range.to ? String(range.from) : `${range.from}-${range.to}`;
}
