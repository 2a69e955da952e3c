import { formatRange, rangeSize, tls12ForwardSecretCiphers, tls13CipherSuites, type Listener, type PortMap } from '@st/contracts';

/**
 * Renders the stunnel configuration equivalent to a port map, for operators
 * migrating from stunnel to the gateway or back. Pure: the caller writes the
 * text wherever it goes. Checked against Debian's stunnel4 (5.68).
 */

export interface StunnelRenderOptions {
  /** Leaf and chain PEM, as cert-service exports it (`stunnel.cert`). */
  certFile: string;
  /** The private key PEM, as cert-service exports it (`stunnel.cert.key`). */
  keyFile: string;
  /** `foreground = yes` (for running under a supervisor or in a test); omitted: stunnel's default, a daemon. */
  foreground?: boolean;
  /** `pid = ...`; an empty string writes no pid file; omitted: stunnel's default. */
  pidFile?: string;
  /** `syslog = yes|no`; omitted: stunnel's default (yes). */
  syslog?: boolean;
}

/**
 * Absolute paths, because stunnel resolves relative ones against its working
 * directory, and Debian's stunnel4 service reads its configurations from /etc/stunnel/.
 */
export const defaultStunnelFiles = {
  certFile: '/etc/stunnel/stunnel.cert',
  keyFile: '/etc/stunnel/stunnel.cert.key',
} as const;

export const stunnelWarningCodes = [
  'tunnel-disabled',
  'passive-pool',
  'passive-range-mismatch',
  'explicit-tls',
  'passive-announcement',
  'passive-client-ip',
  'session-reuse',
] as const;
export type StunnelWarningCode = (typeof stunnelWarningCodes)[number];

/** Something the rendered file does differently from the gateway, which the operator must know or act on. */
export interface StunnelWarning {
  code: StunnelWarningCode;
  message: string;
}

export interface StunnelRendering {
  text: string;
  warnings: StunnelWarning[];
}

/** The gateway's suites (one list in contracts), so a migration in either direction keeps the same ones. */
export const stunnelTls12Ciphers: readonly string[] = tls12ForwardSecretCiphers;
export const stunnelTls13Ciphersuites: readonly string[] = tls13CipherSuites;
const curves = 'X25519:P-256:P-384';

/** Marks the configuration lines of a disabled tunnel; distinct from "; " so that comments stay comments when it is removed. */
export const disabledPrefix = ';; ';

/**
 * stunnel splits HOST:PORT at the last colon and does not accept brackets
 * ("[::1]" fails to resolve in 5.68), so an IPv6 literal is written bare: `::1:990`.
 */
export function stunnelAddress(host: string, port: number): string {
  return `${configValue(host, 'host')}:${port}`;
}

/** stunnel's timeouts are whole seconds; rounding up never makes one shorter than the gateway's. */
export function stunnelSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function renderStunnelConfig(portMap: PortMap, options: Partial<StunnelRenderOptions> = {}): StunnelRendering {
  const files = { certFile: options.certFile ?? defaultStunnelFiles.certFile, keyFile: options.keyFile ?? defaultStunnelFiles.keyFile };
  const warnings: StunnelWarning[] = [];
  const warn = (code: StunnelWarningCode, message: string) => warnings.push({ code, message });

  const sections: string[][] = [];
  for (const listener of portMap.listeners) {
    if (listener.tlsMode === 'explicit') {
      // stunnel's protocol= negotiates STARTTLS for SMTP, IMAP, POP3 and others, but not FTP's AUTH TLS.
      warn('explicit-tls', `listener ${listener.id} uses explicit TLS (AUTH TLS), which stunnel cannot negotiate: no section rendered`);
      continue;
    }
    if (listener.protocol === 'http') sections.push(serviceSection('https', 'HTTPS for the web file manager', listener, listener.ports.from, listener.upstream.ports.from, portMap.timeouts.controlIdleMs));
    if (listener.protocol === 'ftp-control') sections.push(serviceSection('ftps', 'implicit FTPS control', listener, listener.ports.from, listener.upstream.ports.from, portMap.timeouts.controlIdleMs));
    if (listener.protocol === 'ftp-data') sections.push(...passiveDataSections(portMap, listener, warn));
  }

  const hasFtp = portMap.listeners.some((l) => l.protocol === 'ftp-control');
  const dataListener = portMap.listeners.find((l) => l.protocol === 'ftp-data');
  if (hasFtp && dataListener && portMap.passive.mode === 'offset') {
    const announced = portMap.publicAddress ?? "this host's public address";
    warn(
      'passive-announcement',
      `stunnel relays FTP replies unchanged: the FTP server must itself announce ${oneLine(announced)} and the public passive ports ${formatRange(dataListener.ports)} in its 227/229 replies`,
    );
  }
  if (hasFtp && dataListener && portMap.passive.mode === 'offset') warn('passive-client-ip', "stunnel accepts a passive data connection from any client IP; the gateway only from the control connection's client");
  if (hasFtp && portMap.tls.requireSessionReuse) {
    warn('session-reuse', "the port map requires data connections to resume the control connection's TLS session; stunnel cannot enforce that");
  }
  if (!portMap.tunnelEnabled) {
    warn('tunnel-disabled', 'the tunnel is disabled: every service section is commented out, so this file opens no port (stunnel refuses to start with none)');
  }

  const lines = [
    ...header(portMap, hasFtp),
    ...warnings.map((warning) => `; WARNING (${warning.code}): ${oneLine(warning.message)}`),
    ...(warnings.length > 0 ? [';'] : []),
    ...processOptions(options),
    '; Service-level options in the global section are defaults for every service below.',
    `cert = ${configValue(files.certFile, 'certFile')}`,
    `key = ${configValue(files.keyFile, 'keyFile')}`,
    `sslVersionMin = ${portMap.tls.minVersion}`,
    `ciphers = ${stunnelTls12Ciphers.join(':')}`,
    `ciphersuites = ${stunnelTls13Ciphersuites.join(':')}`,
    `curves = ${curves}`,
    "; The gateway's handshake timeout; stunnel applies it to each wait within the handshake, not to the whole.",
    `TIMEOUTbusy = ${stunnelSeconds(portMap.timeouts.handshakeMs)}`,
  ];
  if (portMap.listeners.length === 0) lines.push('', '; No listener in this port map (web and FTP both disabled): no service section.');
  if (!portMap.tunnelEnabled && sections.length > 0) {
    lines.push('', `; The tunnel is disabled: the sections below are commented out. Remove the leading "${disabledPrefix}" to enable them.`);
  }
  for (const section of sections) {
    lines.push('', ...(portMap.tunnelEnabled ? section : section.map((line) => (line.startsWith(';') ? line : `${disabledPrefix}${line}`))));
  }
  return { text: `${lines.join('\n')}\n`, warnings };
}

function header(portMap: PortMap, hasFtp: boolean): string[] {
  const lines = [
    `; stunnel configuration equivalent to Secure Transfers port map version ${portMap.version}`,
    `; (port map generated at ${oneLine(portMap.generatedAt)}), rendered by config-service; checked with stunnel 5.68.`,
  ];
  const web = portMap.listeners.some((l) => l.protocol === 'http');
  if (!web) lines.push('; Web is disabled in the settings: no [https] section.');
  if (!hasFtp) lines.push('; FTP is disabled in the settings: no [ftps] or passive data sections.');
  if (hasFtp) {
    lines.push(
      ';',
      '; What the gateway does for FTP that stunnel cannot, because stunnel does not read the FTP protocol:',
      ';  - rewrite 227/229 passive replies to the public address and public passive ports; with stunnel the',
      ';    FTP server must announce those itself (its passive address and port settings, or a NAT option);',
      ';  - answer PBSZ and PROT itself and apply the clear-data policy (PROT C); with stunnel these commands',
      ';    reach the plain FTP server, and passive data is always TLS because only TLS ports are published;',
      ";  - accept a passive data connection only from the control connection's client IP, and check that it",
      ";    resumes the control connection's TLS session when the policy asks for it;",
      ';  - lease passive ports across several gateway replicas.',
    );
  }
  lines.push(';');
  return lines;
}

function processOptions(options: Partial<StunnelRenderOptions>): string[] {
  const lines: string[] = [];
  if (options.foreground !== undefined) lines.push(`foreground = ${options.foreground ? 'yes' : 'no'}`);
  if (options.pidFile !== undefined) lines.push(options.pidFile === '' ? 'pid =' : `pid = ${configValue(options.pidFile, 'pidFile')}`);
  if (options.syslog !== undefined) lines.push(`syslog = ${options.syslog ? 'yes' : 'no'}`);
  return lines;
}

function serviceSection(name: string, purpose: string, listener: Listener, publicPort: number, upstreamPort: number, idleMs: number): string[] {
  return [
    `; ${purpose} (listener ${oneLine(listener.id)})`,
    `[${name}]`,
    `accept = ${stunnelAddress(listener.bindHost, publicPort)}`,
    `connect = ${stunnelAddress(listener.upstream.host, upstreamPort)}`,
    `TIMEOUTidle = ${stunnelSeconds(idleMs)}`,
  ];
}

/** stunnel has no port ranges: one section per public passive port, each relayed to its own upstream port. */
function passiveDataSections(portMap: PortMap, listener: Listener, warn: (code: StunnelWarningCode, message: string) => void): string[][] {
  if (portMap.passive.mode === 'pool') {
    // In pool mode the gateway picks a free public port for whichever upstream port the server announced;
    // a fixed port-to-port relay would send data to the wrong upstream port.
    warn(
      'passive-pool',
      `passive data uses a pool (public ${formatRange(listener.ports)} for upstream ${formatRange(listener.upstream.ports)}), which stunnel cannot express: no passive data section rendered. Set a passive offset instead of a pool and render again.`,
    );
    return [[`; Passive data: NOT RENDERED. Public pool ${formatRange(listener.ports)} may carry any upstream port ${formatRange(listener.upstream.ports)}; stunnel maps fixed ports only.`]];
  }
  if (rangeSize(listener.ports) !== rangeSize(listener.upstream.ports)) {
    warn('passive-range-mismatch', `listener ${listener.id}: public ${formatRange(listener.ports)} and upstream ${formatRange(listener.upstream.ports)} differ in size: no passive data section rendered`);
    return [];
  }
  const sections: string[][] = [];
  for (let index = 0; index < rangeSize(listener.ports); index++) {
    const publicPort = listener.ports.from + index;
    const upstreamPort = listener.upstream.ports.from + index;
    const section = serviceSection(`ftps-data-${publicPort}`, `passive data port ${index + 1} of ${rangeSize(listener.ports)}`, listener, publicPort, upstreamPort, portMap.timeouts.dataIdleMs);
    if (index === 0) {
      section.unshift(`; Passive data: public ${formatRange(listener.ports)} -> upstream ${formatRange(listener.upstream.ports)} (offset ${portMap.passive.offset}), one section per port.`);
    }
    sections.push(section);
  }
  return sections;
}

/** Comments must stay on one line, or the rest would be read as configuration. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\v\f]+/g, ' ');
}

/**
 * A value that would break the line structure or start a comment is refused
 * rather than escaped: stunnel has no quoting, and the port map's validation
 * should never let one through.
 */
function configValue(value: string, what: string): string {
  if (value.trim() !== value || value === '' || /[\u0000-\u001f\u007f;]/.test(value)) {
    throw new Error(`cannot render ${what} ${JSON.stringify(value)} into a stunnel configuration`);
  }
  return value;
}
