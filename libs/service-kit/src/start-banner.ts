/**
 * What scripts/start.sh prints once everything is up: built from what is
 * live (the gateway's own listeners, the settings, the active certificate),
 * never from the start script's environment, so that a port moved or a
 * certificate activated through the API shows up after a restart. Pure.
 */

export interface BannerInput {
  /** The gateway's health: its status and the listeners it really has open. */
  gateway: { status: string; reasons: string[]; portMapVersion: number | null; listeners: Array<{ protocol: string; tlsMode?: string; ports: string }> };
  settings: { version: number; public: { address: string | null; bindHost: string } };
  certificate: { subject: string; issuer: string; chain: string[]; notAfter: string };
  /** Where the start script wrote the active chain, for clients' --cacert. */
  caFile: string;
  /** The demo's login, when the demo file server runs. */
  demo: { user: string; password: string } | null;
  apiPorts: { config: number; cert: number; health: number; logs: number };
  /** The operators' web console, when it runs. */
  console: { url: string } | null;
  apiBindHost: string;
  operatorTokenFile: string;
  adminTokenFile: string;
  outputDir: string;
}

const wildcards = new Set(['0.0.0.0', '::', '']);

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The address clients are told: the public address, else the bind address, else this machine's loopback. */
export function bannerHost(settings: BannerInput['settings']): string {
  if (settings.public.address) return settings.public.address;
  return wildcards.has(settings.public.bindHost) ? '127.0.0.1' : settings.public.bindHost;
}

function firstPort(ports: string): string {
  return ports.split('-')[0] ?? ports;
}

export function isSelfSigned(certificate: BannerInput['certificate']): boolean {
  return certificate.chain.length === 0 && certificate.subject === certificate.issuer;
}

export function buildBanner(input: BannerInput): string {
  const host = urlHost(bannerHost(input.settings));
  const https = input.gateway.listeners.find((listener) => listener.protocol === 'http');
  const ftps = input.gateway.listeners.find((listener) => listener.protocol === 'ftp-control' && listener.tlsMode !== 'explicit');
  const explicitFtps = input.gateway.listeners.find((listener) => listener.protocol === 'ftp-control' && listener.tlsMode === 'explicit');
  const login = input.demo ? `${encodeURIComponent(input.demo.user)}:${encodeURIComponent(input.demo.password)}@` : '';
  const ca = input.caFile;
  const lines: string[] = [''];

  switch (input.gateway.status) {
    case 'ready':
      lines.push('Secure Transfers is ready.');
      break;
    case 'degraded':
      lines.push(`Secure Transfers is running, DEGRADED: ${input.gateway.reasons.join('; ')}`);
      break;
    case 'stopped':
      lines.push(
        `Secure Transfers is running with the tunnel STOPPED (settings version ${input.settings.version}): no public port is open.`,
        `  Start it: curl -H "Authorization: Bearer $(cat ${input.adminTokenFile})" -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"tunnelEnabled":true}' http://127.0.0.1:${input.apiPorts.config}/settings`,
      );
      break;
    default:
      lines.push(`Secure Transfers is running, but the gateway is ${input.gateway.status}: ${input.gateway.reasons.join('; ')}`);
  }
  if (https) lines.push(`  HTTPS:  https://${host}:${firstPort(https.ports)}/`);
  if (ftps) lines.push(`  FTPS:   ftps://${login}${host}:${firstPort(ftps.ports)}/   (implicit TLS; passive data is TLS too)`);
  if (explicitFtps) lines.push(`  FTPS (explicit): ftp://${login}${host}:${firstPort(explicitFtps.ports)}/  (AUTH TLS; curl --ssl-reqd)`);
  lines.push('');

  const certificate = input.certificate;
  if (isSelfSigned(certificate)) {
    lines.push(`The certificate is self-signed (${certificate.subject}, until ${certificate.notAfter}); clients trust it with ${ca}.`);
  } else {
    lines.push(`The certificate (${certificate.subject}, until ${certificate.notAfter}) is issued by ${certificate.issuer}; its chain is in ${ca}.`);
  }
  if (https || ftps || explicitFtps) lines.push('Try:');
  if (https) lines.push(`  curl --cacert ${ca} https://${host}:${firstPort(https.ports)}/`);
  if (ftps) {
    lines.push(`  curl --cacert ${ca} --ssl-reqd ftps://${login}${host}:${firstPort(ftps.ports)}/`);
    lines.push(`  lftp -e 'set ssl:ca-file ${ca}; ls; bye' ftps://${login}${host}:${firstPort(ftps.ports)}`);
  }
  if (explicitFtps) lines.push(`  curl --cacert ${ca} --ssl-reqd ftp://${login}${host}:${firstPort(explicitFtps.ports)}/`);
  lines.push(
    'Logs through the API (operator token):',
    `  curl -H "Authorization: Bearer $(cat ${input.operatorTokenFile})" 'http://127.0.0.1:${input.apiPorts.logs}/logs?service=tunnel-gateway&limit=20'`,
  );
  if (input.console) {
    lines.push(
      `Console: ${input.console.url}`,
      `  sign in with the admin token in ${input.adminTokenFile} (operator, read-only: ${input.operatorTokenFile})`,
    );
  }
  const { config, cert, health, logs } = input.apiPorts;
  if (input.apiBindHost === '127.0.0.1' || input.apiBindHost === '::1' || input.apiBindHost === 'localhost') {
    lines.push(
      `The APIs (settings ${config}, certificates ${cert}, logs ${logs}, gateway health ${health}) listen on ${input.apiBindHost} only;`,
      `  from another machine, through SSH: ssh -N -L ${config}:127.0.0.1:${config} -L ${logs}:127.0.0.1:${logs} you@this-server`,
    );
  } else {
    lines.push(`The APIs (settings ${config}, certificates ${cert}, logs ${logs}, gateway health ${health}) listen on ${input.apiBindHost} (API_BIND_HOST), over plain HTTP.`);
  }
  lines.push(`Admin token: ${input.adminTokenFile}   Process output: ${input.outputDir}`, 'Press Ctrl-C to stop.', '');
  return lines.join('\n');
}
