/**
 * The console page's pure logic: port map rows, expiry warnings, handshake
 * advice, settings form ↔ merge patch. No DOM here, so it is unit-tested.
 */

export interface PortRange {
  from: number;
  to: number;
}

export interface ListenerView {
  id: string;
  protocol: 'http' | 'ftp-control' | 'ftp-data';
  tlsMode?: string;
  ports: PortRange;
  upstream: { host: string; port?: number; ports?: PortRange } & Record<string, unknown>;
}

export interface PortMapView {
  version: number;
  tunnelEnabled?: boolean;
  listeners: ListenerView[];
}

export function rangeText(range: PortRange | null | undefined): string {
  if (!range) return '—';
  return range.from === range.to ? String(range.from) : `${range.from}–${range.to}`;
}

const protocolNames: Record<string, string> = { http: 'Web (HTTPS)', 'ftp-control': 'FTP control (FTPS)', 'ftp-data': 'Passive data (TLS)' };

export interface MappingRow {
  what: string;
  plain: string;
  secure: string;
  tls: string;
}

/** "80 → 443"-style rows of a port map, in a fixed order (web, control, data). */
export function mappingRows(portMap: PortMapView | null | undefined): MappingRow[] {
  if (!portMap) return [];
  const order = ['http', 'ftp-control', 'ftp-data'];
  return [...portMap.listeners]
    .sort((a, b) => order.indexOf(a.protocol) - order.indexOf(b.protocol) || a.ports.from - b.ports.from)
    .map((listener) => {
      const upstream = listener.upstream;
      const plainRange = (upstream.ports as PortRange | undefined) ?? (typeof upstream.port === 'number' ? { from: upstream.port, to: upstream.port } : undefined);
      return {
        what: protocolNames[listener.protocol] ?? listener.protocol,
        plain: rangeText(plainRange),
        secure: rangeText(listener.ports),
        tls: listener.tlsMode ?? 'implicit',
      };
    });
}

/** Days left in words, with the level of concern (the word carries it, not only a colour). */
export function expiryWords(daysLeft: number | null | undefined, state?: string): { level: 'ok' | 'warn' | 'bad'; text: string } {
  if (daysLeft === null || daysLeft === undefined) return { level: 'warn', text: 'unknown' };
  if (state === 'expired' || daysLeft < 0) return { level: 'bad', text: `Expired ${Math.abs(Math.floor(daysLeft))} days ago — clients refuse it; replace it now` };
  if (state === 'not-yet-valid') return { level: 'bad', text: 'Not valid yet — check the clock of this server' };
  const days = Math.floor(daysLeft);
  if (days <= 7) return { level: 'bad', text: `Expires in ${days} day${days === 1 ? '' : 's'} — replace it now` };
  if (days <= 30) return { level: 'warn', text: `Expires in ${days} days — plan its replacement` };
  return { level: 'ok', text: `Valid for ${days} more days` };
}

/** What an operator can do about a failed handshake, from the gateway's reason. */
export function handshakeAdvice(reason: string): string {
  const table: Array<[RegExp, string]> = [
    [/plain text/, 'The client did not start TLS. In FileZilla choose "Require implicit FTP over TLS"; in a browser use https://; curl needs ftps:// (implicit), not ftp://.'],
    [/rejected our certificate/, 'The client does not trust the certificate or the name it connected to is not in it. Give clients the certificate (self-signed) or load one from an authority, and connect with a name listed in the certificate.'],
    [/TLS versions/, 'The client is too old for the minimum TLS version in Ports & Settings. Update the client, or lower the minimum to TLS 1.2.'],
    [/cipher suite/, 'The client offers only old cipher suites (no forward secrecy). Update the client.'],
    [/closed the connection during the handshake/, 'The client gave up during the handshake: often a port scanner or a health check; if a real client, it usually refused the certificate.'],
    [/in time/, 'The client connected but never finished the handshake: a slow network, or a client that expects plain FTP.'],
  ];
  for (const [pattern, advice] of table) if (pattern.test(reason)) return advice;
  return 'See the reason; the client\'s own log usually names the same problem from its side.';
}

/** The settings fields the form edits, flat. */
export interface SettingsForm {
  upstreamHost: string;
  webEnabled: boolean;
  webPort: string;
  ftpEnabled: boolean;
  ftpPort: string;
  passiveFrom: string;
  passiveTo: string;
  publicAddress: string;
  bindHost: string;
  httpsPort: string;
  ftpsPort: string;
  /** Empty: no explicit FTPS port. */
  explicitFtpsPort: string;
  passiveMode: 'offset' | 'pool';
  passiveOffset: string;
  poolFrom: string;
  poolTo: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  allowClearData: boolean;
  requireSessionReuse: boolean;
}

export interface SettingsDocument {
  upstream: { host: string; web: { enabled: boolean; port: number }; ftp: { enabled: boolean; port: number; passiveRange: PortRange } };
  public: { address: string | null; bindHost: string; httpsPort: number; ftpsPort: number; explicitFtpsPort: number | null; passiveOffset: number; passiveRange: PortRange | null };
  tls: { minVersion: 'TLSv1.2' | 'TLSv1.3'; allowClearData: boolean; requireSessionReuse: boolean };
  tunnelEnabled: boolean;
}

export function formFromSettings(settings: SettingsDocument): SettingsForm {
  return {
    upstreamHost: settings.upstream.host,
    webEnabled: settings.upstream.web.enabled,
    webPort: String(settings.upstream.web.port),
    ftpEnabled: settings.upstream.ftp.enabled,
    ftpPort: String(settings.upstream.ftp.port),
    passiveFrom: String(settings.upstream.ftp.passiveRange.from),
    passiveTo: String(settings.upstream.ftp.passiveRange.to),
    publicAddress: settings.public.address ?? '',
    bindHost: settings.public.bindHost,
    httpsPort: String(settings.public.httpsPort),
    ftpsPort: String(settings.public.ftpsPort),
    explicitFtpsPort: settings.public.explicitFtpsPort === null ? '' : String(settings.public.explicitFtpsPort),
    passiveMode: settings.public.passiveRange ? 'pool' : 'offset',
    passiveOffset: String(settings.public.passiveOffset),
    poolFrom: settings.public.passiveRange ? String(settings.public.passiveRange.from) : '',
    poolTo: settings.public.passiveRange ? String(settings.public.passiveRange.to) : '',
    tlsMinVersion: settings.tls.minVersion,
    allowClearData: settings.tls.allowClearData,
    requireSessionReuse: settings.tls.requireSessionReuse,
  };
}

/** Which form field shows the message for a settings field config-service named. */
export const formFieldOf: Record<string, keyof SettingsForm> = {
  'upstream.host': 'upstreamHost',
  'upstream.web.port': 'webPort',
  'upstream.web.enabled': 'webEnabled',
  'upstream.ftp.port': 'ftpPort',
  'upstream.ftp.enabled': 'ftpEnabled',
  'upstream.ftp.passiveRange': 'passiveFrom',
  'upstream.ftp.passiveRange.from': 'passiveFrom',
  'upstream.ftp.passiveRange.to': 'passiveTo',
  'public.address': 'publicAddress',
  'public.bindHost': 'bindHost',
  'public.httpsPort': 'httpsPort',
  'public.ftpsPort': 'ftpsPort',
  'public.explicitFtpsPort': 'explicitFtpsPort',
  'public.passiveOffset': 'passiveOffset',
  'public.passiveRange': 'poolFrom',
  'public.passiveRange.from': 'poolFrom',
  'public.passiveRange.to': 'poolTo',
  'tls.minVersion': 'tlsMinVersion',
};

/** The form field for a dotted settings field (or its nearest parent), else undefined (shown above the form). */
export function fieldFor(settingsField: string): keyof SettingsForm | undefined {
  for (let field = settingsField; field; field = field.slice(0, Math.max(0, field.lastIndexOf('.')))) {
    const found = formFieldOf[field];
    if (found) return found;
    if (!field.includes('.')) break;
  }
  return undefined;
}

/** Settings fields a config-service message names besides its own ("collides with public.httpsPort (…)"). */
export function relatedFields(message: string): string[] {
  return [...message.matchAll(/(?:collides with|overlaps) ((?:upstream|public|tls)\.[A-Za-z.]+[A-Za-z])/g)].map((match) => match[1]!);
}

/**
 * The form as a JSON merge patch, plus the problems that can be seen before
 * asking config-service (a port that is not a number). Every field is sent:
 * config-service reports only what differs.
 */
export function patchFromForm(form: SettingsForm): { patch: Record<string, unknown>; errors: Array<{ field: keyof SettingsForm; message: string }> } {
  const errors: Array<{ field: keyof SettingsForm; message: string }> = [];
  const port = (field: keyof SettingsForm, label: string): number => {
    const text = String(form[field]).trim();
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < 1 || value > 65535) {
      errors.push({ field, message: `${label} must be a port from 1 to 65535` });
      return 0;
    }
    return value;
  };
  const offsetText = form.passiveOffset.trim();
  const offset = Number(offsetText);
  if (form.passiveMode === 'offset' && (offsetText === '' || !Number.isInteger(offset))) errors.push({ field: 'passiveOffset', message: 'the offset must be a whole number, e.g. 1000' });
  const patch = {
    upstream: {
      host: form.upstreamHost.trim(),
      web: { enabled: form.webEnabled, port: port('webPort', 'the web port') },
      ftp: { enabled: form.ftpEnabled, port: port('ftpPort', 'the FTP port'), passiveRange: { from: port('passiveFrom', 'the first passive port'), to: port('passiveTo', 'the last passive port') } },
    },
    public: {
      address: form.publicAddress.trim() === '' ? null : form.publicAddress.trim(),
      bindHost: form.bindHost.trim(),
      httpsPort: port('httpsPort', 'the HTTPS port'),
      ftpsPort: port('ftpsPort', 'the FTPS port'),
      explicitFtpsPort: form.explicitFtpsPort.trim() === '' ? null : port('explicitFtpsPort', 'the explicit FTPS port'),
      ...(form.passiveMode === 'offset'
        ? { passiveOffset: Number.isInteger(offset) ? offset : 0, passiveRange: null }
        : { passiveRange: { from: port('poolFrom', 'the first public passive port'), to: port('poolTo', 'the last public passive port') } }),
    },
    tls: { minVersion: form.tlsMinVersion, allowClearData: form.allowClearData, requireSessionReuse: form.requireSessionReuse },
  };
  return { patch, errors };
}

/** A setting's value as a person reads it. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  if (typeof value === 'object' && 'from' in (value as object) && 'to' in (value as object)) return rangeText(value as PortRange);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** URL query for the log filters, leaving out empty ones. */
export function logQuery(filters: Record<string, string>, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...filters, ...extra })) if (value.trim() !== '') params.set(name, value.trim());
  return params.toString();
}
